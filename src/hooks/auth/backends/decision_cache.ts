/**
 * A bounded memory of backend decisions with a time to live, so repeated CONNECTs and ACL checks do not reach
 * the backend, and so no backend call sits on the per-delivery path.
 *
 * Expired entries are not thrown away at once: {@link DecisionCache.stale} still returns them, so a backend that
 * is down does not stop clients that are already connected from being served with the last answer it gave.
 * @module
 */

/** Options of {@link DecisionCache}. */
export interface DecisionCacheOptions {
  /** How long an entry is fresh, in milliseconds; 0 turns the cache off. */
  ttlMs: number;
  /** Most entries kept; the oldest goes first. */
  maxEntries: number;
  /** Time source in milliseconds. Default `Date.now`. */
  now?: () => number;
}

interface Entry<V> {
  value: V;
  expires: number;
}

/** Key → value with a time to live and a size bound; Map insertion order is the age order. */
export class DecisionCache<V> {
  readonly #ttlMs: number;
  readonly #max: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry<V>>();
  /** Lookups answered from the cache. */
  hits = 0;
  /** Lookups the cache could not answer. */
  misses = 0;

  constructor(options: DecisionCacheOptions) {
    if (!Number.isFinite(options.ttlMs) || options.ttlMs < 0) {
      throw new RangeError(`Cannot use a cache ttl of ${options.ttlMs} ms: expected a number >= 0`);
    }
    if (!Number.isInteger(options.maxEntries) || options.maxEntries < 0) {
      throw new RangeError(`Cannot use a cache size of ${options.maxEntries}: expected a whole number >= 0`);
    }
    this.#ttlMs = options.ttlMs;
    this.#max = options.maxEntries;
    this.#now = options.now ?? (() => Date.now());
  }

  /** False when ttl or size is 0: every lookup misses and nothing is stored. */
  get enabled(): boolean {
    return this.#ttlMs > 0 && this.#max > 0;
  }

  /** Entries held (fresh or stale). */
  get size(): number {
    return this.#entries.size;
  }

  /** The fresh value of `key`, counting a hit or a miss. */
  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (entry !== undefined && this.#now() < entry.expires) {
      this.hits++;
      return entry.value;
    }
    this.misses++;
    return undefined;
  }

  /** The value of `key` even when it expired (used when the backend fails); counts nothing. */
  stale(key: string): V | undefined {
    return this.#entries.get(key)?.value;
  }

  /** Remember `value` for the ttl, or for `ttlMs` when given and shorter. */
  set(key: string, value: V, ttlMs = this.#ttlMs): void {
    if (!this.enabled) return;
    this.#entries.delete(key); // re-insert at the end: the newest
    this.#entries.set(key, { value, expires: this.#now() + Math.min(ttlMs, this.#ttlMs) });
    while (this.#entries.size > this.#max) {
      this.#entries.delete(this.#entries.keys().next().value as string);
    }
  }

  /** Forget one key. */
  delete(key: string): void {
    this.#entries.delete(key);
  }

  /** Forget everything. */
  clear(): void {
    this.#entries.clear();
  }
}
