/**
 * Persistent sessions' queues in JetStream, so that a survivor can take a session over from a node that died
 * with everything queued or in flight for it. One stream per node (`{prefix}_q_{node}`), one subject per
 * session (`{prefix}.q.{node}.{client id as a KV key}`). The broker uses this as its {@link Storage}: its
 * write-behind batches the changes of persistent sessions (a message queued, sent, acknowledged) and a QoS 1/2
 * PUBACK to a publisher on this node waits for them, as it waits for any storage.
 *
 * Per session and batch, one stream message holds the batch's changes. A session whose queue empties, whose log
 * grows past twice its live records, that this node writes for the first time (its subject may hold an
 * earlier life's records) or whose writes failed is written as a snapshot with a `Nats-Rollup: sub` header,
 * which replaces everything before it: the subject stays about as large as the session's queue. A session
 * that ends is purged. While NATS is away nothing waits for it (each node keeps serving its own clients): the
 * sessions changed meanwhile are written as snapshots once it is back.
 * @module
 */

import { headers, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import type { Logger } from "../../src/logger.ts";
import type { Storage, StorageOp, StoredState } from "../../src/storage/storage.ts";
import {
  applyQueueOps,
  encodeQueueOps,
  isQueueOp,
  type QueueOp,
  type QueueState,
} from "../../src/cluster/queue_codec.ts";
import { readQueue, streamName, subjectOf } from "./_nats_queue_read.ts";

/** Options of {@link NatsQueues}. */
export interface NatsQueuesOptions {
  nc: NatsConnection;
  prefix: string;
  node: string;
  replicas: number;
  logger: Logger;
}

/** What this node knows of one session's subject. */
interface Kept {
  /** Its records now (the session's queue, inflight and inbound QoS 2 ids). */
  live: Map<string, QueueOp>;
  /** Changes written since the last snapshot. */
  logged: number;
  /** The subject must be written whole: first write, a failed write, an outage. */
  snapshot: boolean;
}

/** Stream messages stay well under NATS's default max_payload (1 MB). */
const CHUNK = 512 * 1024;
const PUBLISH_MS = 2000;

/** The per-node JetStream stream of session queues. */
export class NatsQueues implements Storage {
  readonly name = "jetstream";
  readonly #o: NatsQueuesOptions;
  readonly #js;
  #jsm: JetStreamManager | undefined;
  #kept = new Map<string, Kept>();
  #up = true;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #pending = new Set<Promise<unknown>>();
  /** Sessions taken over from a node that could not answer: its copy goes once this node has written its own. */
  #inherited = new Map<string, { node: string; lastSeq: number }>();
  #closed = false;

  constructor(options: NatsQueuesOptions) {
    this.#o = options;
    this.#js = jetstream(options.nc, { timeout: PUBLISH_MS });
  }

  /** Create (or update) this node's stream. */
  async start(): Promise<void> {
    const o = this.#o;
    this.#jsm = await jetstreamManager(o.nc, { timeout: 5000 });
    const config = {
      name: streamName(o.prefix, o.node),
      subjects: [`${o.prefix}.q.${o.node}.>`],
      allow_rollup_hdrs: true,
      num_replicas: o.replicas,
      // Never drop a queued message to make room: limits come from the JetStream account.
      max_msgs_per_subject: -1,
    };
    const exists = await this.#jsm.streams.info(config.name).then(() => true, () => false);
    if (!exists) {
      // A NATS cluster that has just started may not place a replicated stream yet: retried for 15 s.
      for (let attempt = 0;; attempt++) {
        try {
          await this.#jsm.streams.add(config);
          return;
        } catch (err) {
          if (attempt >= 30 || !/no suitable peers|insufficient resources|timeout/i.test(String(err))) {
            throw err;
          }
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    }
    // Kept from an earlier run of this node (its sessions may still be taken over from it): reconfigured if the
    // options changed, used as it is when that is refused.
    await this.#jsm.streams.update(config.name, config).catch((err) =>
      o.logger.warn("cluster: cannot update the session queue stream; using it as it is", {
        stream: config.name,
        error: err instanceof Error ? err.message : String(err),
      })
    );
  }

  load(): Promise<StoredState> {
    // Sessions are not loaded at start: the node that a client reconnects to reads its queue then.
    return Promise.resolve({ sessions: [], retained: [], wills: [] });
  }

  async apply(ops: readonly StorageOp[]): Promise<void> {
    const bySession = new Map<string, { ops: QueueOp[]; ended: boolean }>();
    for (const op of ops) {
      if (op.type !== "sessionDelete" && !isQueueOp(op)) continue;
      let entry = bySession.get(op.clientId);
      if (entry === undefined) bySession.set(op.clientId, entry = { ops: [], ended: false });
      if (op.type === "sessionDelete") {
        entry.ops = [];
        entry.ended = true;
        const kept = this.#kept.get(op.clientId);
        kept?.live.clear();
        if (kept !== undefined) kept.snapshot = true;
      } else entry.ops.push(op);
    }
    const writes: Promise<void>[] = [];
    for (const [clientId, { ops, ended }] of bySession) writes.push(this.#write(clientId, ops, ended));
    await Promise.all(writes);
  }

  close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    return Promise.allSettled([...this.#pending]).then(() => {});
  }

  /** NATS went away or came back: once back, write the sessions changed meanwhile. */
  connection(up: boolean): void {
    this.#up = up;
    if (up) this.#scheduleRetry(500);
  }

  /**
   * The queue a node (dead, or cut off) kept for `clientId`, and the stream sequence it was read up to (for
   * {@link forget}). Rejects when JetStream cannot be read.
   */
  read(node: string, clientId: string): Promise<QueueState & { lastSeq: number }> {
    return readQueue(
      this.#jsm ?? jetstreamManager(this.#o.nc, { timeout: 5000 }),
      this.#o.prefix,
      node,
      clientId,
    );
  }

  /**
   * This node took `clientId` over from `node`'s stream: drop that copy once this node has written the session
   * (at once when there is nothing of it to write).
   */
  inherit(clientId: string, node: string, lastSeq: number, empty: boolean): void {
    if (empty) this.forget(node, clientId, lastSeq);
    else this.#inherited.set(clientId, { node, lastSeq });
  }

  /**
   * Drop what `node` kept for `clientId`, up to `lastSeq` when given (another node carries the session on), or
   * all of it (nobody does).
   */
  forget(node: string, clientId: string, lastSeq?: number): void {
    if (lastSeq === 0 || this.#jsm === undefined) return;
    const filter = subjectOf(this.#o.prefix, node, clientId);
    const purge = this.#jsm.streams.purge(
      streamName(this.#o.prefix, node),
      lastSeq === undefined ? { filter } : { filter, seq: lastSeq + 1 },
    );
    this.#track(purge);
  }

  async #write(clientId: string, ops: QueueOp[], ended: boolean): Promise<void> {
    let kept = this.#kept.get(clientId);
    if (kept === undefined) {
      if (ended && ops.length === 0) return;
      kept = { live: new Map(), logged: 0, snapshot: true };
      this.#kept.set(clientId, kept);
    }
    applyQueueOps(kept.live, ops);
    if (!this.#up) {
      kept.snapshot = true;
      return;
    }
    const whole = kept.snapshot || kept.live.size === 0 || kept.logged + ops.length > 2 * kept.live.size + 32;
    const records = whole ? [...kept.live.values()] : ops;
    const subject = subjectOf(this.#o.prefix, this.#o.node, clientId);
    if (whole) {
      kept.snapshot = false;
      kept.logged = 0;
    } else kept.logged += ops.length;
    try {
      const last = await this.#publish(subject, records, whole);
      const inherited = this.#inherited.get(clientId);
      if (inherited !== undefined && whole) {
        this.#inherited.delete(clientId);
        this.forget(inherited.node, clientId, inherited.lastSeq);
      }
      if (kept.live.size === 0 && this.#kept.get(clientId) === kept) {
        // Empty: nothing to remember; a session that ended leaves nothing in the stream either.
        this.#kept.delete(clientId);
        if (ended && last > 0) this.forget(this.#o.node, clientId, last);
      }
    } catch (err) {
      kept.snapshot = true;
      this.#o.logger.warn("cluster: cannot write a session queue to JetStream; retrying", {
        clientId,
        error: err instanceof Error ? err.message : String(err),
      });
      this.#scheduleRetry(1000);
    }
  }

  /** Publish records in chunks, the first one a rollup when `whole`; resolves with the last stream sequence. */
  async #publish(subject: string, records: readonly QueueOp[], whole: boolean): Promise<number> {
    const chunks: QueueOp[][] = [[]];
    let size = 0;
    for (const op of records) {
      const bytes = op.type === "queued" || op.type === "inflight"
        ? op.entry.message.payload.byteLength + 200
        : 16;
      if (size + bytes > CHUNK && chunks.at(-1)!.length > 0) {
        chunks.push([]);
        size = 0;
      }
      chunks.at(-1)!.push(op);
      size += bytes;
    }
    const acks = chunks.map((chunk, i) => {
      const options: { timeout: number; headers?: ReturnType<typeof headers> } = { timeout: PUBLISH_MS };
      if (whole && i === 0) {
        options.headers = headers();
        options.headers.set("Nats-Rollup", "sub");
      }
      return this.#js.publish(subject, encodeQueueOps(chunk), options);
    });
    const done = await Promise.all(acks);
    return done.at(-1)!.seq;
  }

  /** Write every session whose subject is behind, as a snapshot, once NATS answers. */
  #scheduleRetry(ms: number): void {
    if (this.#retry !== undefined) return;
    if (this.#closed) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      if (!this.#up || this.#closed) return;
      for (const [clientId, kept] of this.#kept) {
        if (kept.snapshot) this.#track(this.#write(clientId, [], false));
      }
    }, ms);
  }

  #track(p: Promise<unknown>): void {
    const tracked = p.catch((err) =>
      this.#o.logger.debug("cluster: queue stream call failed", { error: String(err) })
    );
    this.#pending.add(tracked);
    tracked.finally(() => this.#pending.delete(tracked));
  }
}
