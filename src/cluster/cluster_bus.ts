/**
 * The seam between one broker and the other nodes of a cluster. `Broker.route` delivers locally and then hands
 * the message to the bus; the bus sends it (encoded once) to the nodes that have interest and feeds what
 * they send back into {@link ClusterNode}. Retained messages, session ownership and wills go through the same
 * object, so a backend (NATS, or an in-machine bus between workers) implements one interface.
 *
 * Without a bus the broker keeps one `undefined` check per routed message and nothing else.
 * @module
 */

import type { ClientInfo } from "../hooks/hook.ts";
import type { Message } from "../message.ts";
import type { Storage, StoredSubscription } from "../storage/storage.ts";

/** A persistent session handed from the node that owned it to the node its client now connects to. */
export interface HandedSession {
  /** Seconds the session outlives its connection. */
  readonly expiryInterval: number;
  /** Its subscriptions, with their options. */
  readonly subscriptions: readonly StoredSubscription[];
  /** Outbound QoS 1/2 messages sent and not acknowledged, with their packet ids, in send order. */
  readonly inflight: readonly HandedDelivery[];
  /** Messages queued while the client was away, oldest first. */
  readonly queued: readonly HandedDelivery[];
}

/** One queued or inflight message of a handed session. */
export interface HandedDelivery {
  /** The message. */
  readonly message: Message;
  /** QoS it is delivered with. */
  readonly qos: 0 | 1 | 2;
  /** Retain flag on delivery. */
  readonly retain: boolean;
  /** Identifiers of the subscriptions it matched (v5). */
  readonly subscriptionIds?: number[];
  /** Its packet id, for one in flight. */
  readonly packetId?: number;
  /** Where an inflight QoS 2 message stands: PUBLISH sent, or PUBREL sent. */
  readonly state?: "publish" | "pubrel";
}

/** What the bus may ask of the local broker. Broker implements it. */
export interface ClusterNode {
  /** Deliver a message that another node published, to local subscribers only (never sent back out). */
  routeRemote(message: Message): void;
  /** Deliver a message to one local member of the shared subscription `$share/{group}/{filter}`. */
  routeShared(group: string, filter: string, message: Message): void;
  /** A retained message set (or cleared, with an empty payload) on another node. */
  retainedRemote(message: Message): void;
  /**
   * Another node takes over the client id: close its connection here (v5 DISCONNECT 0x8E) and give up the
   * session, returning its state (undefined when there was none).
   */
  handOver(clientId: string): HandedSession | undefined;
  /** Publish the will of a client of a node that died (ACL-checked like any will). */
  publishWill(info: ClientInfo, will: Message): void;
  /** Clients connected to this node (other nodes sum them into cluster totals). */
  connectedCount(): number;
  /**
   * What the last routing made this node store waits on (undefined when nothing): a node that keeps a message
   * for a persistent session confirms it to the publisher's node once stored.
   */
  durability?(): Promise<void> | undefined;
  /**
   * This node has been cut off from the cluster long enough to be taken for dead: disconnect every client (v5
   * DISCONNECT 0x9C, Use another server) without publishing its will here. Returns how many were connected.
   */
  fence?(): number;
  /** This node's connected clients that match `query`, for a cluster-wide client list. */
  clientRows?(query: ClusterClientQuery): ClusterClientPage;
}

/** Which clients a cluster-wide list asks each node for. */
export interface ClusterClientQuery {
  /** Matches the client id or user name (case-insensitive, contains). */
  readonly q?: string;
  /** Matches the client id (contains). */
  readonly clientId?: string;
  /** Matches the user name (contains). */
  readonly username?: string;
  /** At most this many rows, the first by client id. */
  readonly max: number;
}

/** A connected client as another node reports it. */
export interface ClusterClientRow {
  /** Client id. */
  readonly clientId: string;
  /** User name from CONNECT, null without one. */
  readonly username: string | null;
  /** Remote `host:port`. */
  readonly address: string;
  /** Id of the listener it came through. */
  readonly listener: string;
  /** 3 (MQTT 3.1), 4 (3.1.1) or 5. */
  readonly protocolVersion: number;
  /** Negotiated keep-alive in seconds, 0 for none. */
  readonly keepAlive: number;
  /** When CONNACK was sent, ISO 8601. */
  readonly connectedAt: string;
  /** Subscriptions of its session. */
  readonly subscriptions: number;
  /** QoS 1/2 messages sent to it and not acknowledged. */
  readonly inflight: number;
  /** Messages waiting to be sent to it. */
  readonly queued: number;
}

/** One node's answer: how many clients match, and the first `max` of them by client id. */
export interface ClusterClientPage {
  /** Clients of the node that match the query. */
  readonly total: number;
  /** The first of them by client id, at most the query's `max`. */
  readonly items: readonly ClusterClientRow[];
}

/** Every other node's answer, and the live nodes that did not answer in time. */
export interface ClusterClients {
  /** Each answering node's page, with the node's name. */
  readonly nodes: ReadonlyArray<ClusterClientPage & { readonly node: string }>;
  /** Live nodes that did not answer in time. */
  readonly unreachable: readonly string[];
}

/** One node as this node last heard of it. */
export interface ClusterMember {
  /** The node's name. */
  readonly node: string;
  /** Node name and a random part, new at every start. */
  readonly boot: string;
  /** Clients connected to it at its last beat. */
  readonly clients: number;
  /** Milliseconds since its last beat (0 for this node). */
  readonly lastSeenMs: number;
  /** True for the node that answers. */
  readonly self: boolean;
}

/** What a node knows of its cluster, for $SYS, the HTTP API and /metrics. */
export interface ClusterStatus {
  /** This node's name. */
  readonly node: string;
  /** This node's name and a random part, new at every start. */
  readonly boot: string;
  /** True while the connection to the cluster's transport (NATS) is up. */
  readonly connected: boolean;
  /** The server this node is connected through, e.g. `127.0.0.1:4222`. */
  readonly server?: string;
  /** Last measured round trip to NATS, in milliseconds. */
  readonly rttMs?: number;
  /** Messages sent to other nodes, and received from them. */
  readonly forwarded: number;
  /** Messages received from other nodes. */
  readonly received: number;
  /** Messages other nodes did not get because the transport was down (QoS 0, or over the held bound). */
  readonly lost: number;
  /** Every live node, this one included. */
  readonly members: readonly ClusterMember[];
}

/** A session record as the cluster keeps it, so that any node can resume it. */
export interface ClusterSessionRecord {
  /** The session's client id. */
  readonly clientId: string;
  /** Seconds the session outlives its connection. */
  readonly expiryInterval: number;
  /** When its client went away (ms since the epoch); undefined while connected. */
  readonly disconnectedAt?: number;
  /** Its subscriptions, with their options. */
  readonly subscriptions: readonly StoredSubscription[];
}

/** The cluster as the broker sees it. */
export interface ClusterBus {
  /** This node's name (unique in the cluster). */
  readonly node: string;
  /** Connect to the other nodes; the broker calls it from `listen()`, before any client is accepted. */
  start(node: ClusterNode): Promise<void>;
  /**
   * A message routed here: send it to the other nodes that want it (the bus skips `$SYS`). May return a promise
   * that resolves once the nodes that keep it for persistent sessions have stored it (the publisher's
   * acknowledgement waits for it).
   */
  forward(message: Message): void | Promise<void>;
  /** Local interest in a topic filter appeared (+1) or went (-1); the bus counts references. */
  interest(filter: string, delta: 1 | -1): void;
  /**
   * Resolves once the other nodes know of every interest added so far (undefined: nothing to wait for). The broker
   * sends SUBACK after it, so that a message published on another node after the client has its SUBACK is not
   * missed for want of the route.
   */
  settled?(): Promise<void> | undefined;
  /**
   * The broker has rebuilt the session that {@link acquire} handed it and routes to it from now on; a bus that
   * caught messages for the moving session adds them to the handed queue until this call.
   */
  adopted?(clientId: string): void;
  /** A local member joined (+1) or left (-1) the shared subscription `$share/{group}/{filter}`. */
  sharedInterest(group: string, filter: string, delta: 1 | -1): void;
  /** A retained message was set, or cleared when its payload is empty. */
  retain(message: Message): void;
  /**
   * Before CONNACK: make this node the owner of `clientId`, taking the session (and the connection) over from
   * the node that has it. Resolves with the session's state when it comes from another node.
   */
  acquire(clientId: string, clean: boolean): Promise<HandedSession | undefined>;
  /** The session's record changed (subscriptions, expiry); undefined when the session ended. */
  sessionChanged(clientId: string, record: ClusterSessionRecord | undefined): void;
  /** The client's will, kept by the cluster so that a survivor publishes it if this node dies; undefined clears. */
  will(info: ClientInfo, will: Message | undefined): void;
  /** What this node knows of the cluster now. */
  status?(): ClusterStatus;
  /** The clients of every other live node that match `query` (each node answers for itself). */
  clients?(query: ClusterClientQuery): Promise<ClusterClients>;
  /**
   * Where persistent sessions' queues and inflight messages are kept so that another node can take them over
   * when this one dies. The broker writes to it as to its storage (a QoS 1/2 acknowledgement waits for it);
   * a broker given both this and its own `storage` refuses to start.
   */
  readonly sessionStore?: Storage;
  /** Leave the cluster (graceful: wills of connected clients are not published by others). */
  close(): Promise<void>;
}
