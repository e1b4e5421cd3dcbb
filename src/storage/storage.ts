/**
 * The storage contract: what the broker persists so that a restart loses nothing it acknowledged.
 * Records are plain data; the broker batches operations (write-behind) and calls {@link Storage.apply}.
 * @module
 */

import type { ProtocolVersion, PublishProperties, QoS } from "../packets/types.ts";

/** A message as stored (queued, in flight, retained, or a will). */
export interface StoredMessage {
  topic: string;
  payload: Uint8Array;
  qos: QoS;
  retain: boolean;
  properties?: PublishProperties & { willDelayInterval?: number };
  origin?: string;
  /** Milliseconds since the epoch when the broker took it (message expiry counts from here). */
  receivedAt: number;
}

/** One subscription of a stored session. */
export interface StoredSubscription {
  filter: string;
  qos: QoS;
  noLocal: boolean;
  retainAsPublished: boolean;
  retainHandling: 0 | 1 | 2;
  identifier?: number;
}

/** A persistent session (one whose expiry interval is above 0). */
export interface StoredSession {
  clientId: string;
  /** Seconds; 0xFFFFFFFF never expires. */
  expiryInterval: number;
  /** When its last connection ended (ms); undefined while connected (a crash leaves it so: treat as now). */
  disconnectedAt?: number;
  subscriptions: StoredSubscription[];
  /** The client that last owned the session, for ACL checks of deliveries while it is offline. */
  owner?: StoredClientInfo;
}

/** A client as hooks saw it (ClientInfo), as stored. */
export interface StoredClientInfo {
  id: string;
  username?: string;
  remoteAddress: string;
  listener: string;
  protocolVersion: ProtocolVersion;
  certificateCommonName?: string;
}

/** An outbound QoS 1/2 message sent and not yet acknowledged. */
export interface StoredInflight {
  packetId: number;
  message: StoredMessage;
  qos: 1 | 2;
  retain: boolean;
  state: "publish" | "pubrel";
  subscriptionIds?: number[];
}

/** A message queued for a session, in `seq` order. */
export interface StoredQueued {
  seq: number;
  message: StoredMessage;
  qos: QoS;
  retain: boolean;
  subscriptionIds?: number[];
}

/** A v5 will waiting for its delay. */
export interface StoredWill {
  clientId: string;
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
  inflight: StoredInflight[];
  /** In seq order. */
  queued: StoredQueued[];
  /** Inbound QoS 2 packet ids that got PUBREC and wait for PUBREL. */
  incoming: number[];
}

/** Everything stored, read once at start. */
export interface StoredState {
  sessions: StoredSessionState[];
  retained: StoredMessage[];
  wills: StoredWill[];
  /** Store-and-forward queues of bridges (src/bridge/), present only when one holds a message. */
  bridges?: StoredBridgeQueue[];
}

/** The messages a bridge took and its remote broker has not acknowledged yet, in `seq` order. */
export interface StoredBridgeQueue {
  bridge: string;
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
