/**
 * Broker options and limits, with their defaults.
 * @module
 */

import type { Clock } from "./clock.ts";
import type { Hook } from "./hooks/hook.ts";
import type { Logger } from "./logger.ts";
import type { Storage } from "./storage/storage.ts";
import type { ClusterBus } from "./cluster/cluster_bus.ts";

/** Every limit the broker enforces. 0 means "no limit" where noted. */
export interface Limits {
  /** Largest packet accepted, in bytes (whole packet); checked from the fixed header before buffering. */
  maxPacketSize: number;
  /** QoS 1/2 messages sent to one client and not yet acknowledged (outbound inflight window). */
  maxInflight: number;
  /** QoS 2 messages from one client awaiting PUBREL (inbound); v5 Receive Maximum. */
  receiveMaximum: number;
  /** Messages queued for one session (offline, or waiting for the inflight window). QoS 0 is dropped first. */
  maxQueuedMessages: number;
  /** Concurrent client connections, 0 for no limit. */
  maxConnections: number;
  /** Subscriptions one session may hold, 0 for no limit. */
  maxSubscriptionsPerClient: number;
  /** Topic name / filter length in bytes. */
  maxTopicLength: number;
  /** Levels in a topic name / filter. */
  maxTopicLevels: number;
  /** Client identifier length in bytes. */
  maxClientIdLength: number;
  /** Largest keep-alive accepted, in seconds (v3 clients above it are refused; v5 clients are told). */
  maxKeepAlive: number;
  /** Seconds a socket may stay open without sending CONNECT. */
  connectTimeout: number;
  /** v5: topic aliases a client may set up toward the broker (0 turns inbound aliases off). */
  topicAliasMaximum: number;
  /** v5: longest Session Expiry Interval granted, in seconds (a client asking for more is told). */
  maxSessionExpiryInterval: number;
  /** Entries one SUBSCRIBE may carry, 0 for no limit; a longer one is refused whole (SUBACK 0x97 / 0x80). */
  maxSubscribeEntries: number;
  /**
   * Milliseconds before the next CONNECT from an address with repeated authentication failures is checked
   * (doubling with each further failure, up to 5 s; those attempts run one at a time). 0 turns it off.
   */
  authFailureDelay: number;
  /** Sessions that outlive their connection (v5 expiry > 0, 3.1.1 clean session 0), 0 for no limit. */
  maxPersistentSessions: number;
  /** Retained messages kept, 0 for no limit; a retained message on a new topic past it is not kept. */
  maxRetainedMessages: number;
  /** Bytes of retained messages kept (topics and payloads), 0 for no limit. */
  maxRetainedBytes: number;
  /** Payload bytes queued for one session, 0 for no limit (with maxQueuedMessages, whichever comes first). */
  maxQueuedBytes: number;
  /** Seconds a 3.1.1 persistent session (clean session 0) outlives its connection; 4294967295 for ever. */
  v3SessionExpiryInterval: number;
}

/** What the broker offers; a v5 CONNACK advertises it and the broker enforces it. */
export interface Capabilities {
  /** Highest QoS accepted from publishers and granted to subscribers. */
  maximumQoS: 0 | 1 | 2;
  /** Whether clients may publish retained messages. */
  retainAvailable: boolean;
  /** Whether subscriptions may use the `+` and `#` wildcards. */
  wildcardSubscriptionAvailable: boolean;
  /** Whether v5 clients may give Subscription Identifiers. */
  subscriptionIdentifiersAvailable: boolean;
  /** Whether `$share/group/filter` subscriptions are accepted. */
  sharedSubscriptionAvailable: boolean;
}

/** The defaults of {@link Capabilities}: everything on. */
export const DEFAULT_CAPABILITIES: Readonly<Capabilities> = Object.freeze({
  maximumQoS: 2,
  retainAvailable: true,
  wildcardSubscriptionAvailable: true,
  subscriptionIdentifiersAvailable: true,
  sharedSubscriptionAvailable: true,
});

/** How a shared subscription group picks the member that gets a message. */
export type SharedSubscriptionStrategy = "round-robin" | "random";

/** The defaults of {@link Limits}. */
export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxPacketSize: 1024 * 1024,
  maxInflight: 64,
  receiveMaximum: 1024,
  maxQueuedMessages: 1000,
  maxConnections: 0,
  maxSubscriptionsPerClient: 10_000,
  maxTopicLength: 65_535,
  maxTopicLevels: 128,
  maxClientIdLength: 65_535,
  maxKeepAlive: 65_535,
  connectTimeout: 10,
  topicAliasMaximum: 64,
  maxSessionExpiryInterval: 0xffff_ffff,
  maxSubscribeEntries: 10_000,
  authFailureDelay: 100,
  maxPersistentSessions: 100_000,
  maxRetainedMessages: 100_000,
  maxRetainedBytes: 256 * 1024 * 1024,
  maxQueuedBytes: 64 * 1024 * 1024,
  v3SessionExpiryInterval: 7 * 24 * 3600,
});

/** Options of `new Broker()`. */
export interface BrokerOptions {
  /** Structured logger; silent when omitted. */
  logger?: Logger;
  /** Time source; the system clock when omitted. */
  clock?: Clock;
  /** Hooks, run in this order. Without an authentication hook every client is refused. */
  hooks?: Hook[];
  /** Limits; missing keys take {@link DEFAULT_LIMITS}. */
  limits?: Partial<Limits>;
  /** Seconds between `$SYS` publications; 0 turns `$SYS` off. Default 10. */
  sysInterval?: number;
  /** Milliseconds between housekeeping sweeps (keep-alive, connect timeout, expiry). Default 1000. */
  sweepInterval?: number;
  /** Version string reported in `$SYS/broker/version`. */
  version?: string;
  /** What the broker offers to v5 clients (and enforces for all); missing keys take {@link DEFAULT_CAPABILITIES}. */
  capabilities?: Partial<Capabilities>;
  /** How a shared subscription group picks a member. Default `round-robin`. */
  sharedSubscriptionStrategy?: SharedSubscriptionStrategy;
  /** v5 Response Information sent in CONNACK to clients that ask for it (none when omitted). */
  responseInformation?: string;
  /** Where sessions, messages, retained messages and wills are persisted; nothing is when omitted. */
  storage?: Storage;
  /**
   * With storage: acknowledge a QoS 1/2 PUBLISH (PUBACK, PUBREC, PUBCOMP) only once what it changed is durable.
   * Default true; false trades the guarantee for latency.
   */
  durableAcks?: boolean;
  /** With storage: longest delay (ms) before a batch of changes is written. Default 5. */
  storageMaxDelay?: number;
  /**
   * With storage: changes waiting to be written above which every client is paused (its socket not read) after
   * its current packet, until half of them are written. Default 10000.
   */
  storageMaxPending?: number;
  /**
   * With storage: acknowledgements one client may have waiting for storage before the broker stops reading that
   * client until they are sent. Default 256.
   */
  storageMaxPendingAcks?: number;
  /**
   * Let a client resume or take over a session that another user name created. Default false: such a CONNECT
   * is refused (3.1.1 0x05, 5.0 0x87).
   */
  allowCrossUserTakeover?: boolean;
  /**
   * The cluster this broker is a node of (for NATS: `await createNatsCluster(...)` from the package root).
   * Without it the broker is alone and nothing cluster-related runs.
   */
  cluster?: ClusterBus;
}

/** Merge limits with defaults, rejecting nonsense with a RangeError that names the key. */
export function resolveLimits(limits: Partial<Limits> = {}): Limits {
  const out: Limits = { ...DEFAULT_LIMITS };
  for (const [key, value] of Object.entries(limits)) {
    if (!(key in DEFAULT_LIMITS)) throw new TypeError(`Cannot use limit "${key}": unknown key`);
    if (value === undefined) continue;
    if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
      throw new RangeError(
        `Cannot use limit "${key}": expected a whole number >= 0, received ${JSON.stringify(value)}`,
      );
    }
    (out as unknown as Record<string, number>)[key] = value;
  }
  if (out.maxPacketSize < 2 || out.maxPacketSize > 268_435_460) {
    throw new RangeError(
      `Cannot use limit "maxPacketSize": expected 2..268435460, received ${out.maxPacketSize}`,
    );
  }
  if (out.maxInflight < 1 || out.maxInflight > 65_535) {
    throw new RangeError(`Cannot use limit "maxInflight": expected 1..65535, received ${out.maxInflight}`);
  }
  if (out.receiveMaximum < 1 || out.receiveMaximum > 65_535) {
    throw new RangeError(
      `Cannot use limit "receiveMaximum": expected 1..65535, received ${out.receiveMaximum}`,
    );
  }
  if (out.topicAliasMaximum > 65_535) {
    throw new RangeError(
      `Cannot use limit "topicAliasMaximum": expected 0..65535, received ${out.topicAliasMaximum}`,
    );
  }
  if (out.maxSessionExpiryInterval > 0xffff_ffff) {
    throw new RangeError(
      `Cannot use limit "maxSessionExpiryInterval": expected 0..4294967295, received ${out.maxSessionExpiryInterval}`,
    );
  }
  if (out.v3SessionExpiryInterval < 1 || out.v3SessionExpiryInterval > 0xffff_ffff) {
    throw new RangeError(
      `Cannot use limit "v3SessionExpiryInterval": expected 1..4294967295, received ${out.v3SessionExpiryInterval}`,
    );
  }
  if (out.maxKeepAlive > 65_535) {
    throw new RangeError(`Cannot use limit "maxKeepAlive": expected 0..65535, received ${out.maxKeepAlive}`);
  }
  return out;
}

/** Merge capabilities with defaults, rejecting unknown keys and bad values. */
export function resolveCapabilities(capabilities: Partial<Capabilities> = {}): Capabilities {
  const out: Capabilities = { ...DEFAULT_CAPABILITIES };
  for (const [key, value] of Object.entries(capabilities)) {
    if (!(key in DEFAULT_CAPABILITIES)) throw new TypeError(`Cannot use capability "${key}": unknown key`);
    if (value === undefined) continue;
    if (key === "maximumQoS") {
      if (value !== 0 && value !== 1 && value !== 2) {
        throw new RangeError(
          `Cannot use capability "maximumQoS": expected 0, 1 or 2, received ${JSON.stringify(value)}`,
        );
      }
    } else if (typeof value !== "boolean") {
      throw new TypeError(
        `Cannot use capability "${key}": expected true or false, received ${JSON.stringify(value)}`,
      );
    }
    (out as unknown as Record<string, unknown>)[key] = value;
  }
  return out;
}
