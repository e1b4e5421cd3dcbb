/**
 * Writes to JetStream KV that must not be lost to a NATS failover: the latest write per key wins, and a write
 * that fails (a stream leader being elected, a server coming back) is retried for about a minute.
 * @module
 */

import type { Logger } from "../../src/logger.ts";

const ATTEMPTS = 12;
/**
 * Each attempt's own bound. Measured: right after a failover a JetStream request from a reconnected client can
 * hang past its own timeout, which would stall every later write to that key.
 */
const ATTEMPT_MS = 3000;

/** Latest-wins, retried KV writes, and the promises still running (for a clean close). */
export class KvWriter {
  readonly #logger: Logger;
  /** Writes waiting by key, and the keys being written. */
  #latest = new Map<string, () => Promise<unknown>>();
  #writing = new Set<string>();
  #pending = new Set<Promise<unknown>>();
  #closed = false;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** Run `op` for `key`, after the write running for it now; a newer write replaces one still waiting. */
  write(key: string, op: () => Promise<unknown>): void {
    const waiting = this.#latest.has(key);
    this.#latest.set(key, op);
    if (waiting || this.#writing.has(key)) return;
    this.#writing.add(key);
    this.track((async () => {
      try {
        for (let next = this.#latest.get(key); next !== undefined; next = this.#latest.get(key)) {
          this.#latest.delete(key);
          for (let attempt = 0;; attempt++) {
            try {
              await withTimeout(next(), ATTEMPT_MS);
              break;
            } catch (err) {
              this.#logger.debug("cluster: KV write retried", { key, attempt, error: String(err) });
              if (this.#closed || attempt >= ATTEMPTS || this.#latest.has(key)) throw err;
              await new Promise((r) => setTimeout(r, Math.min(250 * 2 ** attempt, 5000)));
            }
          }
        }
      } finally {
        this.#writing.delete(key);
      }
    })());
  }

  /** Keep `p` until it settles; its failure is logged, never thrown. */
  track(p: Promise<unknown>): void {
    const tracked = p.catch((err) =>
      this.#logger.warn("cluster: KV write failed", {
        error: err instanceof Error ? err.message : String(err),
      })
    );
    this.#pending.add(tracked);
    tracked.finally(() => this.#pending.delete(tracked));
  }

  /** Stop retrying and wait for what is running. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#pending]);
  }
}

/** `p`, or a rejection after `ms`. */
export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from JetStream within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
