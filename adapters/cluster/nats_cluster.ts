/**
 * A cluster over NATS: {@link createNatsCluster} connects to NATS and returns the {@link ClusterBus} a Broker
 * takes as its `cluster` option. NATS does the routing (one subscription per distinct local filter, queue
 * groups for shared subscriptions), JetStream KV keeps retained messages, session owners, wills and node
 * liveness; this file holds no consensus or membership logic of its own.
 *
 * Two connections per node: `route` publishes messages and holds the interest subscriptions with `noEcho`, so
 * a node never gets its own messages back; `shared` holds the queue subscriptions of shared groups, so a message
 * published here can still go to a member here when NATS picks this node.
 *
 * @example
 * ```ts
 * const cluster = await createNatsCluster({ node: "n1", servers: ["nats://127.0.0.1:4222"] });
 * const broker = new Broker({ hooks: [new AllowHook()], cluster });
 * ```
 * @module
 */

import { readFile } from "node:fs/promises";
import { connect, credsAuthenticator } from "@nats-io/transport-node";
import type { ConnectionOptions, NatsConnection, Subscription } from "@nats-io/transport-node";
import type { Logger } from "../../src/logger.ts";
import { silentLogger } from "../../src/logger.ts";
import type { Message } from "../../src/message.ts";
import type { ClientInfo } from "../../src/hooks/hook.ts";
import type {
  ClusterBus,
  ClusterClientQuery,
  ClusterClients,
  ClusterNode,
  ClusterSessionRecord,
  ClusterStatus,
  HandedSession,
} from "../../src/cluster/cluster_bus.ts";
import { escapeName, filterSubjects, topicSubject } from "../../src/cluster/subjects.ts";
import { bootBytes, decodeWire, encodeWire } from "../../src/cluster/wire_codec.ts";
import { NatsState } from "./_nats_state.ts";
import { NatsQueues } from "./_nats_queues.ts";
import { NatsDurable } from "./_nats_durable.ts";
import { NatsFence } from "./_nats_fence.ts";
import { NatsClients } from "./_nats_clients.ts";

/** How to reach NATS and who this node is. */
export interface NatsClusterOptions {
  /** Unique node name: letters, digits, `_` and `-`. */
  node: string;
  /** NATS server URLs, e.g. `nats://127.0.0.1:4222`; more than one for a NATS cluster. */
  servers: string[];
  /** User name for NATS, with `pass`. */
  user?: string;
  /** Password for NATS, with `user`. */
  pass?: string;
  /** A NATS authentication token. */
  token?: string;
  /** A NATS credentials file (JWT + NKey seed). */
  credsFile?: string;
  /** TLS to NATS: CA, client certificate and key files (PEM). */
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
  /** Subject and bucket prefix, so several clusters can share one NATS. Default `mqtt`. */
  prefix?: string;
  /** Milliseconds between liveness beats. Default 1000. */
  heartbeatMs?: number;
  /** A node silent this long is dead: a survivor publishes its clients' wills. Default 4000. */
  deadAfterMs?: number;
  /** JetStream replicas of the buckets (1 for one NATS server, 3 for a 3-server NATS cluster). Default 1. */
  replicas?: number;
  /**
   * On a graceful stop, how long (ms) the clients of persistent sessions get to reconnect to another node and take
   * their sessions, with what was queued for them, over from this one. Default 2000; 0 leaves at once.
   */
  shutdownGraceMs?: number;
  /**
   * How often (ms) one live node looks for persistent sessions of departed nodes whose expiry has run out, and
   * ends them: their records and the queues kept for them. Default 60000.
   */
  sessionSweepMs?: number;
  /** Try the servers in the order given instead of a random one (tests pin nodes to servers). Default false. */
  noRandomize?: boolean;
  /** Use only the servers given, not the ones a NATS cluster announces (tests cut a node off). Default false. */
  ignoreDiscoveredServers?: boolean;
  /** Milliseconds to wait for the first connection. Default 5000. */
  connectTimeoutMs?: number;
  /** Where the cluster logs (joins, dead nodes, NATS outages). Default: nowhere. */
  logger?: Logger;
}

const NODE_NAME = /^[A-Za-z0-9_-]{1,64}$/;
/** QoS 1/2 messages held for other nodes while NATS is unreachable. */
const OUTBOX_LIMIT = 10_000;

/**
 * Connect to NATS as cluster node `options.node`. Rejects with a message naming the servers when none answers.
 */
export async function createNatsCluster(options: NatsClusterOptions): Promise<ClusterBus> {
  if (!NODE_NAME.test(options.node)) {
    throw new TypeError(
      `Cannot use cluster node name ${
        JSON.stringify(options.node)
      }: expected 1 to 64 letters, digits, "_" or "-"`,
    );
  }
  if (options.servers.length === 0) throw new TypeError("Cannot join a cluster: no NATS servers given");
  const base: ConnectionOptions = {
    servers: options.servers,
    timeout: options.connectTimeoutMs ?? 5000,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    name: `comqtt ${options.node}`,
    noRandomize: options.noRandomize ?? false,
    ignoreClusterUpdates: options.ignoreDiscoveredServers ?? false,
  };
  if (options.user !== undefined) base.user = options.user;
  if (options.pass !== undefined) base.pass = options.pass;
  if (options.token !== undefined) base.token = options.token;
  if (options.credsFile !== undefined) {
    base.authenticator = credsAuthenticator(new Uint8Array(await readFile(options.credsFile)));
  }
  if (options.tls !== undefined) base.tls = { ...options.tls };
  let route: NatsConnection;
  let shared: NatsConnection;
  try {
    route = await connect({ ...base, noEcho: true });
    shared = await connect(base);
  } catch (err) {
    throw new Error(
      `Cannot connect to NATS at ${options.servers.join(", ")}: ${err instanceof Error ? err.message : err}`,
      { cause: err },
    );
  }
  return new NatsBus(options, route, shared);
}

/** The NATS implementation of {@link ClusterBus}. */
class NatsBus implements ClusterBus {
  readonly node: string;
  /** Persistent sessions' queues in this node's JetStream stream; the broker writes them as its storage. */
  readonly sessionStore: NatsQueues;
  readonly #route: NatsConnection;
  readonly #shared: NatsConnection;
  readonly #prefix: string;
  readonly #logger: Logger;
  readonly #state: NatsState;
  readonly #durable: NatsDurable;
  readonly #fence: NatsFence;
  readonly #clients: NatsClients;
  readonly #boot: string;
  readonly #bootBytes: Uint8Array;
  #seq = 0;
  #local: ClusterNode | undefined;
  /** Interest by MQTT filter: reference count and its NATS subscriptions. */
  #interest = new Map<string, { count: number; subs: Subscription[] }>();
  #sharedInterest = new Map<string, { count: number; subs: Subscription[] }>();
  /** Highest sequence number seen per sending boot: overlapping filters deliver a message once. */
  #lastSeq = new Map<string, number>();
  /** Cluster id of each message routed here, for de-duplicating messages a moved session brings along. */
  #ids = new WeakMap<Message, string>();
  #started = false;
  /** The route connection is up (NATS may come and go; the client reconnects and resubscribes by itself). */
  #connected = true;
  #forwarded = 0;
  #lost = 0;
  #received = 0;
  #rttMs: number | undefined;
  #rttTimer: ReturnType<typeof setInterval> | undefined;
  /** QoS 1/2 messages forwarded while NATS was unreachable, sent once it is back (bounded). */
  #outbox: Array<{ subject: string; bytes: Uint8Array }> = [];
  #outboxTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #heartbeatMs: number;

  constructor(options: NatsClusterOptions, route: NatsConnection, shared: NatsConnection) {
    this.node = options.node;
    this.#route = route;
    this.#shared = shared;
    this.#prefix = options.prefix ?? "mqtt";
    this.#logger = options.logger ?? silentLogger;
    this.#boot = `${options.node}-${randomHex(6)}`;
    this.#heartbeatMs = options.heartbeatMs ?? 1000;
    this.#bootBytes = bootBytes(this.#boot);
    this.sessionStore = new NatsQueues({
      nc: route,
      prefix: this.#prefix,
      node: options.node,
      replicas: options.replicas ?? 1,
      logger: this.#logger,
    });
    this.#durable = new NatsDurable({ nc: route, prefix: this.#prefix, logger: this.#logger });
    this.#clients = new NatsClients({
      nc: route,
      prefix: this.#prefix,
      node: options.node,
      logger: this.#logger,
      others: () => this.#state.members().filter((m) => !m.self).map((m) => m.node),
    });
    this.#fence = new NatsFence({
      nc: route,
      heartbeatMs: this.#heartbeatMs,
      deadAfterMs: options.deadAfterMs ?? 4000,
      logger: this.#logger,
    });
    this.#state = new NatsState({
      nc: route,
      prefix: this.#prefix,
      node: options.node,
      boot: this.#boot,
      logger: this.#logger,
      heartbeatMs: options.heartbeatMs ?? 1000,
      deadAfterMs: options.deadAfterMs ?? 4000,
      replicas: options.replicas ?? 1,
      shutdownGraceMs: options.shutdownGraceMs ?? 2000,
      sessionSweepMs: options.sessionSweepMs ?? 60_000,
      interest: (filter, delta) => this.interest(filter, delta),
      messageId: (m) => this.#ids.get(m),
      queues: this.sessionStore,
      released: (clientId) => this.#durable.session(clientId, undefined),
    });
    this.#watchStatus(route, "route");
    this.#watchStatus(shared, "shared");
  }

  async start(local: ClusterNode): Promise<void> {
    this.#local = local;
    await this.sessionStore.start();
    this.#durable.start(local);
    await this.#state.start(local);
    this.#fence.start(local);
    this.#clients.serve(local);
    this.#started = true;
    // Interest registered before start (sessions restored from storage) is subscribed now.
    for (const [filter, entry] of this.#interest) entry.subs = this.#subscribe(filter);
    for (const [key, entry] of this.#sharedInterest) entry.subs = this.#subscribeShared(key);
    await this.#route.flush();
    await this.#shared.flush();
    this.#measureRtt();
    this.#rttTimer = setInterval(() => this.#measureRtt(), 5000);
    this.#logger.info("cluster joined", { node: this.node, boot: this.#boot, nats: this.#route.getServer() });
  }

  adopted(clientId: string): void {
    this.#state.adopted(clientId);
  }

  forward(message: Message): void | Promise<void> {
    if (message.topic.startsWith("$SYS")) return;
    const seq = ++this.#seq;
    this.#ids.set(message, `${this.#boot}:${seq}`);
    // A session moving here from another node does not see this message on that node once it has left it.
    this.#state.captured(message);
    const bytes = encodeWire(this.#bootBytes, seq, message, Date.now());
    const subject = topicSubject(this.#prefix + ".m", message.topic);
    if (!this.#connected || this.#outbox.length > 0) {
      // NATS is away: QoS 0 copies for other nodes are lost; QoS 1/2 ones wait for it (bounded). Until the
      // held ones are out, newer ones queue behind them, so that receivers see sequence numbers in order.
      const keep = (message.qos > 0 || this.#connected) && this.#outbox.length < OUTBOX_LIMIT;
      if (keep) this.#outbox.push({ subject, bytes });
      else this.#lost++;
      return;
    }
    this.#forwarded++;
    try {
      this.#route.publish(subject, bytes);
    } catch (err) {
      // Closed or over the reconnect buffer: other nodes miss this QoS 0 copy; logged, never thrown at a client.
      this.#logger.warn("cluster: cannot forward a message", { topic: message.topic, error: String(err) });
      return;
    }
    // QoS 1/2: acknowledged once the nodes keeping it for persistent sessions have stored it.
    if (message.qos > 0) return this.#durable.confirm(message.topic, `${this.#boot}:${seq}`);
  }

  interest(filter: string, delta: 1 | -1): void {
    let entry = this.#interest.get(filter);
    if (delta === 1) {
      if (entry === undefined) {
        entry = { count: 0, subs: this.#started ? this.#subscribe(filter) : [] };
        this.#interest.set(filter, entry);
      }
      entry.count++;
      return;
    }
    if (entry === undefined) return;
    if (--entry.count > 0) return;
    this.#interest.delete(filter);
    for (const sub of entry.subs) sub.unsubscribe();
  }

  sharedInterest(group: string, filter: string, delta: 1 | -1): void {
    const key = `${group}\u0000${filter}`;
    let entry = this.#sharedInterest.get(key);
    if (delta === 1) {
      if (entry === undefined) {
        entry = { count: 0, subs: this.#started ? this.#subscribeShared(key) : [] };
        this.#sharedInterest.set(key, entry);
      }
      entry.count++;
      return;
    }
    if (entry === undefined) return;
    if (--entry.count > 0) return;
    this.#sharedInterest.delete(key);
    for (const sub of entry.subs) sub.unsubscribe();
  }

  retain(message: Message): void {
    if (message.topic.startsWith("$SYS")) return;
    this.#state.retain(message);
  }

  acquire(clientId: string, clean: boolean): Promise<HandedSession | undefined> {
    // Without NATS the client is served by this node alone at once, instead of after a timeout.
    if (!this.#connected) return Promise.reject(new Error("NATS is unreachable"));
    return this.#state.acquire(clientId, clean);
  }

  sessionChanged(clientId: string, record: ClusterSessionRecord | undefined): void {
    const persistent = record !== undefined && record.expiryInterval > 0;
    this.#durable.session(clientId, persistent ? record.subscriptions.map((s) => s.filter) : undefined);
    this.#state.sessionChanged(clientId, record);
  }

  will(info: ClientInfo, will: Message | undefined): void {
    this.#state.will(info, will);
  }

  clients(query: ClusterClientQuery): Promise<ClusterClients> {
    return this.#clients.list(query);
  }

  status(): ClusterStatus {
    return {
      node: this.node,
      boot: this.#boot,
      connected: this.#connected,
      server: this.#route.getServer(),
      ...(this.#rttMs === undefined ? {} : { rttMs: this.#rttMs }),
      forwarded: this.#forwarded,
      lost: this.#lost,
      received: this.#received,
      members: this.#state.members(),
    };
  }

  async close(): Promise<void> {
    clearInterval(this.#rttTimer);
    clearTimeout(this.#outboxTimer);
    this.#durable.close();
    this.#fence.close();
    await this.#state.close();
    for (const nc of [this.#route, this.#shared]) {
      await nc.drain().catch(() => nc.close());
    }
    this.#logger.info("cluster left", { node: this.node });
  }

  #subscribe(filter: string): Subscription[] {
    return filterSubjects(this.#prefix + ".m", filter).map((subject) =>
      this.#route.subscribe(subject, {
        callback: (err, msg) => {
          if (err !== null) return;
          const wire = this.#decode(msg.data);
          if (wire === undefined) return;
          // A message matching two of this node's filters arrives twice, back to back: deliver it once.
          const last = this.#lastSeq.get(wire.boot);
          if (last !== undefined && wire.seq <= last) return;
          this.#lastSeq.set(wire.boot, wire.seq);
          this.#ids.set(wire.message, `${wire.boot}:${wire.seq}`);
          this.#received++;
          this.#state.captured(wire.message);
          this.#local?.routeRemote(wire.message);
          if (wire.message.qos > 0) {
            this.#durable.received(`${wire.boot}:${wire.seq}`, this.#local?.durability?.());
          }
        },
      })
    );
  }

  #subscribeShared(key: string): Subscription[] {
    const [group, filter] = key.split("\u0000") as [string, string];
    // The queue group names the share and its filter: `$share/g/a` and `$share/g/b` are different groups.
    const queue = escapeName(`${group}/${filter}`);
    return filterSubjects(this.#prefix + ".m", filter).map((subject) =>
      this.#shared.subscribe(subject, {
        queue,
        callback: (err, msg) => {
          if (err !== null) return;
          const wire = this.#decode(msg.data);
          if (wire === undefined) return;
          this.#received++;
          this.#local?.routeShared(group, filter, wire.message);
        },
      })
    );
  }

  #flushOutbox(): void {
    if (!this.#connected) return;
    const queued = this.#outbox.splice(0);
    for (const { subject, bytes } of queued) this.#route.publish(subject, bytes);
    this.#forwarded += queued.length;
    this.#logger.info("cluster: messages held during the NATS outage sent", { count: queued.length });
  }

  #measureRtt(): void {
    if (!this.#connected) return;
    this.#route.rtt().then((ms) => (this.#rttMs = ms), () => {});
  }

  #decode(data: Uint8Array) {
    try {
      return decodeWire(data, Date.now());
    } catch (err) {
      this.#logger.warn("cluster: dropped a malformed message", { error: String(err) });
      return undefined;
    }
  }

  #watchStatus(nc: NatsConnection, which: string): void {
    (async () => {
      for await (const s of nc.status()) {
        if (s.type !== "disconnect" && s.type !== "reconnect") continue;
        this.#logger.warn(`cluster: NATS ${s.type}`, { connection: which, server: nc.getServer() });
        if (nc === this.#route) {
          this.#connected = s.type === "reconnect";
          this.#state.connection(this.#connected);
          this.sessionStore.connection(this.#connected);
          if (this.#connected && this.#outbox.length > 0) {
            // Other nodes that lost the same server reconnect too (within the 250 ms reconnect wait and its
            // jitter) and resubscribe: give them a beat, at least half a second, before the replay.
            clearTimeout(this.#outboxTimer);
            this.#outboxTimer = setTimeout(() => this.#flushOutbox(), Math.max(500, this.#heartbeatMs));
          }
        }
      }
    })().catch(() => {});
  }
}

function randomHex(bytes: number): string {
  let out = "";
  for (const b of crypto.getRandomValues(new Uint8Array(bytes))) out += b.toString(16).padStart(2, "0");
  return out;
}
