/**
 * What a client connection needs from the broker: the shared state behind one small interface,
 * so the client's state machine can be read (and tested) without the whole Broker.
 * @module
 */

import type { Clock } from "../clock.ts";
import type { ClientInfo } from "../hooks/hook.ts";
import type { HookChain } from "../hooks/hook_chain.ts";
import type { Logger } from "../logger.ts";
import type { Message } from "../message.ts";
import type { Capabilities, Limits } from "../options.ts";
import type { QoS, SubscriptionRequest } from "../packets/types.ts";
import type { Session } from "../session/session.ts";
import type { BrokerStats } from "../sys/stats.ts";
import type { LimitHits } from "../sys/limit_hits.ts";
import type { AuthThrottle } from "./auth_throttle.ts";
import type { Client } from "./client.ts";

/** The broker as a client connection sees it. */
export interface BrokerCore {
  readonly logger: Logger;
  readonly clock: Clock;
  readonly hooks: HookChain;
  readonly limits: Limits;
  readonly capabilities: Capabilities;
  /** v5 Response Information for clients that ask for it. */
  readonly responseInformation: string | undefined;
  readonly stats: BrokerStats;
  /** Global bounds hit (counted for /metrics and logged). */
  readonly limitHits: LimitHits;
  /** Delays authentication for addresses that failed it repeatedly. */
  readonly authThrottle: AuthThrottle;
  /** Connections that completed CONNECT. */
  connectedCount(): number;
  /** A unique client id for a client that sent an empty one [MQTT-3.1.3-6]. */
  generateClientId(): string;
  /**
   * True when `client.id` names a session or a live connection of another user name, and the broker does not
   * allow taking those over.
   */
  foreignSession(client: ClientInfo): boolean;
  /** False when a CONNECT would create one persistent session more than maxPersistentSessions allows. */
  admitsPersistentSession(client: ClientInfo, clean: boolean, expiryInterval: number): boolean;
  /** Take over any client with the same id and return the session to use. */
  establish(client: Client, clean: boolean, expiryInterval: number): { session: Session; present: boolean };
  /** Route a message to every matching session; returns the number of sessions it went to. */
  route(message: Message, publisher: ClientInfo | undefined): number;
  /** Add or replace a subscription; returns true when it is new. The caller saves the session afterwards. */
  subscribe(session: Session, request: SubscriptionRequest, granted: QoS, identifier?: number): boolean;
  /** Record a session's changed subscriptions in storage (once per SUBSCRIBE, not per entry). */
  saveSession(session: Session): void;
  /** Remove a subscription; returns true when it existed. */
  unsubscribe(session: Session, filter: string): boolean;
  /** Send the retained messages matching `filter` to the session's client [MQTT-3.3.1-6]. */
  sendRetained(
    session: Session,
    info: ClientInfo,
    request: SubscriptionRequest,
    granted: QoS,
    identifier?: number,
  ): void;
  /** The client's connection is gone (called once per client that was accepted). */
  clientClosed(client: Client, graceful: boolean, error: Error | undefined): void;
  /** With storage: a promise of durability for changes not yet written, which acknowledgements wait for. */
  durability(): Promise<void> | undefined;
  /** Publish a client's will (ACL-checked like a publish). */
  publishWill(info: ClientInfo, will: Message): void;
}
