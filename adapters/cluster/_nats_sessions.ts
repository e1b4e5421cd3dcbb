/**
 * Session ownership over NATS. One KV entry per client id says which node (boot) owns it and what any node
 * needs to resume it (expiry, subscriptions); every write checks the revision it read, so two nodes racing for
 * one client id cannot both win. The owner keeps the session's queue in memory; a node that takes the client
 * over asks the owner (`{prefix}.take.{boot}`), which closes its connection (0x8E) and replies with the session,
 * its inflight and queued messages. When the owner is gone (no responders), the KV record alone resumes the
 * session: subscriptions come back, the messages the dead node held do not.
 * @module
 */

import type { KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "../../src/logger.ts";
import type { Message } from "../../src/message.ts";
import type {
  ClusterNode,
  ClusterSessionRecord,
  HandedDelivery,
  HandedSession,
} from "../../src/cluster/cluster_bus.ts";
import { kvKey } from "../../src/cluster/subjects.ts";
import { topicMatches } from "../../src/topics/topic_rules.ts";
import type { StoredSubscription } from "../../src/storage/storage.ts";
import { decodeHanded, encodeHanded } from "../../src/cluster/handed_codec.ts";
import { capturedDelivery, queueWithCaptured } from "../../src/cluster/captured.ts";
import { withTimeout } from "./_kv_writer.ts";
import type { NatsQueues } from "./_nats_queues.ts";

/** The KV value of a client id. */
export interface OwnerRecord {
  /** Boot id of the owning node. */
  b: string;
  e: number;
  s: StoredSubscription[];
  /** When the client went away (ms), absent while connected. */
  d?: number;
}

/**
 * Messages that arrive while a session moves here, kept for it: from other nodes and from this node's own clients,
 * from before the owner is asked until the broker has adopted the session.
 */
interface Capture {
  readonly clientId: string;
  readonly subscriptions: readonly StoredSubscription[];
  readonly messages: Message[];
  /** The filters this node subscribed for the capture, let go once the broker's own subscriptions stand. */
  readonly filters: readonly string[];
  /** Once the session's state is here: its queue, where later catches go, and the ids it already holds. */
  target?: {
    queued: HandedDelivery[];
    ids: ReadonlySet<string>;
    subscriptions: readonly StoredSubscription[];
  };
  timer?: ReturnType<typeof setTimeout>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const ATTEMPTS = 5;
/** How long a capture outlives a takeover whose session the broker never adopts (a refused CONNECT). */
const CAPTURE_MS = 30_000;
/** How long a connecting client may wait for JetStream to take ownership of its id. */
const ACQUIRE_MS = 8000;

/** Options of {@link NatsSessions}. */
export interface NatsSessionsOptions {
  nc: NatsConnection;
  kv: KV;
  prefix: string;
  boot: string;
  logger: Logger;
  interest(filter: string, delta: 1 | -1): void;
  messageId(message: Message): string | undefined;
  queues: NatsQueues;
  /** A session left this node for another. */
  released(clientId: string): void;
}

/** Who owns which client id, and moving sessions between nodes. */
export class NatsSessions {
  readonly #o: NatsSessionsOptions;
  /** Client ids this node owns, with the KV revision it last wrote. */
  #owned = new Map<string, { rev: number; value: string }>();
  #chains = new Map<string, Promise<void>>();
  #captures = new Set<Capture>();
  #local: ClusterNode | undefined;

  constructor(options: NatsSessionsOptions) {
    this.#o = options;
  }

  /** Answer takeover requests addressed to this boot. */
  serve(local: ClusterNode): void {
    const o = this.#o;
    this.#local = local;
    o.nc.subscribe(`${o.prefix}.take.${o.boot}`, {
      callback: (err, msg) => {
        if (err !== null) return;
        const clientId = decoder.decode(msg.data);
        this.#owned.delete(clientId);
        const handed = local.handOver(clientId);
        o.released(clientId);
        msg.respond(handed === undefined ? new Uint8Array(0) : this.#fit(handed));
      },
    });
  }

  /**
   * The handed session as one NATS message: within the server's max_payload (1 MB by default), the newest
   * queued messages are dropped as a full queue drops them, and logged.
   */
  #fit(handed: HandedSession): Uint8Array {
    const o = this.#o;
    const max = (o.nc.info?.max_payload ?? 1_048_576) - 4096;
    let bytes = encodeHanded(handed, o.messageId);
    let keep = handed.queued.length;
    while (bytes.length > max && keep > 0) {
      keep = Math.floor(keep * Math.min(0.9, max / bytes.length));
      bytes = encodeHanded({ ...handed, queued: handed.queued.slice(0, keep) }, o.messageId);
    }
    if (keep < handed.queued.length) {
      o.logger.warn("cluster: a moving session's queue is over NATS max_payload; newest messages dropped", {
        queued: handed.queued.length,
        kept: keep,
        maxPayload: max + 4096,
      });
    }
    return bytes;
  }

  /** Make this node the owner of `clientId`; see ClusterBus.acquire. */
  async acquire(clientId: string, clean: boolean): Promise<HandedSession | undefined> {
    const o = this.#o;
    const key = kvKey(clientId);
    // JetStream may not answer for a few seconds while NATS fails over: the client waits that long for CONNACK.
    const deadline = Date.now() + ACQUIRE_MS;
    let handed: HandedSession | undefined;
    for (let race = 0; race < ATTEMPTS; race++) {
      const entry = await this.#read(clientId, 4);
      const live = entry !== null && entry.operation === "PUT";
      const record = live ? JSON.parse(decoder.decode(entry.value)) as OwnerRecord : undefined;
      if (record !== undefined && record.b === o.boot) {
        this.#owned.set(clientId, { rev: entry!.revision, value: decoder.decode(entry!.value) });
        return handed;
      }
      if (record !== undefined) {
        const moved = await this.#takeOver(clientId, record, clean);
        if (!clean) handed = moved ?? handed;
      }
      const value = JSON.stringify({
        b: o.boot,
        e: handed?.expiryInterval ?? 0,
        s: handed?.subscriptions ?? [],
      });
      for (let attempt = 0;; attempt++) {
        try {
          const write = entry === null
            ? o.kv.create(key, encoder.encode(value))
            : o.kv.update(key, encoder.encode(value), entry.revision);
          const rev = await withTimeout(write, 3000);
          this.#owned.set(clientId, { rev, value });
          return handed;
        } catch (err) {
          // Another node wrote first: read again and take the client over from it.
          if (String(err).includes("wrong last sequence")) break;
          if (Date.now() > deadline) {
            throw new Error(
              `Cannot own client id ${JSON.stringify(clientId)}: JetStream does not answer (${err})`,
            );
          }
          await new Promise((r) => setTimeout(r, Math.min(250 * 2 ** attempt, 2000)));
        }
      }
      o.logger.debug("cluster: session ownership raced, retrying", { clientId });
    }
    throw new Error(`Cannot own client id ${JSON.stringify(clientId)}: ${ATTEMPTS} nodes raced for it`);
  }

  /** After an outage: give up (close, with 0x8E) every client id that another node owns now. */
  async reconcile(local: ClusterNode): Promise<void> {
    for (const clientId of [...this.#owned.keys()]) {
      const entry = await this.#read(clientId);
      if (entry === null || entry.operation !== "PUT") continue;
      if ((JSON.parse(decoder.decode(entry.value)) as OwnerRecord).b === this.#o.boot) continue;
      this.#owned.delete(clientId);
      local.handOver(clientId);
      this.#o.released(clientId);
      this.#o.logger.warn("cluster: client id owned by another node after an outage; connection closed", {
        clientId,
      });
    }
  }

  /**
   * Read a client id's record, retried for up to a minute: right after NATS comes back, JetStream may not
   * answer for a while (a restarted server catching up, leaders being elected).
   */
  async #read(clientId: string, attempts = 20) {
    for (let attempt = 1;; attempt++) {
      try {
        return await withTimeout(this.#o.kv.get(kvKey(clientId)), 3000);
      } catch (err) {
        if (attempt >= attempts) throw err;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  /** True when `clientId` is owned by a boot other than `deadBoot` now (it reconnected somewhere). */
  async resumedSince(clientId: string, deadBoot: string): Promise<boolean> {
    const entry = await this.#read(clientId);
    if (entry === null || entry.operation !== "PUT") return false;
    return (JSON.parse(decoder.decode(entry.value)) as OwnerRecord).b !== deadBoot;
  }

  /** A message arrived from another node or from a client here: keep it for sessions moving here. */
  captured(message: Message): void {
    if (this.#captures.size === 0) return;
    for (const c of this.#captures) {
      if (!c.subscriptions.some((s) => topicMatches(s.filter, message.topic))) continue;
      const target = c.target;
      if (target === undefined) {
        c.messages.push(message);
        continue;
      }
      const id = this.#o.messageId(message);
      if (id !== undefined && target.ids.has(id)) continue;
      const delivery = capturedDelivery(c.clientId, target.subscriptions, message);
      if (delivery !== undefined) target.queued.push(delivery);
    }
  }

  /** The broker adopted `clientId`'s handed session and routes to it itself: its capture ends. */
  adopted(clientId: string): void {
    for (const c of this.#captures) {
      if (c.clientId === clientId && c.target !== undefined) this.#endCapture(c);
    }
  }

  #endCapture(c: Capture): void {
    if (!this.#captures.delete(c)) return;
    clearTimeout(c.timer);
    for (const f of c.filters) this.#o.interest(f, -1);
  }

  /** Write the record of a session this node owns (revision-checked; a lost race ends our ownership). */
  changed(clientId: string, record: ClusterSessionRecord | undefined): void {
    if (!this.#owned.has(clientId)) return;
    const o = this.#o;
    const key = kvKey(clientId);
    const value = record === undefined ? undefined : JSON.stringify({
      b: o.boot,
      e: record.expiryInterval,
      s: record.subscriptions,
      ...(record.disconnectedAt === undefined ? {} : { d: record.disconnectedAt }),
    });
    this.#serial(clientId, async () => {
      // Retried through NATS failovers; only another node's write (a revision that is not ours) ends ownership.
      for (let attempt = 0; attempt < 20; attempt++) {
        const owned = this.#owned.get(clientId);
        if (owned === undefined || owned.value === value) return;
        try {
          if (value === undefined) {
            await withTimeout(o.kv.delete(key, { previousSeq: owned.rev }), 3000);
            this.#owned.delete(clientId);
          } else {
            const rev = await withTimeout(o.kv.update(key, encoder.encode(value), owned.rev), 3000);
            if (this.#owned.get(clientId) === owned) this.#owned.set(clientId, { rev, value });
          }
          return;
        } catch (err) {
          if (!String(err).includes("wrong last sequence")) {
            await new Promise((r) => setTimeout(r, Math.min(250 * 2 ** attempt, 5000)));
            continue;
          }
          // A write of ours may have landed unheard (a timeout): the record is still ours if it names this boot.
          const entry = await this.#read(clientId).catch(() => null);
          const current = entry?.operation === "PUT" ? decoder.decode(entry.value) : undefined;
          if (current === undefined || (JSON.parse(current) as OwnerRecord).b !== o.boot) {
            // Another node took the client while this one could not be asked (cut off): let it go here too.
            this.#owned.delete(clientId);
            this.#local?.handOver(clientId);
            o.released(clientId);
            o.logger.warn("cluster: client id owned by another node; connection closed", { clientId });
            return;
          }
          this.#owned.set(clientId, { rev: entry!.revision, value: current });
        }
      }
    });
  }

  /**
   * Leaving: give clients of persistent sessions up to `graceMs` to reconnect to another node, which then takes
   * their sessions over from this one with everything queued (this node still answers takeovers meanwhile).
   */
  async drain(graceMs: number): Promise<void> {
    const waiting = [...this.#owned].filter(([, v]) => (JSON.parse(v.value) as OwnerRecord).e > 0).map((
      [id],
    ) => id);
    if (waiting.length === 0 || graceMs <= 0) return;
    const end = Date.now() + graceMs;
    while (Date.now() < end && waiting.some((id) => this.#owned.has(id))) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const left = waiting.filter((id) => this.#owned.has(id)).length;
    this.#o.logger.info("cluster: sessions handed over before leaving", {
      handed: waiting.length - left,
      left,
    });
  }

  /** Wait for pending writes. */
  async flush(): Promise<void> {
    await Promise.all([...this.#chains.values()]);
  }

  async #takeOver(clientId: string, record: OwnerRecord, clean: boolean): Promise<HandedSession | undefined> {
    const o = this.#o;
    // Interest first, so nothing published while the owner lets go is lost: such messages are captured here
    // and merged behind the owner's queue, skipping the ones the owner hands over too.
    const filters = clean ? [] : record.s.filter((s) => !s.filter.startsWith("$share/")).map((s) => s.filter);
    for (const f of filters) o.interest(f, 1);
    const capture: Capture = { clientId, subscriptions: record.s, messages: [], filters };
    if (filters.length > 0) {
      this.#captures.add(capture);
      await o.nc.flush();
    }
    let resumed = false;
    try {
      const reply = await o.nc.request(`${o.prefix}.take.${record.b}`, encoder.encode(clientId), {
        timeout: 3000,
      });
      if (reply.data.length === 0) return undefined;
      const { handed, ids } = decodeHanded(reply.data);
      resumed = true;
      return withCaptured(handed, capture, ids, o.messageId);
    } catch (err) {
      // No responders: the owner is gone. Resume from the record and the queue the owner kept in JetStream,
      // unless the session ended with its connection or has expired since [MQTT-3.1.2-23] (5.0).
      o.logger.info("cluster: session owner unreachable, resuming from its record and stream", {
        clientId,
        owner: record.b,
        error: err instanceof Error ? err.message : String(err),
      });
      const node = bootNode(record.b);
      if (clean || sessionOver(record, Date.now())) {
        // Nobody resumes what the dead node kept for this session: its copy goes.
        o.queues.forget(node, clientId);
        return undefined;
      }
      const kept = await withTimeout(o.queues.read(node, clientId), 5000).catch((err) => {
        // JetStream cannot be read now: the session resumes with its subscriptions; the queue stays where it is.
        o.logger.warn("cluster: cannot read the queue a dead node kept; resuming without it", {
          clientId,
          node,
          error: err instanceof Error ? err.message : String(err),
        });
        return undefined;
      });
      if (kept !== undefined) {
        o.queues.inherit(clientId, node, kept.lastSeq, kept.inflight.length + kept.queued.length === 0);
      }
      resumed = true;
      return withCaptured(
        {
          expiryInterval: record.e,
          subscriptions: record.s,
          inflight: kept?.inflight ?? [],
          queued: kept?.queued ?? [],
        },
        capture,
        new Set(),
        o.messageId,
      );
    } finally {
      if (!resumed || !this.#captures.has(capture)) this.#endCapture(capture);
      else {
        // Catching goes on until the broker adopts the session (adopted()), bounded for one it never does.
        capture.timer = setTimeout(() => this.#endCapture(capture), CAPTURE_MS);
        (capture.timer as { unref?: () => void }).unref?.();
      }
    }
  }

  #serial(clientId: string, task: () => Promise<void>): void {
    const previous = this.#chains.get(clientId) ?? Promise.resolve();
    const next = previous.then(task);
    this.#chains.set(clientId, next);
    next.then(() => {
      if (this.#chains.get(clientId) === next) this.#chains.delete(clientId);
    });
  }
}

/** The node name in a boot id (`{node}-{12 hex digits}`). */
export function bootNode(boot: string): string {
  return boot.slice(0, -13);
}

/** True when a record's session has ended: it ended with its connection, or its expiry ran out offline. */
function sessionOver(record: OwnerRecord, now: number): boolean {
  if (record.e === 0) return true;
  return record.d !== undefined && record.e !== 0xffff_ffff && record.d + record.e * 1000 <= now;
}

/**
 * `handed` plus the captured messages it does not already hold, at the QoS the subscriptions grant; the capture
 * adds what it catches later to the same queue.
 */
function withCaptured(
  handed: HandedSession,
  capture: Capture,
  ids: ReadonlySet<string>,
  messageId: (m: Message) => string | undefined,
): HandedSession {
  const queued = queueWithCaptured(capture.clientId, handed, capture.messages, (message) => {
    const id = messageId(message);
    return id !== undefined && ids.has(id);
  });
  capture.messages.length = 0;
  capture.target = { queued, ids, subscriptions: handed.subscriptions };
  return { ...handed, queued };
}
