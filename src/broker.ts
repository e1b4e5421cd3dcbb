/**
 * The Broker: listeners, clients, sessions, the subscription index, retained messages and hooks.
 * @module
 */

import { Client } from "./client/client.ts";
import type { BrokerCore } from "./client/broker_core.ts";
import { type Clock, systemClock, type TimerHandle } from "./clock.ts";
import type { ClientInfo, DropReason, Hook } from "./hooks/hook.ts";
import { HookChain, isPromise } from "./hooks/hook_chain.ts";
import { type Logger, silentLogger } from "./logger.ts";
import type { Message } from "./message.ts";
import { type BrokerOptions, type Limits, resolveLimits } from "./options.ts";
import type { PublishProperties, QoS, SubscriptionRequest } from "./packets/types.ts";
import { PublishForms } from "./session/publish_forms.ts";
import { Session, type SessionContext } from "./session/session.ts";
import type { Subscription } from "./session/subscription.ts";
import { BrokerStats } from "./sys/stats.ts";
import { SysPublisher } from "./sys/sys_publisher.ts";
import { RetainedStore } from "./topics/retained_store.ts";
import { SubscriptionIndex } from "./topics/subscription_index.ts";
import { checkTopicName } from "./topics/topic_rules.ts";
import type { Accept, AcceptInfo, Connection, ConnectionHandler, Listener } from "./transport/connection.ts";

/** Options of {@link Broker.publish}. */
export interface PublishOptions {
  qos?: QoS;
  retain?: boolean;
  /** MQTT 5 properties, delivered to v5 subscribers. */
  properties?: PublishProperties;
}

const encoder = new TextEncoder();
const NOOP_HANDLER: ConnectionHandler = { data() {}, drain() {}, closed() {} };

/**
 * An MQTT broker. Give it listeners (from an adapter) and hooks, then `listen()`.
 *
 * @example Embedding
 * ```ts
 * import { AllowHook, Broker } from "@comqtt/broker";
 * import { createTcpListener } from "@comqtt/broker/adapters";
 * const broker = new Broker({ hooks: [new AllowHook()] });
 * broker.addListener(await createTcpListener({ port: 1883 }));
 * await broker.listen();
 * await broker.publish("greetings", "hello", { qos: 1, retain: true });
 * await broker.close();
 * ```
 */
export class Broker implements BrokerCore {
  readonly logger: Logger;
  readonly clock: Clock;
  readonly hooks: HookChain;
  readonly limits: Limits;
  readonly stats: BrokerStats;
  readonly version: string;

  #listeners: Listener[] = [];
  #connections = new Set<Client>();
  #clients = new Map<string, Client>();
  #sessions = new Map<string, Session>();
  #index = new SubscriptionIndex<Subscription>();
  #retained = new RetainedStore<Message>();
  #routeSeq = 0;
  #sweepInterval: number;
  #sweepTimer: TimerHandle | undefined;
  #sys: SysPublisher;
  #state: "idle" | "running" | "closing" | "closed" = "idle";
  #hooksReady: Promise<void> | undefined;
  #sessionContext: SessionContext;

  constructor(options: BrokerOptions = {}) {
    this.logger = options.logger ?? silentLogger;
    this.clock = options.clock ?? systemClock;
    this.limits = resolveLimits(options.limits);
    this.stats = new BrokerStats(this.clock.now());
    this.version = options.version ?? "0.1.0";
    this.hooks = new HookChain(this.logger);
    for (const hook of options.hooks ?? []) this.hooks.add(hook);
    this.#sweepInterval = options.sweepInterval ?? 1000;
    this.#sys = new SysPublisher(this, options.sysInterval ?? 10);
    const stats = this.stats;
    const hooks = this.hooks;
    this.#sessionContext = {
      maxInflight: this.limits.maxInflight,
      maxQueuedMessages: this.limits.maxQueuedMessages,
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
      this.#hooksReady = this.#hooksReady.then(() => hook.init?.({ logger: this.logger }));
    }
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

  /** Connected clients. */
  connectedClients(): IterableIterator<Client> {
    return this.#clients.values();
  }

  /** A connected client by id. */
  getClient(clientId: string): Client | undefined {
    return this.#clients.get(clientId);
  }

  /** A session (connected or not) by client id. */
  getSession(clientId: string): Session | undefined {
    return this.#sessions.get(clientId);
  }

  /** Number of sessions, connected or not. */
  get sessionCount(): number {
    return this.#sessions.size;
  }

  /** Number of subscriptions across all sessions. */
  get subscriptionCount(): number {
    return this.#index.size;
  }

  /** Number of retained messages. */
  get retainedCount(): number {
    return this.#retained.size;
  }

  /** The retained message of a topic. */
  getRetained(topic: string): Message | undefined {
    return this.#retained.get(topic);
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

  /** @internal */
  generateClientId(): string {
    const bytes = crypto.getRandomValues(new Uint8Array(8));
    let id = "auto-";
    for (const b of bytes) id += b.toString(16).padStart(2, "0");
    return this.#sessions.has(id) ? this.generateClientId() : id;
  }

  /** @internal Take over a connected client with the same id [MQTT-3.1.4-2], then resume or start the session. */
  establish(client: Client, clean: boolean): { session: Session; present: boolean } {
    const id = client.id;
    const old = this.#clients.get(id);
    if (old !== undefined && old !== client) {
      const oldSession = old.session;
      old.session = undefined;
      this.#clients.delete(id);
      this.stats.clientsConnected--;
      oldSession?.detach(this.clock.now());
      this.logger.info("session taken over", { clientId: id, remote: old.remoteAddress });
      if (old.protocolVersion === 5) old.sendPacket({ type: "disconnect", reasonCode: 0x8e });
      old.close(false, new Error("session taken over"));
    }
    let session = this.#sessions.get(id);
    if (session !== undefined && clean) {
      // Clean Session discards any earlier session [MQTT-3.1.2-6].
      this.#endSession(session);
      session = undefined;
    }
    let present = false;
    if (session === undefined) {
      session = new Session(id, clean, this.#sessionContext);
      this.#sessions.set(id, session);
      this.hooks.notify("onSessionCreated", id);
    } else {
      // Resume the stored session [MQTT-3.1.2-4]; Session Present = 1 [MQTT-3.2.2-2].
      present = true;
    }
    session.clean = clean;
    session.owner = client;
    this.#clients.set(id, client);
    const stats = this.stats;
    if (++stats.clientsConnected > stats.clientsMaximum) stats.clientsMaximum = stats.clientsConnected;
    return { session, present };
  }

  /** @internal Route to every matching session, once per session at the highest granted QoS [MQTT-3.3.5-1]. */
  route(message: Message, publisher: ClientInfo | undefined): number {
    if (message.retain) this.#retain(message);
    const seq = ++this.#routeSeq;
    const hits: Session[] = [];
    this.#index.match(message.topic, (_clientId, sub) => {
      const s = sub.session;
      if (sub.noLocal && s.clientId === message.origin) return;
      if (s.routeSeq !== seq) {
        s.routeSeq = seq;
        s.routeQos = sub.qos;
        s.routeRetain = sub.retainAsPublished;
        hits.push(s);
      } else {
        if (sub.qos > s.routeQos) s.routeQos = sub.qos;
        if (sub.retainAsPublished) s.routeRetain = true;
      }
    });
    if (hits.length > 0) {
      const forms = new PublishForms(message);
      const checkRead = this.hooks.has("onAclCheck");
      for (const s of hits) {
        // Deliver at the lower of published and granted QoS [MQTT-3.8.4-6]; the retain flag is cleared on
        // established subscriptions [MQTT-3.3.1-9] unless v5 Retain As Published asks to keep it.
        const qos = (message.qos < s.routeQos ? message.qos : s.routeQos) as QoS;
        const retain = message.retain && s.routeRetain;
        if (checkRead && s.owner !== undefined) this.#deliverChecked(s, s.owner, message, qos, retain, forms);
        else s.deliver(message, qos, retain, forms);
      }
    }
    this.hooks.notify("onPublished", publisher, message, hits.length);
    return hits.length;
  }

  /** @internal */
  subscribe(session: Session, request: SubscriptionRequest, granted: QoS): boolean {
    const filter = request.topicFilter;
    const sub: Subscription = {
      session,
      filter,
      qos: granted,
      noLocal: request.noLocal ?? false,
      retainAsPublished: request.retainAsPublished ?? false,
      retainHandling: request.retainHandling ?? 0,
    };
    const isNew = !session.subscriptions.has(filter);
    // An identical filter replaces the existing subscription [MQTT-3.8.4-3].
    session.subscriptions.set(filter, sub);
    this.#index.add(filter, session.clientId, sub);
    return isNew;
  }

  /** @internal */
  unsubscribe(session: Session, filter: string): boolean {
    if (!session.subscriptions.delete(filter)) return false;
    this.#index.remove(filter, session.clientId);
    return true;
  }

  /** @internal Retained messages go out with RETAIN=1 [MQTT-3.3.1-8], at most at the granted QoS. */
  sendRetained(session: Session, info: ClientInfo, filter: string, granted: QoS): void {
    const checkRead = this.hooks.has("onAclCheck");
    this.#retained.match(filter, (_topic, message) => {
      const qos = (message.qos < granted ? message.qos : granted) as QoS;
      if (checkRead) this.#deliverChecked(session, info, message, qos, true, undefined);
      else session.deliver(message, qos, true);
    });
  }

  /** @internal */
  clientClosed(client: Client, graceful: boolean, error: Error | undefined): void {
    this.#connections.delete(client);
    const wasConnected = client.connectedAt > 0;
    if (this.#clients.get(client.id) === client) {
      this.#clients.delete(client.id);
      this.stats.clientsConnected--;
    }
    const session = client.session;
    client.session = undefined;
    if (session !== undefined) {
      if (session.clean) this.#endSession(session);
      else session.detach(this.clock.now());
    }
    const will = client.will;
    client.will = undefined;
    // The will goes out when the connection ends without DISCONNECT [MQTT-3.1.2-8], once [MQTT-3.1.2-10].
    if (!graceful && will !== undefined) this.publishWill(client, will);
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
      const transformed = this.hooks.publish(info, will);
      if (isPromise(transformed)) {
        transformed.then(send, (err) => this.logger.warn("will refused", { error: err }));
      } else send(transformed);
    };
    const allowed = this.hooks.aclCheck(info, will.topic, "write");
    if (isPromise(allowed)) {
      allowed.then(go, (err) => this.logger.warn("will ACL check failed", { error: err }));
    } else go(allowed);
  }

  /** @internal Publish a $SYS value as a retained QoS 0 message, bypassing hooks. */
  publishSys(topic: string, value: string): void {
    this.route(
      { topic, payload: encoder.encode(value), qos: 0, retain: true, receivedAt: this.clock.now() },
      undefined,
    );
  }

  // ---- private -----------------------------------------------------------------------------------------

  #start(): void {
    if (this.#state !== "idle") return;
    this.#state = "running";
    this.#hooksReady = (async () => {
      for (const hook of this.hooks.hooks) await hook.init?.({ logger: this.logger });
    })();
    this.#sweepTimer = this.clock.every(this.#sweepInterval, () => {
      const now = this.clock.now();
      for (const client of this.#connections) client.sweep(now);
    });
    this.#sys.start();
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
    message: Message,
    qos: QoS,
    retain: boolean,
    forms: PublishForms | undefined,
  ): void {
    const allowed = this.hooks.aclCheck(info, message.topic, "read");
    if (allowed === true) session.deliver(message, qos, retain, forms);
    else if (allowed === false) this.stats.dropped["not-authorized"]++;
    else {
      // An asynchronous ACL answer is honoured, though it may reorder this subscriber's messages.
      allowed.then((ok) => {
        if (ok) session.deliver(message, qos, retain, forms);
        else this.stats.dropped["not-authorized"]++;
      }, (err) => this.logger.warn("ACL check failed", { error: err }));
    }
  }

  #retain(message: Message): void {
    if (message.payload.byteLength === 0) {
      // An empty retained payload clears the topic and is never stored [MQTT-3.3.1-10] [MQTT-3.3.1-11].
      if (this.#retained.delete(message.topic)) this.hooks.notify("onRetained", message);
      return;
    }
    // Stored with its QoS for future subscribers [MQTT-3.3.1-5]; retained messages outlive sessions [MQTT-3.1.2-7].
    this.#retained.set(message.topic, message);
    this.hooks.notify("onRetained", message);
  }

  #endSession(session: Session): void {
    for (const filter of session.subscriptions.keys()) this.#index.remove(filter, session.clientId);
    session.subscriptions.clear();
    session.clear();
    this.#sessions.delete(session.clientId);
    this.hooks.notify("onSessionExpired", session.clientId);
  }
}
