/**
 * An MQTT bridge with store-and-forward: local messages matching `out` go to a remote broker (prefix rewritten),
 * remote messages matching `in` come back into the local broker. It is a {@link Hook}, so the core needs no change.
 * @module
 */

import type { ClientInfo, Hook } from "../hooks/hook.ts";
import type { Message } from "../message.ts";
import { MqttError } from "../errors.ts";
import { RC } from "../packets/reason_codes.ts";
import type { QoS } from "../packets/types.ts";
import type { StorageOp } from "../storage/storage.ts";
import { SubscriptionIndex } from "../topics/subscription_index.ts";
import { backoffDelay, type BackoffOptions, DEFAULT_BACKOFF } from "./backoff.ts";
import type { BridgeConnector, BridgeLink, LinkMessage } from "./bridge_link.ts";
import { BridgeQueue, type BridgeQueueLimits, type QueueEntry, sizeOf } from "./bridge_queue.ts";
import type { BridgeHost } from "./bridge_host.ts";
import { EchoFilter, hasVisited, withVisit } from "./loop_guard.ts";
import { topicMapper, type TopicMapping } from "./topic_mapping.ts";

/** A mapping with its topic rewrite ready. */
interface Route extends TopicMapping {
  map(topic: string): string;
}

function route(m: TopicMapping): Route {
  return { ...m, map: topicMapper(m.from, m.to) };
}

/** Options of a {@link Bridge}. */
export interface BridgeOptions {
  /** Unique name (config key `bridges[].name`): in logs, status, storage keys. */
  name: string;
  /** The local broker the bridge hooks into (normally the {@link Broker} itself). */
  host: BridgeHost;
  /** Opens one connection to the remote broker per attempt (e.g. {@link mqttConnector}). */
  connector: BridgeConnector;
  /** Protocol of the remote connection: 5 uses No Local and a path property; 3/4 an echo filter. */
  protocolVersion: 3 | 4 | 5;
  /** The remote as status shows it (no credentials). */
  remote: string;
  /** Local filters whose messages are forwarded to the remote, with their topic rewrite. */
  out: TopicMapping[];
  /** Remote filters the bridge subscribes to, and how their topics map back to local ones. */
  in: TopicMapping[];
  /** Bounds of the store-and-forward queue and what to do when it is full. */
  queue: BridgeQueueLimits;
  /** Messages sent and not acknowledged at one time. Default 64. */
  inflight?: number;
  /** Reconnect back-off bounds. Default about 0.5 s to 30 s. */
  reconnect?: BackoffOptions;
  /** Identifies this broker in the loop-prevention path of v5 messages. */
  nodeId: string;
  /** Random source in [0, 1) for the back-off jitter; tests pass a seeded one. Default `Math.random`. */
  random?: () => number;
}

/** What the dashboard, `/api/v1` and `/metrics` show of a bridge. */
export interface BridgeStatus {
  /** The bridge's name (`bridges[].name`). */
  name: string;
  /** The remote broker's URL, without credentials. */
  remote: string;
  /** MQTT protocol level of the remote connection (3, 4 or 5). */
  protocolVersion: number;
  /** Whether a connection to the remote is up. */
  connected: boolean;
  /** Messages waiting in the store-and-forward queue. */
  queued: number;
  /** Payload plus topic bytes of the queued messages. */
  queuedBytes: number;
  /** Messages sent to the remote and acknowledged by it. */
  forwardedOut: number;
  /** Messages received from the remote and taken by the local broker. */
  forwardedIn: number;
  /** Queued messages dropped to make room. */
  dropped: number;
  /** Messages not queued (queue full). */
  refused: number;
  /** Queued messages whose Message Expiry Interval ran out before the remote took them. */
  expired: number;
  /** Successful connections to the remote since start. */
  connects: number;
  /** Connection attempts that failed since start. */
  failedAttempts: number;
  /** The last problem: a failed connection attempt, a lost connection or a message the remote refused. */
  lastError?: string;
}

/** The bridge: a hook on the local broker plus one reconnecting link to the remote. */
export class Bridge implements Hook {
  readonly id: string;
  /** The bridge's configured name. */
  readonly name: string;
  #o: BridgeOptions;
  #origin: string;
  #outIndex = new SubscriptionIndex<Route>();
  #inIndex = new SubscriptionIndex<Route>();
  #queue: BridgeQueue | undefined;
  #link: BridgeLink | undefined;
  #inflight = 0;
  #failures = 0;
  #timer: { cancel(): void } | undefined;
  #stopped = true;
  #echo: EchoFilter | undefined;
  #stats = {
    forwardedOut: 0,
    forwardedIn: 0,
    dropped: 0,
    refused: 0,
    expired: 0,
    connects: 0,
    failedAttempts: 0,
  };
  #lastError: string | undefined;
  #lastWarn = new Map<string, { at: number; count: number }>();

  /** A stopped bridge: add it to the broker as a hook, then {@link Bridge.start} connects it. */
  constructor(options: BridgeOptions) {
    this.#o = options;
    this.name = options.name;
    this.id = `bridge:${options.name}`;
    // Messages this bridge brought in carry this origin, so they never go back out over it.
    this.#origin = `$bridge/${options.name}`;
    options.out.forEach((m, i) => this.#outIndex.add(m.from, String(i), route(m)));
    options.in.forEach((m, i) => this.#inIndex.add(m.from, String(i), route(m)));
    if (options.protocolVersion < 5 && options.in.length > 0 && options.out.length > 0) {
      this.#echo = new EchoFilter(10_000, 30_000, () => options.host.clock.now());
    }
    // A hook without onPublish costs the publish path nothing.
    if (options.queue.policy !== "refuse-new" && options.protocolVersion !== 5) this.onPublish = undefined;
  }

  /** Connect (and keep reconnecting) to the remote; loads the stored queue first. */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#ensureQueue();
    void this.#connect();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#timer?.cancel();
    this.#timer = undefined;
    const link = this.#link;
    this.#link = undefined;
    await link?.close().catch(() => {});
  }

  /** Whether a connection to the remote is up. */
  get connected(): boolean {
    return this.#link !== undefined;
  }

  /** Counters and state for the dashboard, `/api/v1` and `/metrics`. */
  status(): BridgeStatus {
    const q = this.#ensureQueue();
    return {
      name: this.name,
      remote: this.#o.remote,
      protocolVersion: this.#o.protocolVersion,
      connected: this.connected,
      queued: q.size,
      queuedBytes: q.bytes,
      ...this.#stats,
      ...(this.#lastError === undefined ? {} : { lastError: this.#lastError }),
    };
  }

  /**
   * A v5 message that already passed this broker (a bridge loop) is dropped. With the `refuse-new` policy, a
   * QoS 1/2 message for this bridge that no longer fits is refused with Quota exceeded (0x97, which PUBACK and
   * PUBREC may carry [MQTT-3.4.2-1] [MQTT-3.5.2-1] (5.0)).
   */
  onPublish?(_client: ClientInfo | undefined, message: Message): Message | null {
    if (this.#o.protocolVersion === 5 && hasVisited(message, this.#o.nodeId)) return null;
    if (message.qos === 0 || message.origin === this.#origin || this.#o.queue.policy !== "refuse-new") {
      return message;
    }
    const queue = this.#ensureQueue();
    let fits = true;
    this.#outIndex.match(message.topic, () => {
      if (!queue.canTake(sizeOf({ topic: message.topic, payload: message.payload }))) fits = false;
    });
    if (!fits) {
      this.#stats.refused++;
      throw new MqttError(RC.quotaExceeded, `Cannot accept the message: bridge ${this.name}'s queue is full`);
    }
    return message;
  }

  /** Queue what matches `out` (synchronously, so the publisher's acknowledgement waits for its storage). */
  onPublished(_client: ClientInfo | undefined, message: Message): void {
    if (message.origin === this.#origin) return;
    if (this.#o.protocolVersion === 5 && hasVisited(message, this.#o.nodeId)) return;
    let rule: Route | undefined;
    this.#outIndex.match(message.topic, (_id, m) => {
      if (rule === undefined || m.qos > rule.qos) rule = m;
    });
    if (rule === undefined) return;
    const qos = Math.min(message.qos, rule.qos) as QoS;
    this.forward(message, rule.map(message.topic), qos);
  }

  /** Queue `message` for the remote under `remoteTopic` (the rule engine's `bridge` action calls this too). */
  forward(message: Message, remoteTopic: string, qos: QoS): boolean {
    if (remoteTopic === "") return false;
    const queue = this.#ensureQueue();
    const properties = this.#o.protocolVersion === 5
      ? withVisit(message.properties, this.#o.nodeId)
      : undefined;
    const stored = {
      topic: remoteTopic,
      payload: message.payload,
      qos,
      retain: message.retain,
      ...(properties === undefined ? {} : { properties }),
      receivedAt: message.receivedAt,
    };
    const result = queue.push(stored, qos, message.retain);
    for (const d of result.dropped) this.#dropped(d);
    if (!result.accepted) {
      this.#stats.refused++;
      this.#warnThrottled("bridge queue full: message not queued", "refused", {
        topic: message.topic,
        qos,
        policy: queue.limits.policy,
      });
      return false;
    }
    const entry = result.entry!;
    if (qos > 0) this.#persist({ type: "bridgeQueued", bridge: this.name, entry: toStored(entry) });
    this.#pump();
    return true;
  }

  #dropped(entry: QueueEntry): void {
    this.#stats.dropped++;
    if (entry.qos > 0) {
      this.#persist({ type: "bridgeQueuedDelete", bridge: this.name, seq: entry.seq });
    }
    this.#warnThrottled("bridge queue full: oldest message dropped", "dropped", {
      topic: entry.message.topic,
      qos: entry.qos,
    });
  }

  /**
   * A warning at most every 10 s per kind, with how many happened since the last one: an outage of hours with a
   * full queue must not write a log line per message.
   */
  #warnThrottled(
    text: string,
    kind: "dropped" | "refused" | "expired",
    fields: Record<string, unknown>,
  ): void {
    const now = this.#o.host.clock.now();
    const last = this.#lastWarn.get(kind);
    const count = this.#stats[kind];
    if (last !== undefined && now - last.at < 10_000) return;
    this.#lastWarn.set(kind, { at: now, count });
    this.#o.host.logger.warn(text, {
      bridge: this.name,
      ...fields,
      ...(last === undefined ? {} : { sinceLastWarning: count - last.count }),
      total: count,
    });
  }

  /** Write behind; after the broker closed its storage a late ack's delete is skipped (at worst a resend). */
  #persist(op: StorageOp): void {
    try {
      this.#o.host.persistOp(op);
    } catch (err) {
      this.#o.host.logger.debug("bridge queue record not written", {
        bridge: this.name,
        error: (err as Error).message,
      });
    }
  }

  #ensureQueue(): BridgeQueue {
    if (this.#queue === undefined) {
      const stored = this.#o.host.takeStoredBridgeQueue(this.name);
      this.#queue = new BridgeQueue(this.#o.queue, stored);
      if (stored.length > 0) {
        this.#o.host.logger.info("bridge queue restored", { bridge: this.name, queued: stored.length });
      }
    }
    return this.#queue;
  }

  async #connect(): Promise<void> {
    this.#timer = undefined;
    if (this.#stopped) return;
    const log = this.#o.host.logger;
    let link: BridgeLink | undefined;
    try {
      link = await this.#o.connector({
        message: (m) => this.#incoming(m),
        closed: (error) => this.#lost(link, error),
      });
      if (this.#o.in.length > 0) {
        await link.subscribe(this.#o.in.map((m) => ({ filter: m.from, qos: m.qos, noLocal: true })));
      }
    } catch (err) {
      // Connected but the subscription was refused: do not leave that connection open.
      await link?.close().catch(() => {});
      this.#failures++;
      this.#stats.failedAttempts++;
      this.#lastError = err instanceof Error ? err.message : String(err);
      const delay = backoffDelay(this.#failures - 1, this.#o.reconnect ?? DEFAULT_BACKOFF, this.#o.random);
      log.warn("bridge cannot connect: retrying", {
        bridge: this.name,
        error: this.#lastError,
        delayMs: delay,
      });
      if (!this.#stopped) this.#timer = this.#o.host.clock.after(delay, () => void this.#connect());
      return;
    }
    if (this.#stopped) {
      await link.close().catch(() => {});
      return;
    }
    this.#failures = 0;
    this.#stats.connects++;
    this.#link = link;
    log.info("bridge connected", { bridge: this.name, remote: this.#o.remote, queued: this.#queue!.size });
    this.#pump();
  }

  #lost(link: BridgeLink | undefined, error?: Error): void {
    if (link === undefined || this.#link !== link) return;
    this.#link = undefined;
    this.#inflight = 0;
    this.#queue!.rewind();
    if (error !== undefined) this.#lastError = error.message;
    this.#o.host.logger.warn("bridge connection lost", { bridge: this.name, error: error?.message });
    if (this.#stopped) return;
    this.#failures = 1;
    const delay = backoffDelay(0, this.#o.reconnect ?? DEFAULT_BACKOFF, this.#o.random);
    this.#timer = this.#o.host.clock.after(delay, () => void this.#connect());
  }

  /** Send queued entries while the link is up and the window has room, in queue order. */
  #pump(): void {
    const link = this.#link;
    const queue = this.#queue;
    if (link === undefined || queue === undefined) return;
    const window = this.#o.inflight ?? 64;
    while (this.#inflight < window) {
      const entry = queue.takeNext();
      if (entry === undefined) return;
      const m = entry.message;
      let properties = m.properties;
      const expiry = properties?.messageExpiryInterval;
      if (expiry !== undefined) {
        // The remote gets what is left of the interval; a message that waited it out is not sent at all
        // [MQTT-3.3.2-5] [MQTT-3.3.2-6] (5.0).
        const left = expiry - Math.floor((this.#o.host.clock.now() - m.receivedAt) / 1000);
        if (left <= 0) {
          this.#remove(entry);
          this.#stats.expired++;
          this.#warnThrottled("bridge message expired before the remote took it", "expired", {
            topic: m.topic,
          });
          continue;
        }
        properties = { ...properties, messageExpiryInterval: left };
      }
      this.#inflight++;
      this.#echo?.sent(m.topic, m.payload);
      link.publish({ topic: m.topic, payload: m.payload, qos: entry.qos, retain: entry.retain, properties })
        .then((code) => {
          if (this.#link !== link) return;
          this.#inflight--;
          if (code >= 0x80) {
            // The remote refused it (not authorized, quota, ...): sending it again would not help.
            if (this.#remove(entry)) this.#stats.dropped++;
            this.#lastError = `the remote refused a message on ${m.topic} with 0x${code.toString(16)}`;
            this.#warnThrottled("bridge message refused by the remote: dropped", "dropped", {
              topic: m.topic,
              reasonCode: code,
            });
          } else if (this.#remove(entry)) {
            this.#stats.forwardedOut++;
          }
          this.#pump();
        }, (err) => {
          // The link went down: the next connection sends it again (rewind).
          if (this.#link !== link) return;
          this.#inflight--;
          this.#lastError = err instanceof Error ? err.message : String(err);
        });
    }
  }

  /** Take an entry out of the queue (and storage); false when it was gone already. */
  #remove(entry: QueueEntry): boolean {
    if (!this.#queue!.ack(entry.seq)) return false;
    if (entry.qos > 0) this.#persist({ type: "bridgeQueuedDelete", bridge: this.name, seq: entry.seq });
    return true;
  }

  /** A message from the remote: map it and publish it locally; resolves once the broker took it. */
  async #incoming(m: LinkMessage): Promise<void> {
    if (this.#echo?.isEcho(m.topic, m.payload)) return;
    if (this.#o.protocolVersion === 5 && hasVisited(m, this.#o.nodeId)) return;
    let rule: Route | undefined;
    this.#inIndex.match(m.topic, (_id, r) => {
      if (rule === undefined || r.qos > rule.qos) rule = r;
    });
    if (rule === undefined) return;
    const host = this.#o.host;
    const message: Message = {
      topic: rule.map(m.topic),
      payload: m.payload,
      qos: Math.min(m.qos, rule.qos) as QoS,
      retain: m.retain,
      properties: m.properties,
      origin: this.#origin,
      receivedAt: host.clock.now(),
    };
    if (message.topic === "") return;
    let transformed: Message | null;
    try {
      transformed = await host.hooks.publish(undefined, message);
    } catch (err) {
      // A hook refused it: acknowledged to the remote and dropped, as a refused client message would be.
      host.logger.warn("bridge message refused by a hook", {
        bridge: this.name,
        topic: message.topic,
        error: err instanceof Error ? err.message : String(err),
      });
      return;
    }
    if (transformed === null) return;
    host.route(transformed, undefined);
    this.#stats.forwardedIn++;
    await host.durability();
  }
}

function toStored(e: QueueEntry) {
  return { seq: e.seq, message: e.message, qos: e.qos, retain: e.retain };
}
