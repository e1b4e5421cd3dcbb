/**
 * The Broker: listeners, clients, sessions, the subscription index, retained messages and hooks.
 * @module
 */

import { Client } from "./client/client.ts";
import type { BrokerCore } from "./client/broker_core.ts";
import { type Clock, systemClock, type TimerHandle } from "./clock.ts";
import type { ClientInfo, DropReason, Hook, HookContext } from "./hooks/hook.ts";
import { HookChain, isPromise } from "./hooks/hook_chain.ts";
import { type Logger, silentLogger } from "./logger.ts";
import type { Message } from "./message.ts";
import {
  type BrokerOptions,
  type Capabilities,
  type Limits,
  resolveCapabilities,
  resolveLimits,
} from "./options.ts";
import type { PublishProperties, QoS, SubscriptionRequest } from "./packets/types.ts";
import { PublishForms } from "./session/publish_forms.ts";
import {
  type Delivery,
  type InflightMessage,
  isExpired,
  Session,
  SESSION_NEVER_EXPIRES,
  type SessionContext,
} from "./session/session.ts";
import { SharedGroups } from "./session/shared_groups.ts";
import type { Subscription } from "./session/subscription.ts";
import { BrokerStats } from "./sys/stats.ts";
import { LimitHits } from "./sys/limit_hits.ts";
import { AuthThrottle } from "./client/auth_throttle.ts";
import { SysPublisher } from "./sys/sys_publisher.ts";
import { RetainedStore } from "./topics/retained_store.ts";
import { SubscriptionIndex } from "./topics/subscription_index.ts";
import type { Storage, StorageOp, StoredSession, StoredSubscription } from "./storage/storage.ts";
import { storedClientInfo } from "./storage/stored_client_info.ts";
import type { StoredBridgeQueue, StoredQueued } from "./storage/storage.ts";
import { WriteBehind } from "./storage/write_behind.ts";
import { checkTopicName, parseSharedFilter } from "./topics/topic_rules.ts";
import type { Accept, AcceptInfo, Connection, ConnectionHandler, Listener } from "./transport/connection.ts";
import type { ClusterBus, ClusterNode, ClusterStatus, HandedSession } from "./cluster/cluster_bus.ts";
import type { ClusterClientPage, ClusterClientQuery, ClusterClients } from "./cluster/cluster_bus.ts";
import { clientRows } from "./cluster/client_rows.ts";
import { ClusterHook } from "./cluster/cluster_hook.ts";

/** Options of {@link Broker.publish}. */
export interface PublishOptions {
  /** QoS to publish with (0, 1 or 2). Default 0. */
  qos?: QoS;
  /** Keep the message as the topic's retained message. Default false. */
  retain?: boolean;
  /** MQTT 5 properties, delivered to v5 subscribers. */
  properties?: PublishProperties;
}

const encoder = new TextEncoder();

type WillProperties = PublishProperties & { willDelayInterval?: number };
const NOOP_HANDLER: ConnectionHandler = { data() {}, drain() {}, closed() {} };

/**
 * An MQTT broker. Give it listeners (from an adapter) and hooks, then `listen()`.
 *
 * @example Embedding
 * ```ts
 * import { AllowHook, Broker, createTcpListener } from "@comqtt/broker";
 * const broker = new Broker({ hooks: [new AllowHook()] });
 * await broker.addListener(await createTcpListener({ host: "127.0.0.1", port: 1883 }));
 * await broker.listen();
 * await broker.publish("greetings", "hello", { qos: 1, retain: true });
 * await broker.close();
 * ```
 */
export class Broker implements BrokerCore, ClusterNode {
  /** Where the broker logs (`options.logger`; default silent). */
  readonly logger: Logger;
  /** The time source (`options.clock`; default the system clock). */
  readonly clock: Clock;
  /**
   * The hook chain the broker calls; add hooks with {@link Broker.addHook}. Its type is internal, so it is
   * left out of the generated docs.
   * @ignore
   */
  readonly hooks: HookChain;
  /** The effective limits: `options.limits` over {@link DEFAULT_LIMITS}. */
  readonly limits: Limits;
  /** The effective capabilities: `options.capabilities` over {@link DEFAULT_CAPABILITIES}. */
  readonly capabilities: Capabilities;
  readonly responseInformation: string | undefined;
  /**
   * Counters for `$SYS`, the dashboard and `/metrics`. Its type is internal, so it is left out of the
   * generated docs.
   * @ignore
   */
  readonly stats: BrokerStats;
  /** @ignore Counts and logs the global bounds that were hit (internal; read through /metrics). */
  readonly limitHits: LimitHits;
  /** @ignore Slows down repeated authentication failures per remote address (internal). */
  readonly authThrottle: AuthThrottle;
  /** Version string published in `$SYS/broker/version`. */
  readonly version: string;

  #listeners: Listener[] = [];
  #connections = new Set<Client>();
  #clients = new Map<string, Client>();
  #sessions = new Map<string, Session>();
  #index = new SubscriptionIndex<Subscription>();
  #retained = new RetainedStore<Message>();
  #shared: SharedGroups;
  /** v5 wills waiting for their Will Delay Interval, by client id. */
  #pendingWills = new Map<string, { will: Message; info: ClientInfo; at: number }>();
  #routeSeq = 0;
  #sweepInterval: number;
  #sweepTimer: TimerHandle | undefined;
  #sys: SysPublisher;
  #state: "idle" | "running" | "closing" | "closed" = "idle";
  #hooksReady: Promise<void> | undefined;
  #sessionContext: SessionContext;
  readonly #now = (): number => this.clock.now();
  #storage: Storage | undefined;
  #writer: WriteBehind | undefined;
  #durableAcks: boolean;
  /** Ops were pushed since the last durability() call. */
  #dirty = false;
  #restored = false;
  /** Bridge queues restore() loaded, until each bridge takes its own. */
  #storedBridges: StoredBridgeQueue[] = [];
  #allowCrossUserTakeover: boolean;
  /** Sessions that outlive their connection (for maxPersistentSessions). */
  #persistentSessions = new Set<Session>();
  /** Topic and payload bytes of the retained messages (for maxRetainedBytes). */
  #retainedBytes = 0;
  /** The cluster bus; undefined for a broker on its own (then routing pays one check and nothing more). */
  #bus: ClusterBus | undefined;
  /** Other nodes' storage of what this node forwarded last (their persistent sessions' copies). */
  #clusterStored: Promise<void> | undefined;
  /** Sessions handed over by other nodes, waiting for their client's CONNACK. */
  #handed = new Map<string, HandedSession>();

  /** A broker that is not listening yet: add listeners, then call `listen()`. */
  constructor(options: BrokerOptions = {}) {
    this.logger = options.logger ?? silentLogger;
    this.clock = options.clock ?? systemClock;
    this.limits = resolveLimits(options.limits);
    this.capabilities = resolveCapabilities(options.capabilities);
    this.responseInformation = options.responseInformation;
    this.#shared = new SharedGroups(options.sharedSubscriptionStrategy);
    this.stats = new BrokerStats(this.clock.now());
    this.limitHits = new LimitHits(this.logger, () => this.clock.now());
    this.authThrottle = new AuthThrottle({
      delayMs: this.limits.authFailureDelay,
      clock: this.clock,
      limitHits: this.limitHits,
    });
    this.version = options.version ?? "0.1.0";
    this.hooks = new HookChain(this.logger);
    for (const hook of options.hooks ?? []) this.hooks.add(hook);
    this.#sweepInterval = options.sweepInterval ?? 1000;
    this.#sys = new SysPublisher(this, options.sysInterval ?? 10);
    const stats = this.stats;
    const hooks = this.hooks;
    const clock = this.clock;
    this.#storage = clusterStorage(options);
    this.#durableAcks = options.durableAcks ?? true;
    if (options.storageMaxPendingAcks !== undefined) this.maxPendingAcks = options.storageMaxPendingAcks;
    this.#allowCrossUserTakeover = options.allowCrossUserTakeover ?? false;
    if (this.#storage !== undefined) {
      this.#writer = new WriteBehind(this.#storage, {
        clock: this.clock,
        logger: this.logger,
        maxDelayMs: options.storageMaxDelay ?? 5,
        maxPending: options.storageMaxPending,
        onPressure: (behind) => this.#storagePressure(behind),
      });
    }
    this.#bus = options.cluster;
    const writer = this.#writer;
    const limitHits = this.limitHits;
    this.#sessionContext = {
      maxQueuedMessages: this.limits.maxQueuedMessages,
      maxQueuedBytes: this.limits.maxQueuedBytes,
      queuedBytesExceeded(session: Session, bytes: number) {
        limitHits.hit("maxQueuedBytes", { clientId: session.clientId, queuedBytes: bytes });
      },
      now: () => clock.now(),
      persist: writer === undefined ? undefined : (op, fresh) => {
        this.#dirty = true;
        writer.push(op, fresh);
      },
      dropped(session: Session, message: Message, reason: DropReason) {
        stats.dropped[reason]++;
        hooks.notify("onMessageDropped", session.clientId, message, reason);
      },
    };
  }

  /** Add a hook at the end of the chain. */
  addHook(hook: Hook): void {
    this.hooks.add(hook);
    if (this.#hooksReady) {
      // The broker already runs: nobody awaits this init, so a failure is reported here, never left unhandled.
      this.#hooksReady = this.#hooksReady.then(() => hook.init?.(this.#hookContext())).then(
        undefined,
        (err) => this.#hookInitFailed(hook, err),
      );
    }
  }

  /**
   * Swap a hook for another in the same place of the chain, while clients stay connected (a reload of users,
   * ACL rules or an auth backend): `fresh` is initialised first, then takes every later event; `old` is stopped.
   */
  async replaceHook(old: Hook, fresh: Hook): Promise<void> {
    await fresh.init?.({ logger: this.logger });
    this.hooks.replace(old, fresh);
    await old.stop?.();
  }

  /**
   * Swap a listener for another (new TLS certificates): `old` stops accepting, `fresh` starts; connections that
   * `old` accepted stay. When `fresh` cannot listen, `old` listens again and the error is rethrown.
   */
  async replaceListener(old: Listener, fresh: Listener): Promise<void> {
    const at = this.#listeners.indexOf(old);
    if (at < 0) throw new TypeError(`Cannot replace listener "${old.id}": it is not added`);
    if (this.#state !== "running") {
      this.#listeners[at] = fresh;
      return;
    }
    await old.close();
    try {
      await this.#startListener(fresh);
    } catch (error) {
      await this.#startListener(old);
      throw error;
    }
    this.#listeners[at] = fresh;
  }

  /** Add a listener; it starts with {@link listen} (or at once when the broker is already listening). */
  async addListener(listener: Listener): Promise<void> {
    if (this.#listeners.some((l) => l.id === listener.id)) {
      throw new TypeError(`Cannot add listener "${listener.id}": a listener with that id is already added`);
    }
    this.#listeners.push(listener);
    if (this.#state === "running") await this.#startListener(listener);
  }

  /** The listeners added so far. */
  get listeners(): readonly Listener[] {
    return this.#listeners;
  }

  /** Initialise hooks, start every listener, start housekeeping and $SYS. */
  async listen(): Promise<void> {
    if (this.#state === "closing" || this.#state === "closed") {
      throw new Error("Cannot listen: the broker is closed");
    }
    this.#start();
    await this.#hooksReady;
    if (this.#storage !== undefined && !this.#restored) await this.restore();
    // Connected to the cluster before the first client can arrive.
    if (this.#bus !== undefined) await this.#bus.start(this);
    const started: Listener[] = [];
    try {
      for (const listener of this.#listeners) {
        await this.#startListener(listener);
        started.push(listener);
      }
    } catch (err) {
      for (const l of started) await l.close().catch(() => {});
      throw err;
    }
  }

  /**
   * Take a connection from any transport (the adapters call this; tests and custom transports may too).
   * Returns the handler the transport feeds.
   */
  readonly accept: Accept = (connection: Connection, info: AcceptInfo): ConnectionHandler => {
    if (this.#state === "closing" || this.#state === "closed") {
      connection.destroy();
      return NOOP_HANDLER;
    }
    this.#start();
    const client = new Client(this, connection, info);
    this.#connections.add(client);
    this.stats.connectionsTotal++;
    return client;
  };

  /** Publish a message from the embedding service, delivered like any client's message. */
  async publish(topic: string, payload: Uint8Array | string, options: PublishOptions = {}): Promise<void> {
    const problem = checkTopicName(topic, this.limits);
    if (problem !== undefined) throw new TypeError(`Cannot publish: ${problem}`);
    const qos = options.qos ?? 0;
    if (qos !== 0 && qos !== 1 && qos !== 2) {
      throw new RangeError(`Cannot publish with QoS ${qos}: expected 0, 1 or 2`);
    }
    const message: Message = {
      topic,
      payload: typeof payload === "string" ? encoder.encode(payload) : payload,
      qos,
      retain: options.retain ?? false,
      properties: options.properties,
      receivedAt: this.clock.now(),
    };
    const transformed = await this.hooks.publish(undefined, message);
    if (transformed !== null) this.route(transformed, undefined);
  }

  /** Stop listeners, disconnect every client (no wills), stop timers and hooks. */
  async close(): Promise<void> {
    if (this.#state === "closing" || this.#state === "closed") return;
    this.#state = "closing";
    this.#sweepTimer?.cancel();
    this.#sys.stop();
    for (const listener of this.#listeners) {
      await listener.close().catch((err) =>
        this.logger.warn("listener close failed", { id: listener.id, error: err })
      );
    }
    for (const client of [...this.#connections]) {
      if (client.state === "connected" && client.protocolVersion === 5) {
        client.sendPacket({ type: "disconnect", reasonCode: 0x8b });
      }
      client.will = undefined;
      client.close(true);
    }
    if (this.#bus !== undefined) {
      // The cluster's session store is written through NATS: what is pending goes before NATS is left.
      await this.#writer?.flush();
      await this.#bus.close().catch((err) => this.logger.warn("cluster close failed", { error: err }));
    }
    if (this.#writer !== undefined) {
      await this.#writer.close();
      await this.#storage!.close();
    }
    for (const hook of this.hooks.hooks) {
      try {
        await hook.stop?.();
      } catch (err) {
        this.logger.warn("hook stop failed", { hook: hook.id, error: err });
      }
    }
    this.#state = "closed";
    this.logger.info("broker closed");
  }

  // ---- introspection -----------------------------------------------------------------------------------

  /**
   * Connected clients (for the dashboard; `Client` is internal, so this is left out of the generated docs).
   * @ignore
   */
  connectedClients(): IterableIterator<Client> {
    return this.#clients.values();
  }

  /**
   * A connected client by id (for the dashboard; `Client` is internal, so this is left out of the generated
   * docs).
   * @ignore
   */
  getClient(clientId: string): Client | undefined {
    return this.#clients.get(clientId);
  }

  /**
   * A session (connected or not) by client id (for the dashboard; `Session` is internal, so this is left out
   * of the generated docs).
   * @ignore
   */
  getSession(clientId: string): Session | undefined {
    return this.#sessions.get(clientId);
  }

  /** Number of sessions, connected or not. */
  get sessionCount(): number {
    return this.#sessions.size;
  }

  /** Number of subscriptions across all sessions. */
  get subscriptionCount(): number {
    let shared = 0;
    for (const group of this.#shared.groups()) shared += group.members.length;
    return this.#index.size + shared;
  }

  /** Number of retained messages. */
  get retainedCount(): number {
    return this.#retained.size;
  }

  /** Topic and payload bytes of the retained messages. */
  get retainedBytes(): number {
    return this.#retainedBytes;
  }

  /** Number of sessions that outlive their connection. */
  get persistentSessionCount(): number {
    return this.#persistentSessions.size;
  }

  /** The retained message of a topic. */
  getRetained(topic: string): Message | undefined {
    return this.#retained.get(topic);
  }

  /**
   * @internal When storage has changes not yet durable and acks must wait for them, the promise of their
   * durability (PUBACK/PUBREC/PUBCOMP wait on it); undefined when an ack may go at once.
   */
  #storageBehind = false;
  /** @internal True while storage is behind: publishers are paused after their current packet (BrokerCore). */
  get storageBehind(): boolean {
    return this.#storageBehind;
  }
  /** @internal Acknowledgements one client may have waiting for storage before it is paused (BrokerCore). */
  readonly maxPendingAcks: number = 256;
  #caughtUp: { promise: Promise<void>; resolve: () => void } | undefined;

  /** @internal Resolves once storage is no longer behind (BrokerCore). */
  storageCaughtUp(): Promise<void> {
    if (!this.#storageBehind) return Promise.resolve();
    if (this.#caughtUp === undefined) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => resolve = r);
      this.#caughtUp = { promise, resolve };
    }
    return this.#caughtUp.promise;
  }

  #storagePressure(behind: boolean): void {
    this.#storageBehind = behind;
    if (behind) return;
    this.#caughtUp?.resolve();
    this.#caughtUp = undefined;
  }

  durability(): Promise<void> | undefined {
    const cluster = this.#clusterStored;
    this.#clusterStored = undefined;
    if (!this.#durableAcks) return undefined;
    let local: Promise<void> | undefined;
    if (this.#writer !== undefined && this.#dirty) {
      this.#dirty = false;
      local = this.#writer.flushed();
    }
    if (cluster === undefined) return local;
    return local === undefined ? cluster : Promise.all([local, cluster]).then(() => {});
  }

  /**
   * Load sessions (dropping expired ones), subscriptions, inflight and queued messages, retained messages and
   * pending wills from storage. `listen()` calls it once; call it yourself to restore before listening.
   * Rejects with a clear error when the storage cannot be read.
   */
  async restore(): Promise<void> {
    if (this.#storage === undefined || this.#restored) return;
    this.#restored = true;
    let state;
    try {
      state = await this.#storage.load();
    } catch (err) {
      throw new Error(
        `Cannot restore from ${this.#storage.name} storage: ${err instanceof Error ? err.message : err}`,
        {
          cause: err,
        },
      );
    }
    const now = this.clock.now();
    let sessions = 0;
    let expired = 0;
    for (const stored of state.sessions) {
      // A session stored while connected was cut off by a crash: it went offline now.
      const offlineSince = stored.disconnectedAt ?? now;
      if (
        stored.expiryInterval !== SESSION_NEVER_EXPIRES && offlineSince + stored.expiryInterval * 1000 <= now
      ) {
        this.#persist({ type: "sessionDelete", clientId: stored.clientId });
        expired++;
        continue;
      }
      const session = new Session(stored.clientId, stored.expiryInterval, this.#sessionContext);
      session.disconnectedAt = offlineSince;
      session.owner = stored.owner;
      session.stored = true;
      this.#sessions.set(stored.clientId, session);
      this.#persistentSessions.add(session);
      for (const sub of stored.subscriptions) {
        const item: Subscription = { session, ...sub };
        session.setSubscription(sub.filter, item);
        this.#addIndex(sub.filter, stored.clientId, item);
      }
      session.restore(
        stored.inflight.map((e): InflightMessage => ({ ...e })),
        stored.queued,
        stored.incoming,
      );
      sessions++;
    }
    let retained = 0;
    for (const message of state.retained) {
      if (isExpired(message, now)) {
        this.#persist({ type: "retainedDelete", topic: message.topic });
        continue;
      }
      this.#retainedSet(message);
      retained++;
    }
    for (const w of state.wills) this.#pendingWills.set(w.clientId, { will: w.will, info: w.info, at: w.at });
    this.#storedBridges = state.bridges ?? [];
    this.logger.info("restored from storage", {
      storage: this.#storage.name,
      sessions,
      expired,
      retained,
      wills: state.wills.length,
    });
  }

  /**
   * Every session, connected or not (for the dashboard; `Session` is internal, so this is left out of the
   * generated docs).
   * @ignore
   */
  sessions(): IterableIterator<Session> {
    return this.#sessions.values();
  }

  /**
   * Every subscription: `{ clientId, filter, qos, ... }` (shared ones by their full `$share/...` filter). Its
   * element type points at the internal `Session`, so this is left out of the generated docs.
   * @ignore
   */
  *subscriptions(): IterableIterator<Subscription & { clientId: string }> {
    for (const session of this.#sessions.values()) {
      for (const sub of session.subscriptions.values()) yield { ...sub, clientId: session.clientId };
    }
  }

  /** Retained messages whose topic matches `filter` (default `#`, which leaves out `$` topics). */
  retainedMessages(filter = "#"): Message[] {
    const out: Message[] = [];
    this.#retained.match(filter, (_topic, message) => out.push(message));
    return out;
  }

  /** Delete the retained message of a topic; returns true when there was one. */
  deleteRetained(topic: string): boolean {
    const existed = this.#retainedDelete(topic);
    if (existed) {
      this.#persist({ type: "retainedDelete", topic });
      this.hooks.notify("onRetained", {
        topic,
        payload: new Uint8Array(0),
        qos: 0,
        retain: true,
        receivedAt: this.clock.now(),
      });
    }
    return existed;
  }

  /**
   * Disconnect a connected client (v5 clients get DISCONNECT with `reasonCode`, default 0x98 administrative
   * action); its will is published. Returns false when no client with that id is connected.
   */
  disconnectClient(clientId: string, reasonCode = 0x98): boolean {
    const client = this.#clients.get(clientId);
    if (client === undefined) return false;
    if (client.protocolVersion === 5) client.sendPacket({ type: "disconnect", reasonCode });
    client.close(false, new Error("disconnected by the server"));
    return true;
  }

  /**
   * Resolves once the cluster's other nodes know of the interest added so far; undefined when there is no cluster
   * or nothing new to wait for. SUBACK waits for it.
   */
  clusterSettled(): Promise<void> | undefined {
    return this.#bus?.settled?.();
  }

  /** What this node knows of its cluster (nodes, clients per node, traffic); undefined for a broker alone. */
  clusterStatus(): ClusterStatus | undefined {
    return this.#bus?.status?.();
  }

  /**
   * The clients of the cluster's other nodes that match `query` (the dashboard lists them with this node's);
   * undefined for a broker alone.
   */
  clusterClients(query: ClusterClientQuery): Promise<ClusterClients> | undefined {
    return this.#bus?.clients?.(query);
  }

  /** @internal This node's clients for another node's cluster-wide list. */
  clientRows(query: ClusterClientQuery): ClusterClientPage {
    return clientRows(this.#clients.values(), query);
  }

  /** The current `$SYS/broker/...` values by topic (whether or not `$SYS` publishing is on). */
  sysValues(): Map<string, string> {
    return this.#sys.snapshot();
  }

  /** Messages in flight to clients across all sessions. */
  get inflightCount(): number {
    let n = 0;
    for (const s of this.#sessions.values()) n += s.inflight.size;
    return n;
  }

  // ---- BrokerCore (used by clients; not part of the embedding API) --------------------------------------

  /** @internal */
  connectedCount(): number {
    return this.#clients.size;
  }

  /** @internal A client id used by no current session [MQTT-3.2.2-16]. */
  generateClientId(): string {
    const bytes = crypto.getRandomValues(new Uint8Array(8));
    let id = "auto-";
    for (const b of bytes) id += b.toString(16).padStart(2, "0");
    return this.#sessions.has(id) || this.#clients.has(id) ? this.generateClientId() : id;
  }

  /** @internal Take over a connected client with the same id [MQTT-3.1.4-2], then resume or start the session. */
  establish(client: Client, clean: boolean, expiryInterval: number): { session: Session; present: boolean } {
    const id = client.id;
    const now = this.clock.now();
    const old = this.#clients.get(id);
    if (old !== undefined && old !== client) {
      const oldSession = old.session;
      old.session = undefined;
      const oldWill = old.will;
      old.will = undefined;
      if (oldWill !== undefined) {
        // The old connection ends without DISCONNECT, so its will is due [MQTT-3.1.2-8]; a v5 will with a delay is
        // not sent when the new connection resumes the session within it [MQTT-3.1.3-9] (5.0), and is sent at once
        // when Clean Start ends that session.
        const delay = (oldWill.properties as WillProperties | undefined)?.willDelayInterval ?? 0;
        if (delay === 0 || clean) this.publishWill(old, oldWill);
      }
      this.#clients.delete(id);
      this.stats.clientsConnected--;
      oldSession?.detach(now);
      this.logger.info("session taken over", { clientId: id, remote: old.remoteAddress });
      // v5: DISCONNECT 0x8E to the existing client, then close it [MQTT-3.1.4-3] (5.0).
      if (old.protocolVersion === 5) old.sendPacket({ type: "disconnect", reasonCode: 0x8e });
      old.close(false, new Error("session taken over"));
    }
    const pendingWill = this.#pendingWills.get(id);
    if (pendingWill !== undefined) {
      this.#deletePendingWill(id);
      // A reconnect within the Will Delay Interval cancels the will [MQTT-3.1.3-9] (5.0); a clean start ends
      // the old session, and a will is sent when its session ends [MQTT-3.1.2-8] (5.0).
      if (clean) this.publishWill(pendingWill.info, pendingWill.will);
    }
    let session = this.#sessions.get(id);
    const handed = this.#handed.get(id);
    if (handed !== undefined) {
      // A session another node held moves here with its subscriptions and messages.
      this.#handed.delete(id);
      if (session === undefined && !clean) session = this.#adopt(id, handed);
    }
    if (session !== undefined && clean) {
      // Clean Session / Clean Start discards any earlier session [MQTT-3.1.2-6] (3.1.1) [MQTT-3.1.2-4] (5.0).
      this.#endSession(session);
      session = undefined;
    }
    let present = false;
    if (session === undefined) {
      session = new Session(id, expiryInterval, this.#sessionContext);
      this.#sessions.set(id, session);
      this.hooks.notify("onSessionCreated", id);
    } else {
      // Resume the stored session [MQTT-3.1.2-4]; Session Present = 1 [MQTT-3.2.2-2].
      present = true;
    }
    session.expiryInterval = expiryInterval;
    if (expiryInterval > 0) this.#persistentSessions.add(session);
    else this.#persistentSessions.delete(session);
    session.owner = client;
    session.disconnectedAt = undefined;
    this.#saveSession(session);
    this.#clients.set(id, client);
    const stats = this.stats;
    if (++stats.clientsConnected > stats.clientsMaximum) stats.clientsMaximum = stats.clientsConnected;
    return { session, present };
  }

  /** @internal */
  admitsPersistentSession(client: ClientInfo, clean: boolean, expiryInterval: number): boolean {
    const max = this.limits.maxPersistentSessions;
    if (max === 0 || expiryInterval === 0 || this.#persistentSessions.size < max) return true;
    const existing = this.#sessions.get(client.id);
    if (!clean && existing !== undefined && this.#persistentSessions.has(existing)) return true;
    this.limitHits.hit("maxPersistentSessions", { clientId: client.id, max });
    return false;
  }

  /** @internal */
  foreignSession(client: ClientInfo): boolean {
    if (this.#allowCrossUserTakeover) return false;
    const live = this.#clients.get(client.id);
    if (live !== undefined && live !== client && live.username !== client.username) return true;
    const owner = this.#sessions.get(client.id)?.owner;
    return owner !== undefined && owner.username !== client.username;
  }

  // ---- ClusterNode (used by the cluster bus; not part of the embedding API) ----------------------------

  /** @internal A message from another node: local subscribers only. */
  routeRemote(message: Message): void {
    this.route(message, undefined, true);
  }

  /** @internal A message for `$share/{group}/{filter}` that the cluster gave this node: one local member. */
  routeShared(group: string, filter: string, message: Message): void {
    const sub = this.#shared.member(group, filter);
    if (sub !== undefined) this.#deliverShared(sub, message, this.hooks.has("onAclCheck"), undefined);
  }

  /** One shared-subscription member's copy: its own QoS, retain and identifier, ACL-checked when hooks ask. */
  #deliverShared(
    sub: Subscription,
    message: Message,
    checkRead: boolean,
    forms: PublishForms | undefined,
  ): void {
    const delivery: Delivery = {
      message,
      qos: (message.qos < sub.qos ? message.qos : sub.qos) as QoS,
      retain: message.retain && sub.retainAsPublished,
      subscriptionIds: sub.identifier === undefined ? undefined : [sub.identifier],
    };
    const owner = sub.session.owner;
    if (checkRead && owner !== undefined) this.#deliverChecked(sub.session, owner, delivery, forms);
    else sub.session.deliver(delivery, forms);
  }

  /**
   * @internal Cut off from the cluster (the bus decides when): every client is disconnected so that it reconnects
   * to a node the cluster still hears, v5 with DISCONNECT 0x9C (Use another server). Wills are not published
   * here: a surviving node publishes each once when it takes this node for dead. Sessions stay.
   */
  fence(): number {
    const clients = [...this.#clients.values()];
    for (const client of clients) {
      client.will = undefined;
      if (client.protocolVersion === 5) client.sendPacket({ type: "disconnect", reasonCode: 0x9c });
      client.close(false, new Error("cut off from the cluster"));
    }
    return clients.length;
  }

  /** @internal A retained message set or cleared on another node. */
  retainedRemote(message: Message): void {
    if (this.capabilities.retainAvailable) this.#retain(message, true);
  }

  /**
   * @internal Another node takes the client over [MQTT-3.1.4-2]: its connection here ends (v5 DISCONNECT 0x8E
   * [MQTT-3.1.4-3]) and the session leaves this node with its subscriptions and messages.
   */
  handOver(clientId: string): HandedSession | undefined {
    const client = this.#clients.get(clientId);
    if (client !== undefined) {
      const session = client.session;
      client.session = undefined;
      const will = client.will;
      client.will = undefined;
      this.#clients.delete(clientId);
      this.stats.clientsConnected--;
      session?.detach(this.clock.now());
      // The connection ends without DISCONNECT: its will is due unless it waits for a delay that the resumed
      // session cancels [MQTT-3.1.2-8] [MQTT-3.1.3-9] (5.0).
      const delay = (will?.properties as WillProperties | undefined)?.willDelayInterval ?? 0;
      if (will !== undefined && delay === 0) this.publishWill(client, will);
      this.logger.info("session taken over by another node", { clientId, remote: client.remoteAddress });
      if (client.protocolVersion === 5) client.sendPacket({ type: "disconnect", reasonCode: 0x8e });
      client.close(false, new Error("session taken over by another node"));
    }
    this.#deletePendingWill(clientId);
    const session = this.#sessions.get(clientId);
    if (session === undefined) return undefined;
    const handed: HandedSession = {
      expiryInterval: session.expiryInterval,
      subscriptions: storedSubscriptions(session),
      inflight: [...session.inflight.values()],
      queued: session.queuedDeliveries(),
    };
    this.#endSession(session, true);
    return handed;
  }

  /** @internal Route to every matching session, once per session at the highest granted QoS [MQTT-3.3.5-1]. */
  route(message: Message, publisher: ClientInfo | undefined, remote = false): number {
    if (message.retain && this.capabilities.retainAvailable) this.#retain(message, remote);
    // Other nodes get the message once, encoded by the bus; one that came from them is never sent back.
    const bus = this.#bus;
    if (bus !== undefined && !remote) {
      const stored = bus.forward(message);
      if (stored !== undefined) {
        const earlier = this.#clusterStored;
        this.#clusterStored = earlier === undefined ? stored : Promise.all([earlier, stored]).then(() => {});
      }
    }
    const seq = ++this.#routeSeq;
    const hits: Session[] = [];
    this.#index.match(message.topic, (_clientId, sub) => {
      const s = sub.session;
      // v5 No Local: not back to the publisher's own subscription [MQTT-3.8.3-3] (5.0).
      if (sub.noLocal && s.clientId === message.origin) return;
      if (s.routeSeq !== seq) {
        s.routeSeq = seq;
        s.routeQos = sub.qos;
        s.routeRetain = sub.retainAsPublished;
        s.routeSubIds = sub.identifier === undefined ? undefined : [sub.identifier];
        hits.push(s);
      } else {
        if (sub.qos > s.routeQos) s.routeQos = sub.qos;
        if (sub.retainAsPublished) s.routeRetain = true;
        // Every matching subscription's identifier goes with the one delivery [MQTT-3.3.4-3] (5.0).
        if (sub.identifier !== undefined) (s.routeSubIds ??= []).push(sub.identifier);
      }
    });
    let deliveries = hits.length;
    // In a cluster, shared groups span nodes: the bus delivers each message to one member (routeShared).
    const sharedHere = this.#shared.size > 0 && bus === undefined;
    if (deliveries === 0 && !sharedHere) {
      this.hooks.notify("onPublished", publisher, message, 0);
      return 0;
    }
    const forms = new PublishForms(message, this.#now);
    const checkRead = this.hooks.has("onAclCheck");
    for (const s of hits) {
      // Deliver at the lower of published and granted QoS [MQTT-3.8.4-6]; the retain flag is cleared on
      // established subscriptions [MQTT-3.3.1-9] unless v5 Retain As Published keeps it [MQTT-3.3.1-12]
      // [MQTT-3.3.1-13] (5.0).
      const delivery: Delivery = {
        message,
        qos: (message.qos < s.routeQos ? message.qos : s.routeQos) as QoS,
        retain: message.retain && s.routeRetain,
        subscriptionIds: s.routeSubIds,
      };
      if (checkRead && s.owner !== undefined) this.#deliverChecked(s, s.owner, delivery, forms);
      else s.deliver(delivery, forms);
    }
    if (sharedHere) {
      // Each shared group sends the message to one member [MQTT-4.8.2-2] (5.0).
      this.#shared.match(message.topic, (sub) => {
        deliveries++;
        this.#deliverShared(sub, message, checkRead, forms);
      });
    }
    this.hooks.notify("onPublished", publisher, message, deliveries);
    return deliveries;
  }

  /** @internal */
  subscribe(session: Session, request: SubscriptionRequest, granted: QoS, identifier?: number): boolean {
    const filter = request.topicFilter;
    const sub: Subscription = {
      session,
      filter,
      qos: granted,
      noLocal: request.noLocal ?? false,
      retainAsPublished: request.retainAsPublished ?? false,
      retainHandling: request.retainHandling ?? 0,
      identifier,
    };
    const isNew = !session.subscriptions.has(filter);
    // An identical filter replaces the existing subscription [MQTT-3.8.4-3].
    session.setSubscription(filter, sub);
    if (isNew) this.#addIndex(filter, session.clientId, sub);
    else {
      const shared = parseSharedFilter(filter);
      if (shared !== undefined) this.#shared.add(shared.group, shared.filter, sub);
      else this.#index.add(filter, session.clientId, sub);
    }
    return isNew;
  }

  /** @internal */
  saveSession(session: Session): void {
    this.#saveSession(session);
  }

  /** @internal */
  unsubscribe(session: Session, filter: string): boolean {
    const sub = session.subscriptions.get(filter);
    if (sub === undefined) return false;
    session.deleteSubscription(filter);
    this.#unindex(sub);
    this.#saveSession(session);
    return true;
  }

  /** @internal Retained messages go out with RETAIN=1 [MQTT-3.3.1-8], at most at the granted QoS. */
  sendRetained(
    session: Session,
    info: ClientInfo,
    request: SubscriptionRequest,
    granted: QoS,
    identifier?: number,
  ): void {
    const checkRead = this.hooks.has("onAclCheck");
    const now = this.clock.now();
    const expired: string[] = [];
    this.#retained.match(request.topicFilter, (topic, message) => {
      // A full queue takes no more: stop rather than drop the rest one by one.
      if (session.full) return false;
      if (isExpired(message, now)) {
        expired.push(topic);
        return;
      }
      const delivery: Delivery = {
        message,
        qos: (message.qos < granted ? message.qos : granted) as QoS,
        retain: true,
        subscriptionIds: identifier === undefined ? undefined : [identifier],
      };
      if (checkRead) this.#deliverChecked(session, info, delivery, undefined);
      else session.deliver(delivery);
    });
    for (const topic of expired) this.#retainedDelete(topic);
  }

  /** @internal */
  clientClosed(client: Client, graceful: boolean, error: Error | undefined): void {
    this.#connections.delete(client);
    const now = this.clock.now();
    const wasConnected = client.connectedAt > 0;
    if (this.#clients.get(client.id) === client) {
      this.#clients.delete(client.id);
      this.stats.clientsConnected--;
    }
    const session = client.session;
    client.session = undefined;
    let sessionEnded = false;
    if (session !== undefined) {
      // The session lasts as long as its expiry interval says [MQTT-3.1.2-23] (5.0); 0 ends it now.
      if (session.expiryInterval === 0) {
        this.#endSession(session);
        sessionEnded = true;
      } else {
        session.detach(now);
        // Keep a small snapshot of the owner (for offline ACL checks and ownership), not the Client with its
        // decoder buffer and alias maps.
        session.owner = storedClientInfo(client);
        this.#saveSession(session);
      }
    }
    const will = client.will;
    client.will = undefined;
    // The will goes out when the connection ends without DISCONNECT [MQTT-3.1.2-8], once [MQTT-3.1.2-10];
    // v5 waits for the Will Delay Interval unless the session ends first [MQTT-3.1.2-8] (5.0).
    if (!graceful && will !== undefined) {
      const delay = (will.properties as WillProperties | undefined)?.willDelayInterval ?? 0;
      if (delay > 0 && !sessionEnded && session !== undefined) {
        const seconds = Math.min(delay, session.expiryInterval);
        this.#setPendingWill(client.id, { will, info: storedClientInfo(client), at: now + seconds * 1000 });
      } else this.publishWill(client, will);
    }
    // The cluster's copy of the will goes unless a delayed will still waits here.
    if (this.#bus !== undefined && this.#pendingWills.get(client.id)?.info !== client) {
      this.#bus.will(client, undefined);
    }
    if (wasConnected) {
      this.logger.info("client disconnected", {
        clientId: client.id,
        remote: client.remoteAddress,
        graceful,
        reason: error?.message,
      });
      this.hooks.notify("onDisconnected", client, { graceful, error });
    }
  }

  /** @internal A will passes the same ACL and publish hooks as a client's PUBLISH. */
  publishWill(info: ClientInfo, will: Message): void {
    if (will.topic.startsWith("$SYS")) return;
    const { willDelayInterval: _delay, ...properties } = (will.properties ?? {}) as WillProperties;
    const message: Message = {
      ...will,
      properties: will.properties === undefined ? undefined : properties,
      receivedAt: this.clock.now(),
    };
    const go = (allowed: boolean): void => {
      if (!allowed) {
        this.stats.dropped["not-authorized"]++;
        return;
      }
      const send = (m: Message | null): void => {
        if (m === null) return;
        this.route(m, info);
        this.hooks.notify("onWillSent", info.id, m);
      };
      let transformed: Message | null | Promise<Message | null>;
      try {
        transformed = this.hooks.publish(info, message);
      } catch (err) {
        // Refused by onPublish, or a hook fault (the chain logged it): the will is dropped.
        this.logger.warn("will refused", { clientId: info.id, error: errorText(err) });
        return;
      }
      if (isPromise(transformed)) {
        transformed.then(
          send,
          (err) => this.logger.warn("will refused", { clientId: info.id, error: errorText(err) }),
        );
      } else send(transformed);
    };
    const allowed = this.hooks.aclCheck(info, will.topic, "write");
    if (isPromise(allowed)) {
      allowed.then(go, (err) => this.logger.warn("will ACL check failed", { error: err }));
    } else go(allowed);
  }

  /** @internal Publish a $SYS value as a retained QoS 0 message, bypassing hooks. */
  publishSys(topic: string, value: string): void {
    // Runs from the $SYS timer: a failure is logged, never thrown into the event loop.
    try {
      this.route(
        { topic, payload: encoder.encode(value), qos: 0, retain: true, receivedAt: this.clock.now() },
        undefined,
      );
    } catch (err) {
      this.logger.error("$SYS publication failed", { topic, error: errorText(err) });
    }
  }

  // ---- private -----------------------------------------------------------------------------------------

  #hookContext(): HookContext {
    return {
      logger: this.logger,
      clock: this.clock,
      disconnectClient: (id, reasonCode) => this.disconnectClient(id, reasonCode),
    };
  }

  #start(): void {
    if (this.#state !== "idle") return;
    this.#state = "running";
    const bus = this.#bus;
    if (bus !== undefined) {
      // Last in the chain, so that every other hook's onConnect (which may refuse the client) runs before this
      // node takes the client id over from another.
      this.hooks.add(new ClusterHook(bus, (id, handed) => this.#handed.set(id, handed)));
    }
    this.#hooksReady = (async () => {
      for (const hook of this.hooks.hooks) {
        try {
          await hook.init?.(this.#hookContext());
        } catch (err) {
          this.#hookInitFailed(hook, err);
          throw err;
        }
      }
    })();
    // listen() awaits it and rejects; when a connection started the broker first, nothing else may wait on it.
    this.#hooksReady.catch(() => {});
    this.#sweepTimer = this.clock.every(this.#sweepInterval, () => {
      // Housekeeping runs from a timer: whatever fails in it is logged, never thrown into the event loop.
      try {
        this.#sweep();
      } catch (err) {
        this.logger.error("housekeeping failed", { error: errorText(err) });
      }
    });
    this.#sys.start();
  }

  #hookInitFailed(hook: Hook, err: unknown): void {
    this.hooks.failed(hook, "init", err);
    this.hooks.notify("onError", undefined, err instanceof Error ? err : new Error(String(err)));
  }

  /** Housekeeping: keep-alive and connect timeouts, delayed wills, expired sessions. */
  #sweep(): void {
    const now = this.clock.now();
    for (const client of this.#connections) client.sweep(now);
    for (const [id, pending] of this.#pendingWills) {
      if (pending.at > now) continue;
      this.#deletePendingWill(id);
      this.publishWill(pending.info, pending.will);
    }
    for (const session of this.#sessions.values()) {
      const at = session.expiresAt;
      if (at === undefined || at > now) continue;
      const pending = this.#pendingWills.get(session.clientId);
      if (pending !== undefined) {
        // The session ends before the will delay: the will goes now [MQTT-3.1.2-8] (5.0).
        this.#deletePendingWill(session.clientId);
        this.publishWill(pending.info, pending.will);
      }
      this.logger.debug("session expired", { clientId: session.clientId });
      this.#endSession(session);
    }
  }

  async #startListener(listener: Listener): Promise<void> {
    await listener.listen(this.accept);
    this.logger.info("listening", {
      id: listener.id,
      protocol: listener.protocol,
      address: listener.address,
    });
  }

  #deliverChecked(
    session: Session,
    info: ClientInfo,
    delivery: Delivery,
    forms: PublishForms | undefined,
  ): void {
    const allowed = this.hooks.aclCheck(info, delivery.message.topic, "read");
    if (allowed === true) session.deliver(delivery, forms);
    else if (allowed === false) this.stats.dropped["not-authorized"]++;
    else {
      // An asynchronous ACL answer is honoured, though it may reorder this subscriber's messages.
      allowed.then((ok) => {
        if (ok) session.deliver(delivery, forms);
        else this.stats.dropped["not-authorized"]++;
      }, (err) => this.logger.warn("ACL check failed", { error: err }));
    }
  }

  #retain(message: Message, remote = false): void {
    if (!remote && this.#bus !== undefined) this.#bus.retain(message);
    if (message.payload.byteLength === 0) {
      // An empty retained payload clears the topic and is never stored [MQTT-3.3.1-10] [MQTT-3.3.1-11].
      if (this.#retainedDelete(message.topic)) {
        this.#persist({ type: "retainedDelete", topic: message.topic });
        this.hooks.notify("onRetained", message);
      }
      return;
    }
    const refused = this.#retainedRefusal(message);
    if (refused !== undefined) {
      // Past a global bound the message is routed as usual but not kept.
      this.limitHits.hit(refused, {
        topic: message.topic,
        retained: this.#retained.size,
        retainedBytes: this.#retainedBytes,
      });
      return;
    }
    // $SYS values are the broker's own and made afresh at start; every other retained message is kept, other
    // $-topics (an application's $share-free "$app/...") included.
    if (this.#writer !== undefined && !isSysTopic(message.topic)) {
      this.#persist({ type: "retained", message });
    }
    // Stored with its QoS for future subscribers [MQTT-3.3.1-5]; retained messages outlive sessions [MQTT-3.1.2-7].
    this.#retainedSet(message);
    this.hooks.notify("onRetained", message);
  }

  // ---- bridges (src/bridge/) --------------------------------------------------------------------------

  /**
   * @internal Write `op` behind, as the broker's own records are: a QoS 1/2 acknowledgement that follows in the
   * same turn waits until it is durable. False when the broker has no storage.
   */
  persistOp(op: StorageOp): boolean {
    if (this.#writer === undefined) return false;
    this.#persist(op);
    return true;
  }

  /** @internal The queue of `bridge` that restore() loaded (empty without storage); handed out once. */
  takeStoredBridgeQueue(bridge: string): StoredQueued[] {
    const i = this.#storedBridges.findIndex((b) => b.bridge === bridge);
    if (i < 0) return [];
    return this.#storedBridges.splice(i, 1)[0].queued;
  }

  /** The bound a new retained message would pass, if any. */
  #retainedRefusal(message: Message): "maxRetainedMessages" | "maxRetainedBytes" | undefined {
    const { maxRetainedMessages, maxRetainedBytes } = this.limits;
    const old = this.#retained.get(message.topic);
    if (maxRetainedMessages > 0 && old === undefined && this.#retained.size >= maxRetainedMessages) {
      return "maxRetainedMessages";
    }
    if (maxRetainedBytes > 0) {
      const after = this.#retainedBytes + retainedSize(message) - (old === undefined ? 0 : retainedSize(old));
      if (after > maxRetainedBytes) return "maxRetainedBytes";
    }
    return undefined;
  }

  #retainedSet(message: Message): void {
    const old = this.#retained.get(message.topic);
    if (old !== undefined) this.#retainedBytes -= retainedSize(old);
    this.#retained.set(message.topic, message);
    this.#retainedBytes += retainedSize(message);
  }

  #retainedDelete(topic: string): boolean {
    const old = this.#retained.get(topic);
    if (old === undefined) return false;
    this.#retained.delete(topic);
    this.#retainedBytes -= retainedSize(old);
    return true;
  }

  #persist(op: StorageOp): void {
    if (this.#writer === undefined) return;
    this.#dirty = true;
    this.#writer.push(op);
  }

  /** Write a persistent session's record (subscriptions, expiry, when it went offline). */
  #saveSession(session: Session): void {
    if (this.#bus !== undefined) this.#clusterRecord(session);
    if (this.#writer === undefined) return;
    if (!session.persistent) {
      // It used to outlive its connection and no longer does: its record goes.
      if (session.stored) {
        session.stored = false;
        this.#persist({ type: "sessionDelete", clientId: session.clientId });
      }
      return;
    }
    session.stored = true;
    const owner = session.owner;
    const record: StoredSession = {
      clientId: session.clientId,
      expiryInterval: session.expiryInterval,
      disconnectedAt: session.disconnectedAt,
      owner: owner === undefined ? undefined : storedClientInfo(owner),
      subscriptions: storedSubscriptions(session),
    };
    this.#persist({ type: "session", session: record });
  }

  #setPendingWill(clientId: string, pending: { will: Message; info: ClientInfo; at: number }): void {
    this.#pendingWills.set(clientId, pending);
    this.#persist({
      type: "will",
      will: { clientId, will: pending.will, at: pending.at, info: storedClientInfo(pending.info) },
    });
  }

  #deletePendingWill(clientId: string): void {
    const pending = this.#pendingWills.get(clientId);
    if (pending === undefined) return;
    this.#pendingWills.delete(clientId);
    this.#persist({ type: "willDelete", clientId });
    this.#bus?.will(pending.info, undefined);
  }

  /** Tell the cluster what any node needs to resume the session: its subscriptions and expiry. */
  #clusterRecord(session: Session): void {
    this.#bus!.sessionChanged(session.clientId, {
      clientId: session.clientId,
      expiryInterval: session.expiryInterval,
      disconnectedAt: session.disconnectedAt,
      subscriptions: storedSubscriptions(session),
    });
  }

  #unindex(sub: Subscription): void {
    const shared = parseSharedFilter(sub.filter);
    if (shared !== undefined) {
      this.#shared.remove(shared.group, shared.filter, sub);
      this.#bus?.sharedInterest(shared.group, shared.filter, -1);
    } else {
      this.#index.remove(sub.filter, sub.session.clientId);
      this.#bus?.interest(sub.filter, -1);
    }
  }

  /** Index a subscription that the session did not hold yet, and tell the cluster of the new interest. */
  #addIndex(filter: string, clientId: string, sub: Subscription): void {
    const shared = parseSharedFilter(filter);
    if (shared !== undefined) {
      this.#shared.add(shared.group, shared.filter, sub);
      this.#bus?.sharedInterest(shared.group, shared.filter, 1);
    } else {
      this.#index.add(filter, clientId, sub);
      this.#bus?.interest(filter, 1);
    }
  }

  /** A session handed over by another node, rebuilt here (offline until the connection attaches). */
  #adopt(id: string, handed: HandedSession): Session {
    const session = new Session(id, handed.expiryInterval, this.#sessionContext);
    this.#sessions.set(id, session);
    for (const sub of handed.subscriptions) {
      const item: Subscription = { session, ...sub };
      session.setSubscription(sub.filter, item);
      this.#addIndex(sub.filter, id, item);
    }
    const inflight: InflightMessage[] = [];
    for (const e of handed.inflight) {
      if (e.packetId === undefined || e.qos === 0) continue;
      inflight.push({ ...e, qos: e.qos, packetId: e.packetId, state: e.state ?? "publish" });
    }
    // From here the index routes to the session: the bus stops catching messages for it (worker takeovers).
    this.#bus?.adopted?.(id);
    const queued = handed.queued.map((d, seq) => ({ ...d, seq }));
    session.restore(inflight, queued, []);
    if (session.persistent) {
      // Kept here from now on (with a cluster: in this node's session store, for a survivor if this node dies).
      for (const entry of inflight) this.#persist({ type: "inflight", clientId: id, entry });
      for (const entry of queued) if (entry.qos > 0) this.#persist({ type: "queued", clientId: id, entry });
    }
    return session;
  }

  /** End a session; `handedOver` when another node carries it on (its cluster record stays). */
  #endSession(session: Session, handedOver = false): void {
    this.#persistentSessions.delete(session);
    for (const sub of session.subscriptions.values()) this.#unindex(sub);
    session.clearSubscriptions();
    session.clear();
    this.#sessions.delete(session.clientId);
    if (session.stored) this.#persist({ type: "sessionDelete", clientId: session.clientId });
    if (handedOver) return;
    this.#bus?.sessionChanged(session.clientId, undefined);
    this.hooks.notify("onSessionExpired", session.clientId);
  }
}

/**
 * The broker's storage: its own, or in a cluster the bus's session store. Both at once would keep a session in
 * two places that disagree once it moves to another node, so that is refused.
 */
function clusterStorage(options: BrokerOptions): Storage | undefined {
  const store = options.cluster?.sessionStore;
  if (store === undefined) return options.storage;
  if (options.storage !== undefined) {
    throw new TypeError(
      `Cannot use ${options.storage.name} storage in a cluster: the cluster keeps sessions, their queues and ` +
        "retained messages in JetStream; remove the storage option",
    );
  }
  return store;
}

/** A session's subscriptions with their options, as stored and as handed to another node. */
function storedSubscriptions(session: Session): StoredSubscription[] {
  return [...session.subscriptions.values()].map((sub) => ({
    filter: sub.filter,
    qos: sub.qos,
    noLocal: sub.noLocal,
    retainAsPublished: sub.retainAsPublished,
    retainHandling: sub.retainHandling,
    identifier: sub.identifier,
  }));
}

/** What a retained message counts toward maxRetainedBytes: its topic and payload. */
function retainedSize(message: Message): number {
  return message.topic.length + message.payload.byteLength;
}

/** An error's message, for logs. */
function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** `$SYS` itself or a topic under it (not `$SYSTEM/...`). */
function isSysTopic(topic: string): boolean {
  return topic.startsWith("$SYS") && (topic.length === 4 || topic.charCodeAt(4) === 47);
}
