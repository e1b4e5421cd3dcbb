/**
 * Sessions left behind by nodes that are gone. A live node expires its own sessions and deletes their records;
 * once it dies or leaves, nobody would, and the records in `{prefix}_sessions` and the queues its stream kept for
 * them would stay for ever. So one live node, the one whose boot id sorts first (no election: were two to do it
 * for a moment, every delete is revision-checked), reads every record now and then and ends each session of a
 * boot that is no longer live once its Session Expiry Interval has run out [MQTT-3.1.2-23] (5.0), and two sweeps in a
 * row found it orphaned. The interval counts from when the client went away; a client that was still connected
 * when its node died went away at the latest when this node first found the session orphaned, so that is the start
 * then (never early).
 * @module
 */

import type { KV, KvEntry } from "@nats-io/kv";
import type { Logger } from "../../src/logger.ts";
import { fromKvKey } from "../../src/cluster/subjects.ts";
import { withTimeout } from "./_kv_writer.ts";
import type { NatsQueues } from "./_nats_queues.ts";
import { bootNode, type OwnerRecord } from "./_nats_sessions.ts";

/** Options of {@link NatsSessionSweep}. */
export interface NatsSessionSweepOptions {
  /** The `{prefix}_sessions` bucket. */
  kv: KV;
  boot: string;
  logger: Logger;
  /** Milliseconds between sweeps. */
  everyMs: number;
  /** Boot ids of the live nodes, this one included. */
  liveBoots(): string[];
  queues: NatsQueues;
}

/** A sweep reads every record in one watch; it gives up on a bucket that does not answer within this. */
const READ_MS = 30_000;

/** Ends the expired sessions of dead nodes. */
export class NatsSessionSweep {
  readonly #o: NatsSessionSweepOptions;
  /** Orphaned sessions: the record's revision and when this node first found it orphaned. */
  #orphanedAt = new Map<string, { revision: number; at: number }>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #running = false;
  #stopped = false;

  constructor(options: NatsSessionSweepOptions) {
    this.#o = options;
  }

  start(track: (work: Promise<unknown>) => void): void {
    this.#timer = setInterval(() => {
      if (this.#running || !this.#sweeper()) return;
      this.#running = true;
      track(
        this.sweep().catch((err) => {
          this.#o.logger.debug("cluster: session sweep failed; tried again later", { error: String(err) });
        }).finally(() => (this.#running = false)),
      );
    }, this.#o.everyMs);
  }

  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
  }

  /** End what has expired; resolves with the number of sessions ended. */
  async sweep(now = Date.now()): Promise<number> {
    const live = new Set(this.#o.liveBoots());
    const seen = new Set<string>();
    let ended = 0;
    for (const entry of await this.#records()) {
      if (this.#stopped) break;
      const record = parseRecord(entry);
      if (record === undefined || live.has(record.b)) continue;
      seen.add(entry.key);
      if (record.e === 0xffff_ffff) continue; // never expires
      const previous = this.#orphanedAt.get(entry.key);
      const first = previous?.revision === entry.revision ? previous.at : now;
      this.#orphanedAt.set(entry.key, { revision: entry.revision, at: first });
      // Only a session found orphaned by two sweeps in a row ends: a node that was merely slow for a moment (taken
      // for dead, then beating again) keeps its clients' records.
      if (first + this.#o.everyMs > now) continue;
      if ((record.d ?? first) + record.e * 1000 > now) continue;
      try {
        await withTimeout(this.#o.kv.delete(entry.key, { previousSeq: entry.revision }), 3000);
      } catch (err) {
        // A client resumed it on some node meanwhile (another revision), or NATS is away: next time, if at all.
        this.#o.logger.debug("cluster: left an orphaned session for later", {
          clientId: fromKvKey(entry.key),
          error: String(err),
        });
        continue;
      }
      this.#orphanedAt.delete(entry.key);
      this.#o.queues.forget(bootNode(record.b), fromKvKey(entry.key));
      ended++;
    }
    for (const key of this.#orphanedAt.keys()) if (!seen.has(key)) this.#orphanedAt.delete(key);
    if (ended > 0) {
      this.#o.logger.info("cluster: expired sessions of departed nodes ended", { sessions: ended });
    }
    return ended;
  }

  /** This node sweeps when its boot id sorts first among the live ones. */
  #sweeper(): boolean {
    return this.#o.liveBoots().every((boot) => boot >= this.#o.boot);
  }

  /** The live records of the bucket, read in one watch (one request per key would be 100k at 100k sessions). */
  async #records(): Promise<KvEntry[]> {
    const kv = this.#o.kv;
    const status = await withTimeout(kv.status(), 3000);
    if (status.values === 0) return [];
    const out: KvEntry[] = [];
    const watch = await kv.watch();
    const timer = setTimeout(() => watch.stop(), READ_MS);
    try {
      for await (const entry of watch) {
        if (entry.operation === "PUT") out.push(entry);
        if (entry.delta === 0) break;
      }
    } finally {
      clearTimeout(timer);
      watch.stop();
    }
    return out;
  }
}

/** A record as its owner wrote it, or undefined for anything else (left alone). */
function parseRecord(entry: KvEntry): OwnerRecord | undefined {
  try {
    const record = JSON.parse(new TextDecoder().decode(entry.value)) as OwnerRecord;
    return typeof record.b === "string" && typeof record.e === "number" ? record : undefined;
  } catch {
    return undefined;
  }
}
