/**
 * Bounds how many password hashes are computed at once: each PBKDF2 check takes tens of milliseconds of CPU, so a
 * burst of CONNECTs must queue for the few cores there are instead of all hashing together (and starving every
 * other connection). Past a bounded queue, checks are refused at once.
 * @module
 */

/** Options of {@link VerifyGate}. */
export interface VerifyGateOptions {
  /** Checks that run at the same time. Default 2. */
  readonly concurrency?: number;
  /** Checks that may wait for a turn; more are refused without hashing. Default 256. */
  readonly maxQueued?: number;
}

/** A first-in, first-out gate for expensive checks. */
export class VerifyGate {
  readonly #concurrency: number;
  readonly #maxQueued: number;
  #running = 0;
  #queue: Array<() => void> = [];

  constructor(options: VerifyGateOptions = {}) {
    this.#concurrency = options.concurrency ?? 2;
    this.#maxQueued = options.maxQueued ?? 256;
    if (!Number.isInteger(this.#concurrency) || this.#concurrency < 1) {
      throw new RangeError(`Cannot use concurrency ${this.#concurrency}: expected a whole number >= 1`);
    }
    if (!Number.isInteger(this.#maxQueued) || this.#maxQueued < 0) {
      throw new RangeError(`Cannot use maxQueued ${this.#maxQueued}: expected a whole number >= 0`);
    }
  }

  /** Checks running now. */
  get running(): number {
    return this.#running;
  }

  /** Checks waiting. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Run `check` when a slot is free; undefined (without running it) when the queue is full. */
  async run<T>(check: () => Promise<T>): Promise<T | undefined> {
    if (this.#running >= this.#concurrency) {
      if (this.#queue.length >= this.#maxQueued) return undefined;
      await new Promise<void>((resolve) => this.#queue.push(resolve));
    } else this.#running++;
    try {
      return await check();
    } finally {
      // The slot passes straight to the next waiter, so the count stays as it is.
      const next = this.#queue.shift();
      if (next !== undefined) next();
      else this.#running--;
    }
  }
}
