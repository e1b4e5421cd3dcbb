/**
 * The storage contract: what the broker persists so that a restart loses nothing it acknowledged.
 * Records are plain data; the broker batches operations (write-behind) and calls {@link Storage.apply}.
 * @module
 */

import type { ProtocolVersion, PublishProperties, QoS } from "../packets/types.ts";

/** A message as stored (queued, in flight, retained, or a will). */
export interface StoredMessage {
  /** Topic name the message was published to. */
  topic: string;
  /** Application payload bytes. */
  payload: Uint8Array;
  /** QoS it was published with (a queued or in-flight entry has its own delivery QoS). */
  qos: QoS;
  /** Retain flag as published. */
  retain: boolean;
  /** MQTT 5 properties; a will's also carry its Will Delay Interval (seconds). */
  properties?: PublishProperties & { willDelayInterval?: number };
  /** Client id of the publisher; absent for messages from the embedding API or `$SYS`. */
  origin?: string;
  /** Milliseconds since the epoch when the broker took it (message expiry counts from here). */
  receivedAt: number;
}

/** One subscription of a stored session. */
export interface StoredSubscription {
  /** Topic filter, shared ones with their full `$share/group/...` form. */
  filter: string;
  /** Granted maximum QoS. */
  qos: QoS;
  /** v5 No Local: do not deliver the client's own publishes back to it. */
  noLocal: boolean;
  /** v5 Retain As Published: keep the retain flag on forwarded messages. */
  retainAsPublished: boolean;
  /** v5 Retain Handling: 0 send retained on subscribe, 1 only for a new subscription, 2 never. */
  retainHandling: 0 | 1 | 2;
  /** v5 Subscription Identifier, when the client gave one. */
  identifier?: number;
}

/** A persistent session (one whose expiry interval is above 0). */
export interface StoredSession {
  /** The client id the session belongs to. */
  clientId: string;
  /** Seconds; 0xFFFFFFFF never expires. */
  expiryInterval: number;
  /** When its last connection ended (ms); undefined while connected (a crash leaves it so: treat as now). */
  disconnectedAt?: number;
  /** The session's subscriptions. */
  subscriptions: StoredSubscription[];
  /** The client that last owned the session, for ACL checks of deliveries while it is offline. */
  owner?: StoredClientInfo;
}

/** A client as hooks saw it (ClientInfo), as stored. */
export interface StoredClientInfo {
  /** Client id. */
  id: string;
  /** User name from CONNECT, if any. */
  username?: string;
  /** Remote address the client connected from. */
  remoteAddress: string;
  /** Id of the listener the client came in on. */
  listener: string;
  /** MQTT protocol level: 3 (3.1), 4 (3.1.1) or 5. */
  protocolVersion: ProtocolVersion;
  /** Common name of the TLS client certificate, when one was presented. */
  certificateCommonName?: string;
}

/** An outbound QoS 1/2 message sent and not yet acknowledged. */
export interface StoredInflight {
  /** Packet identifier the message was sent with. */
  packetId: number;
  /** The message sent. */
  message: StoredMessage;
  /** QoS it was sent with. */
  qos: 1 | 2;
  /** Retain flag it was sent with. */
  retain: boolean;
  /** `publish` while PUBLISH awaits its PUBACK/PUBREC, `pubrel` once PUBREL was sent (QoS 2). */
  state: "publish" | "pubrel";
  /** v5 Subscription Identifiers the copy carries. */
  subscriptionIds?: number[];
}

/** A message queued for a session, in `seq` order. */
export interface StoredQueued {
  /** Position in the session's queue (increasing). */
  seq: number;
  /** The message waiting to be sent. */
  message: StoredMessage;
  /** QoS it will be sent with. */
  qos: QoS;
  /** Retain flag it will be sent with. */
  retain: boolean;
  /** v5 Subscription Identifiers the copy will carry. */
  subscriptionIds?: number[];
}

/** A v5 will waiting for its delay. */
export interface StoredWill {
  /** Client id of the client that left the will. */
  clientId: string;
  /** The will message. */
  will: StoredMessage;
  /** When to publish it (ms). */
  at: number;
  /** The client as hooks saw it (for the ACL check when the will is published). */
  info: StoredClientInfo;
}

/** One change. Within one {@link Storage.apply} call, operations take effect in order. */
export type StorageOp =
  | { type: "session"; session: StoredSession }
  | { type: "sessionDelete"; clientId: string }
  | { type: "inflight"; clientId: string; entry: StoredInflight }
  | { type: "inflightDelete"; clientId: string; packetId: number }
  | { type: "queued"; clientId: string; entry: StoredQueued }
  | { type: "queuedDelete"; clientId: string; seq: number }
  | { type: "incoming"; clientId: string; packetId: number }
  | { type: "incomingDelete"; clientId: string; packetId: number }
  | { type: "retained"; message: StoredMessage }
  | { type: "retainedDelete"; topic: string }
  | { type: "will"; will: StoredWill }
  | { type: "willDelete"; clientId: string }
  | { type: "bridgeQueued"; bridge: string; entry: StoredQueued }
  | { type: "bridgeQueuedDelete"; bridge: string; seq: number };

/** A stored session with everything that hangs off it. */
export interface StoredSessionState extends StoredSession {
  /** Outbound QoS 1/2 messages not yet acknowledged. */
  inflight: StoredInflight[];
  /** In seq order. */
  queued: StoredQueued[];
  /** Inbound QoS 2 packet ids that got PUBREC and wait for PUBREL. */
  incoming: number[];
}

/** Everything stored, read once at start. */
export interface StoredState {
  /** Persistent sessions with their in-flight and queued messages. */
  sessions: StoredSessionState[];
  /** Retained messages, one per topic. */
  retained: StoredMessage[];
  /** v5 wills waiting for their delay. */
  wills: StoredWill[];
  /** Store-and-forward queues of bridges (src/bridge/), present only when one holds a message. */
  bridges?: StoredBridgeQueue[];
}

/** The messages a bridge took and its remote broker has not acknowledged yet, in `seq` order. */
export interface StoredBridgeQueue {
  /** Name of the bridge (`bridges[].name`). */
  bridge: string;
  /** Messages waiting for the remote broker, in `seq` order. */
  queued: StoredQueued[];
}

/** A storage backend. Every backend passes the one suite in test/storage/. */
export interface Storage {
  /** A short name for logs, e.g. `memory` or `denokv`. */
  readonly name: string;
  /**
   * Apply operations in order; when the promise resolves they are durable. A `sessionDelete` removes the session
   * and its inflight, queued and incoming records (not its will). Rejects on a write failure.
   */
  apply(ops: readonly StorageOp[]): Promise<void>;
  /** Read everything. Rejects with a clear error on unreadable or corrupt data (never returns silently empty). */
  load(): Promise<StoredState>;
  /** Release the backend (flushes nothing: the broker flushes first). */
  close(): Promise<void>;
}
