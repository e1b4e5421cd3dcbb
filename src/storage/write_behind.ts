/**
 * Write-behind for storage: the broker pushes operations on the hot path (synchronous, cheap) and they are
 * applied in batches, one apply at a time, after at most `maxDelayMs` or once `maxBatch` are pending.
 * `flushed()` resolves once everything pushed so far is durable. A failed apply is logged and retried with
 * back-off, keeping its operations; `flushed()` keeps waiting. No operation is ever dropped: an acknowledgement
 * that waits on `flushed()` is a promise that the operation is stored. Once more than `maxPending` operations
 * wait, `onPressure(true)` tells the broker to stop reading publishers; `onPressure(false)` once half are written.
 *
 * Within the pending batch, operations on the same record coalesce where the result is the same as applying
 * them in order: a put replaces an earlier put of the same record in place (so an inflight entry keeps its
 * first-stored position), a delete removes an earlier put of it (the delete stays: the record may be stored
 * from an earlier batch, unless the put was pushed as fresh: then neither is written), a `sessionDelete` removes
 * every earlier pending operation on that client's session, inflight, queued and incoming records. The QoS 1
 * path "queued, then inflight, then acknowledged" pushed within one batch thus writes nothing: a new queue entry
 * and a new inflight packet id are fresh records.
 * @module
 */

import type { Clock, TimerHandle } from "../clock.ts";
import type { Logger } from "../logger.ts";
import type { Storage, StorageOp } from "./storage.ts";

/** Whole-batch failures before the operations are tried one by one to find a bad one. */
const ISOLATE_AFTER = 3;

/** Options of {@link WriteBehind}. */
export interface WriteBehindOptions {
  clock: Clock;
  logger: Logger;
  /** Longest wait before pending operations are written. Default 5 ms. */
  maxDelayMs?: number;
  /** Pending operations (after coalescing) that trigger a write at once. Default 500. */
  maxBatch?: number;
  /** First retry delay after a failed write; it doubles up to `retryMaxMs`. Default 10 ms. */
  retryMinMs?: number;
  /** Longest retry delay. Default 5000 ms. */
  retryMaxMs?: number;
  /** Operations pushed and not yet durable above which {@link onPressure} reports `true`. Default 10000. */
  maxPending?: number;
  /** Storage fell behind (`true`: more than `maxPending` wait) or caught up (`false`: half of that or less). */
  onPressure?: (behind: boolean) => void;
}

/** Where an operation's record sits in the pending batch. */
interface Slots {
  put?: number;
  del?: number;
  /** The pending put was pushed as fresh (see {@link WriteBehind.push}). */
  fresh?: boolean;
}

/**
 * Batches storage operations off the hot path.
 *
 * @example
 * ```ts
 * const writer = new WriteBehind(storage, { clock: systemClock, logger: silentLogger });
 * writer.push({ type: "retainedDelete", topic: "a/b" });
 * await writer.flushed(); // durable now
 * await writer.close();
 * ```
 */
export class WriteBehind {
  #storage: Storage;
  #clock: Clock;
  #logger: Logger;
  #maxDelay: number;
  #maxBatch: number;
  #retryMin: number;
  #retryMax: number;
  #pending: Array<StorageOp | undefined> = [];
  #live = 0;
  #slots = new Map<string, Slots>();
  /** Record keys per client id in the pending batch that a sessionDelete covers, and its pending sessionDelete. */
  #groups = new Map<string, { keys: Set<string>; deleteAt?: number }>();
  #timer: TimerHandle | undefined;
  #running = false;
  #waiters: Array<{ upTo: number; resolve: () => void }> = [];
  /** Ops pushed so far / ops durable so far. */
  #pushed = 0;
  #durable = 0;
  #closed = false;
  #maxPending: number;
  #onPressure: ((behind: boolean) => void) | undefined;
  #behind = false;

  constructor(storage: Storage, options: WriteBehindOptions) {
    this.#storage = storage;
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#maxDelay = options.maxDelayMs ?? 5;
    this.#maxBatch = options.maxBatch ?? 500;
    this.#retryMin = options.retryMinMs ?? 10;
    this.#retryMax = options.retryMaxMs ?? 5000;
    this.#maxPending = options.maxPending ?? 10_000;
    this.#onPressure = options.onPressure;
  }

  /** True while more than `maxPending` operations wait (until half of that or less do). */
  get behind(): boolean {
    return this.#behind;
  }

  /** Operations pushed and not yet durable. */
  get backlog(): number {
    return this.#pushed - this.#durable;
  }

  /**
   * Queue an operation. Throws once closed. `fresh`: a put of a record whose key holds nothing in storage once
   * the operations pushed before it are applied (a new inflight packet id, a new queue sequence number); if its
   * delete comes while the put still waits, neither is written.
   */
  push(op: StorageOp, fresh = false): void {
    if (this.#closed) {
      throw new Error(`Cannot write to ${this.#storage.name} storage: the write-behind is closed`);
    }
    if (++this.#pushed - this.#durable > this.#maxPending && !this.#behind) this.#pressure(true);
    if (op.type === "sessionDelete") this.#pushSessionDelete(op.clientId, op);
    else this.#pushRecordOp(op, fresh);
    if (this.#running) return;
    if (this.#live === 0) {
      // Everything pending cancelled out: what was pushed is as durable as it needs to be.
      this.#settle(this.#pushed);
      return;
    }
    if (this.#live >= this.#maxBatch) this.#kick();
    else if (this.#timer === undefined && this.#live > 0) {
      this.#timer = this.#clock.after(this.#maxDelay, () => this.#kick());
    }
  }

  /** Resolves once every operation pushed before the call is durable. */
  flushed(): Promise<void> {
    if (this.#durable >= this.#pushed) return Promise.resolve();
    const upTo = this.#pushed;
    return new Promise((resolve) => this.#waiters.push({ upTo, resolve }));
  }

  /** Write pending operations now instead of after the delay; resolves as {@link flushed}. */
  flush(): Promise<void> {
    this.#kick();
    return this.flushed();
  }

  /** Write everything pushed (also while closing) and stop. Waits as long as writes keep failing. */
  async close(): Promise<void> {
    while (this.#durable < this.#pushed) await this.flush();
    this.#closed = true;
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  #pressure(behind: boolean): void {
    this.#behind = behind;
    if (behind) {
      this.#logger.warn("storage is behind: publishers are paused until it catches up", {
        storage: this.#storage.name,
        pending: this.backlog,
      });
    }
    this.#onPressure?.(behind);
  }

  #append(op: StorageOp): number {
    this.#live++;
    return this.#pending.push(op) - 1;
  }

  #drop(at: number | undefined): void {
    if (at === undefined || this.#pending[at] === undefined) return;
    this.#pending[at] = undefined;
    this.#live--;
  }

  #pushSessionDelete(clientId: string, op: StorageOp): void {
    const group = this.#groups.get(clientId);
    if (group !== undefined) {
      for (const key of group.keys) {
        const slots = this.#slots.get(key)!;
        this.#drop(slots.put);
        this.#drop(slots.del);
        this.#slots.delete(key);
      }
      this.#drop(group.deleteAt);
    }
    this.#groups.set(clientId, { keys: new Set(), deleteAt: this.#append(op) });
  }

  #pushRecordOp(op: Exclude<StorageOp, { type: "sessionDelete" }>, fresh: boolean): void {
    const [key, clientId, isDelete] = recordOf(op);
    let slots = this.#slots.get(key);
    if (slots === undefined) this.#slots.set(key, slots = {});
    if (!isDelete) {
      if (slots.put !== undefined) this.#pending[slots.put] = op;
      else {
        slots.put = this.#append(op);
        slots.fresh = fresh;
      }
    } else {
      // A fresh record never reached storage: its delete has nothing to remove.
      const cancels = slots.put !== undefined && slots.del === undefined && slots.fresh === true;
      this.#drop(slots.put);
      slots.put = undefined;
      if (slots.del === undefined && !cancels) slots.del = this.#append(op);
    }
    if (clientId !== undefined) {
      let group = this.#groups.get(clientId);
      if (group === undefined) this.#groups.set(clientId, group = { keys: new Set() });
      group.keys.add(key);
    }
  }

  #kick(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    if (this.#running || this.#live === 0) return;
    this.#running = true;
    void this.#run();
  }

  async #run(): Promise<void> {
    while (this.#live > 0) {
      let batch = this.#pending.filter((op) => op !== undefined);
      const upTo = this.#pushed;
      this.#pending = [];
      this.#live = 0;
      this.#slots.clear();
      this.#groups.clear();
      let delay = this.#retryMin;
      for (let attempt = 1;; attempt++) {
        try {
          await this.#storage.apply(batch);
          break;
        } catch (err) {
          if (attempt >= ISOLATE_AFTER && batch.length > 1) {
            const before = batch.length;
            batch = await this.#applyInOrder(batch);
            if (batch.length === 0) break;
            // Some went through: the storage works and fails only now and then, so retry soon.
            if (batch.length < before) delay = this.#retryMin;
          }
          this.#logger.error("storage write failed; retrying", {
            storage: this.#storage.name,
            ops: batch.length,
            attempt,
            error: err instanceof Error ? err.message : String(err),
            retryInMs: delay,
          });
          await new Promise<void>((resolve) => this.#clock.after(delay, resolve));
          delay = Math.min(delay * 2, this.#retryMax);
        }
      }
      this.#settle(upTo);
    }
    this.#running = false;
    // What was pushed meanwhile and cancelled out leaves nothing to write, and nothing to wait for.
    this.#settle(this.#pushed);
  }

  /** Operations up to `upTo` are durable: tell the waiters. */
  #settle(upTo: number): void {
    if (upTo <= this.#durable) return;
    this.#durable = upTo;
    if (this.#behind && this.backlog <= this.#maxPending / 2) this.#pressure(false);
    const ready = this.#waiters.filter((w) => w.upTo <= upTo);
    this.#waiters = this.#waiters.filter((w) => w.upTo > upTo);
    for (const w of ready) w.resolve();
  }

  /**
   * After repeated failures of a whole batch (a storage that fails some writes, or one too large for it): apply
   * its operations one at a time, in order, up to the first that fails. Returns what is left from that one on, to
   * be retried as a batch: an operation is never dropped, since acknowledgements wait for it, and the order
   * stays (a later operation may depend on an earlier one, such as a session written after its delete).
   */
  async #applyInOrder(batch: StorageOp[]): Promise<StorageOp[]> {
    for (let i = 0; i < batch.length; i++) {
      try {
        await this.#storage.apply([batch[i]!]);
      } catch {
        return batch.slice(i);
      }
    }
    return [];
  }
}

/** The record an operation touches, the client whose sessionDelete covers it, and whether it deletes. */
function recordOf(op: Exclude<StorageOp, { type: "sessionDelete" }>): [string, string | undefined, boolean] {
  switch (op.type) {
    case "session":
      return [`s${op.session.clientId.length}:${op.session.clientId}`, op.session.clientId, false];
    case "inflight":
      return [`i${op.clientId.length}:${op.clientId}:${op.entry.packetId}`, op.clientId, false];
    case "inflightDelete":
      return [`i${op.clientId.length}:${op.clientId}:${op.packetId}`, op.clientId, true];
    case "queued":
      return [`q${op.clientId.length}:${op.clientId}:${op.entry.seq}`, op.clientId, false];
    case "queuedDelete":
      return [`q${op.clientId.length}:${op.clientId}:${op.seq}`, op.clientId, true];
    case "incoming":
      return [`n${op.clientId.length}:${op.clientId}:${op.packetId}`, op.clientId, false];
    case "incomingDelete":
      return [`n${op.clientId.length}:${op.clientId}:${op.packetId}`, op.clientId, true];
    case "retained":
      return [`r${op.message.topic}`, undefined, false];
    case "retainedDelete":
      return [`r${op.topic}`, undefined, true];
    case "will":
      return [`w${op.will.clientId}`, undefined, false];
    case "willDelete":
      return [`w${op.clientId}`, undefined, true];
    // Bridge queues belong to no session: no sessionDelete covers them.
    case "bridgeQueued":
      return [`f${op.bridge.length}:${op.bridge}:${op.entry.seq}`, undefined, false];
    case "bridgeQueuedDelete":
      return [`f${op.bridge.length}:${op.bridge}:${op.seq}`, undefined, true];
  }
}
