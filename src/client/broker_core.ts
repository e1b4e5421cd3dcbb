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
import type { Session, SessionOutlet } from "../session/session.ts";
import type { BrokerStats } from "../sys/stats.ts";
import type { Connection } from "../transport/connection.ts";
import type { Packet, ProtocolVersion } from "../packets/types.ts";
import type { PacketDecoder } from "../packets/decoder.ts";
import type { LimitHits } from "../sys/limit_hits.ts";
import type { AuthThrottle } from "./auth_throttle.ts";

/**
 * The broker as a client connection sees it. Internal: {@link Broker} implements it, but it is not part of
 * the published API, so it is left out of the generated docs.
 * @ignore
 */
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
  establish(
    client: ClientContext,
    clean: boolean,
    expiryInterval: number,
  ): { session: Session; present: boolean };
  /** Route a message to every matching session; returns the number of sessions it went to. */
  route(message: Message, publisher: ClientInfo | undefined): number;
  /** Add or replace a subscription; returns true when it is new. The caller saves the session afterwards. */
  subscribe(session: Session, request: SubscriptionRequest, granted: QoS, identifier?: number): boolean;
  /** Resolves once the cluster routes the new subscriptions here; undefined when nothing is to wait for. */
  clusterSettled(): Promise<void> | undefined;
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
  clientClosed(client: ClientContext, graceful: boolean, error: Error | undefined): void;
  /** With storage: a promise of durability for changes not yet written, which acknowledgements wait for. */
  durability(): Promise<void> | undefined;
  /** With storage: true while too many changes wait to be written; clients pause after their current packet. */
  readonly storageBehind: boolean;
  /** Resolves once storage is no longer behind. */
  storageCaughtUp(): Promise<void>;
  /** Acknowledgements one client may have waiting for storage before it is paused. */
  readonly maxPendingAcks: number;
  /** Publish a client's will (ACL-checked like a publish). */
  publishWill(info: ClientInfo, will: Message): void;
}

/** Where a client is in its life. */
export type ClientState = "new" | "connecting" | "connected" | "closed";

/**
 * A client connection as the packet handlers (src/client/handlers) and the broker see it: the narrow side of
 * `Client`, so that the handlers never import the class that dispatches to them.
 */
export interface ClientContext extends ClientInfo, SessionOutlet {
  readonly broker: BrokerCore;
  readonly connection: Connection;
  /** The listener names the user after the certificate (AcceptInfo.useIdentityAsUsername). */
  readonly useIdentityAsUsername: boolean;
  readonly decoder: PacketDecoder;
  id: string;
  username: string | undefined;
  protocolVersion: ProtocolVersion;
  state: ClientState;
  /** Negotiated keep-alive in seconds, 0 for none. */
  keepAlive: number;
  /** When CONNACK was sent (ms). */
  connectedAt: number;
  /** The session while connected. Cleared on takeover so the old connection no longer touches it. */
  session: Session | undefined;
  /** The will to publish if the connection ends without DISCONNECT [MQTT-3.1.2-8]. */
  will: Message | undefined;
  /** Outbound window: broker maxInflight, lowered to the client's v5 Receive Maximum. */
  sendQuota: number;
  congested: boolean;
  /** v5: the largest packet the client accepts (Maximum Packet Size), 0 for no limit. */
  maxPacketSizeOut: number;
  /** v5: Topic Alias Maximum the client accepts from the broker; 0 sends none [MQTT-3.1.2-27]. */
  topicAliasMaximumOut: number;
  /** v5: Request Problem Information. */
  problemInformation: boolean;
  /** v5: Session Expiry Interval asked for in CONNECT. */
  connectSessionExpiry: number;
  /** v5: the authentication method of CONNECT, when enhanced authentication is used. */
  authenticationMethod: string | undefined;
  /** v5: inbound topic aliases of this connection. */
  aliasesIn: Map<number, string> | undefined;
  sendPacket(packet: Packet): void;
  /** Send `send`'s acknowledgement once storage made what it acknowledges durable. */
  acknowledgeWhenDurable(send: () => void): void;
  close(graceful: boolean, error?: Error): void;
}
