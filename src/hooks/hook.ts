/**
 * The hook interface: every extension point of the broker, all optional.
 *
 * How several hooks combine (they run in the order they were added):
 * - Gates (`onAuthenticate`, `onAclCheck`) answer `"allow"`, `"deny"` or `undefined` (no opinion).
 *   The first definite answer wins. When every hook abstains, authentication is denied (the library
 *   denies every client unless an auth hook allows it) and an ACL check is allowed.
 * - `onEnhancedAuth`: the first hook that answers (not undefined) handles the step.
 * - `onConnect`: every hook runs; the first to throw refuses the connection (an {@link MqttError} picks the code).
 * - Transforms (`onSubscribe`, `onUnsubscribe`, `onPublish`) are chained: each gets what the previous returned.
 *   `onPublish` returning `null` drops the message silently; throwing an {@link MqttError} refuses it.
 * - Observers (`onConnected`, `onDisconnected`, `onSubscribed`, `onUnsubscribed`, `onPublished`, `onRetained`,
 *   `onWillSent`, `onSessionCreated`, `onSessionExpired`, `onMessageDropped`, `onError`) never block a connection;
 *   an error they throw or reject with is logged and otherwise ignored.
 *
 * A hook that throws or rejects (a fault, not an {@link MqttError}) never stops the broker; the fault is logged as
 * "hook failed" with the event's name, and then: a gate counts as `"deny"`; `onEnhancedAuth` fails the step;
 * `onConnect` refuses with 0x88 (3.1.1: 3, server unavailable); `onSubscribe` refuses every filter of that
 * SUBSCRIBE (0x80); `onUnsubscribe` removes nothing (v5 UNSUBACK 0x80; a 3.1.1 connection is closed);
 * `onPublish` is a transient error: that connection closes without acknowledging [MQTT-4.8.0-2] (a will is
 * dropped); an observer's fault is ignored; `init` makes `listen()` reject, or is logged and reported to
 * `onError` when the hook was added after `listen()`; `stop` is logged and `close()` goes on.
 *
 * Any method may return a promise. A hook that does not define a method costs nothing for that event.
 * @module
 */

import type { Logger } from "../logger.ts";
import type { Message } from "../message.ts";
import type { ConnectPacket, ProtocolVersion, SubscriptionRequest } from "../packets/types.ts";
import type { MqttError } from "../errors.ts";
import type { Clock } from "../clock.ts";

/** A gate's answer; `undefined` means no opinion. */
export type Verdict = "allow" | "deny" | undefined;

/** `read`: subscribe to / receive from a topic. `write`: publish to it. */
export type Access = "read" | "write";

/** What hooks may know about a connected (or connecting) client. */
export interface ClientInfo {
  /** Client identifier (the assigned one when the client sent an empty id). */
  readonly id: string;
  /** User name from CONNECT, if any. */
  readonly username?: string;
  /** Remote address the client connected from, as the listener reports it. */
  readonly remoteAddress: string;
  /** Id of the listener it came through. */
  readonly listener: string;
  /** MQTT protocol level: 3 (3.1), 4 (3.1.1) or 5. */
  readonly protocolVersion: ProtocolVersion;
  /** Common name of a verified TLS client certificate. */
  readonly certificateCommonName?: string;
}

/** Why a client went away. */
export interface DisconnectInfo {
  /** True when the client sent DISCONNECT (no will), false for any other close. */
  readonly graceful: boolean;
  /** What ended it, when it was not graceful. */
  readonly error?: Error;
}

/** Why a message was not delivered to a session. */
export type DropReason = "queue-full" | "qos0-offline" | "expired" | "too-large" | "not-authorized";

/** One step of v5 enhanced authentication (CONNECT, then AUTH packets), or of re-authentication. */
export interface EnhancedAuthStep {
  /** Authentication Method named by the client. */
  readonly method: string;
  /** Authentication Data of this step. */
  readonly data?: Uint8Array;
  /** True when the client re-authenticates on an established connection (AUTH 0x19 and after). */
  readonly reauthenticate: boolean;
  /** 0 for the CONNECT (or the AUTH 0x19 that starts re-authentication), then 1, 2, ... */
  readonly round: number;
}

/** A hook's answer to an {@link EnhancedAuthStep}. */
export type EnhancedAuthResult =
  | { result: "success"; data?: Uint8Array }
  | { result: "continue"; data?: Uint8Array }
  | { result: "fail"; reasonCode?: number; reason?: string };

/** Passed to {@link Hook.init}. */
export interface HookContext {
  /** The broker's logger, for the hook's own lines. */
  readonly logger: Logger;
  /** The broker's clock, for hooks that keep time (expiring credentials). */
  readonly clock?: Clock;
  /** Disconnect a connected client (v5: DISCONNECT with `reasonCode`); false when it is not connected. */
  readonly disconnectClient?: (clientId: string, reasonCode?: number) => boolean;
}

/** An extension of the broker. Implement only the methods you need. */
export interface Hook {
  /** Unique id, used in logs. */
  readonly id: string;
  /** Called when the hook is added to the broker (awaited by `broker.listen()`). */
  init?(context: HookContext): void | Promise<void>;
  /** Called when the broker closes. */
  stop?(): void | Promise<void>;

  /**
   * Gate: may this client connect with these credentials? Throwing (or rejecting with) an {@link MqttError}
   * refuses with its reason code instead of "bad user name or password", e.g. 0x88 Server unavailable when the
   * user store cannot be reached; any other error refuses with 0x88 too.
   */
  onAuthenticate?(client: ClientInfo, packet: ConnectPacket): Verdict | Promise<Verdict>;
  /** Gate: may this client publish to (`write`) or subscribe to / receive from (`read`) this topic or filter? */
  onAclCheck?(client: ClientInfo, topic: string, access: Access): Verdict | Promise<Verdict>;

  /**
   * v5 enhanced authentication. Return undefined when this hook does not handle `step.method`; the first hook
   * that answers handles every step of that exchange. With no hook answering, the client is refused with 0x8C.
   * A success here stands in for `onAuthenticate`.
   */
  onEnhancedAuth?(
    client: ClientInfo,
    step: EnhancedAuthStep,
  ): EnhancedAuthResult | undefined | Promise<EnhancedAuthResult | undefined>;
  /**
   * Before CONNACK, after authentication: throw (an {@link MqttError}) to refuse. An MqttError with code 0x9C or
   * 0x9D and a `serverReference` redirects a v5 client to another server.
   */
  onConnect?(client: ClientInfo, packet: ConnectPacket): void | Promise<void>;
  /** Transform the requested subscriptions (e.g. downgrade QoS); ACL is checked on the result. */
  onSubscribe?(
    client: ClientInfo,
    subscriptions: SubscriptionRequest[],
  ): SubscriptionRequest[] | Promise<SubscriptionRequest[]>;
  /** Transform the filters to remove. */
  onUnsubscribe?(client: ClientInfo, filters: string[]): string[] | Promise<string[]>;
  /**
   * Transform or drop an inbound message after the ACL allowed it. `client` is undefined for
   * messages from the embedding API.
   */
  onPublish?(client: ClientInfo | undefined, message: Message): Message | null | Promise<Message | null>;

  /** The client is connected and its session is established (after CONNACK). */
  onConnected?(client: ClientInfo, info: { sessionPresent: boolean }): void | Promise<void>;
  /** The client's connection is gone. */
  onDisconnected?(client: ClientInfo, info: DisconnectInfo): void | Promise<void>;
  /** Subscriptions were processed; `reasonCodes` as in the SUBACK. */
  onSubscribed?(
    client: ClientInfo,
    subscriptions: SubscriptionRequest[],
    reasonCodes: number[],
  ): void | Promise<void>;
  /** Filters were removed. */
  onUnsubscribed?(client: ClientInfo, filters: string[]): void | Promise<void>;
  /** A message was routed to every matching session (message processed). */
  onPublished?(client: ClientInfo | undefined, message: Message, deliveries: number): void | Promise<void>;
  /** The retained message of a topic was stored, or cleared (then the payload is empty). */
  onRetained?(message: Message): void | Promise<void>;
  /** A will message was published for a client that went away. */
  onWillSent?(clientId: string, message: Message): void | Promise<void>;
  /** A session was created (not resumed). */
  onSessionCreated?(clientId: string): void | Promise<void>;
  /** A session ended: clean session closed, or an offline session expired. */
  onSessionExpired?(clientId: string): void | Promise<void>;
  /** A message for a session was dropped. */
  onMessageDropped?(clientId: string, message: Message, reason: DropReason): void | Promise<void>;
  /** Something went wrong with a client (malformed input, a hook that threw) or in the broker. */
  onError?(client: ClientInfo | undefined, error: Error | MqttError): void | Promise<void>;
}
