/**
 * Write-behind for storage: the broker pushes operations on the hot path (synchronous, cheap) and they are
 * applied in batches, one apply at a time, after at most `maxDelayMs` or once `maxBatch` are pending.
 * `flushed()` resolves once everything pushed so far is durable. A failed apply is retried with back-off.
 * @module
 */

import type { Clock, TimerHandle } from "../clock.ts";
import type { Logger } from "../logger.ts";
import type { Storage, StorageOp } from "./storage.ts";

/** Options of {@link WriteBehind}. */
export interface WriteBehindOptions {
  clock: Clock;
  logger: Logger;
  /** Longest wait before pending operations are written. Default 5 ms. */
  maxDelayMs?: number;
  /** Pending operations that trigger a write at once. Default 500. */
  maxBatch?: number;
}

/** Batches storage operations off the hot path. */
export class WriteBehind {
  #storage: Storage;
  #clock: Clock;
  #logger: Logger;
  #maxDelay: number;
  #maxBatch: number;
  #pending: StorageOp[] = [];
  #timer: TimerHandle | undefined;
  #running: Promise<void> | undefined;
  #waiters: Array<{ upTo: number; resolve: () => void }> = [];
  /** Ops pushed so far / ops durable so far. */
  #pushed = 0;
  #durable = 0;
  #closed = false;

  constructor(storage: Storage, options: WriteBehindOptions) {
    this.#storage = storage;
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#maxDelay = options.maxDelayMs ?? 5;
    this.#maxBatch = options.maxBatch ?? 500;
  }

  /** Operations pushed and not yet durable. */
  get backlog(): number {
    return this.#pushed - this.#durable;
  }

  /** Queue an operation. */
  push(op: StorageOp): void {
    if (this.#closed) throw new Error("Cannot write to storage: the write-behind is closed");
    this.#pending.push(op);
    this.#pushed++;
    if (this.#running !== undefined) return;
    if (this.#pending.length >= this.#maxBatch) this.#kick();
    else if (this.#timer === undefined) this.#timer = this.#clock.after(this.#maxDelay, () => this.#kick());
  }

  /** Resolves once every operation pushed before the call is durable. */
  flushed(): Promise<void> {
    if (this.#durable >= this.#pushed) return Promise.resolve();
    const upTo = this.#pushed;
    return new Promise((resolve) => this.#waiters.push({ upTo, resolve }));
  }

  /** Write what is pending and stop. */
  async close(): Promise<void> {
    this.#kick();
    await this.flushed();
    this.#closed = true;
    this.#timer?.cancel();
  }

  #kick(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    if (this.#running !== undefined || this.#pending.length === 0) return;
    this.#running = this.#run();
  }

  async #run(): Promise<void> {
    let backoff = 10;
    while (this.#pending.length > 0) {
      const batch = this.#pending;
      this.#pending = [];
      for (;;) {
        try {
          await this.#storage.apply(batch);
          break;
        } catch (err) {
          this.#logger.error("storage write failed; retrying", {
            storage: this.#storage.name,
            ops: batch.length,
            error: err instanceof Error ? err.message : String(err),
            retryInMs: backoff,
          });
          await new Promise<void>((resolve) => this.#clock.after(backoff, resolve));
          backoff = Math.min(backoff * 2, 5000);
        }
      }
      this.#durable += batch.length;
      const ready = this.#waiters.filter((w) => w.upTo <= this.#durable);
      this.#waiters = this.#waiters.filter((w) => w.upTo > this.#durable);
      for (const w of ready) w.resolve();
    }
    this.#running = undefined;
  }
}
