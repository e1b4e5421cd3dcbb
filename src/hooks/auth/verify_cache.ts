/**
 * A short-lived memory of successful password checks, so a client that reconnects often does not pay for
 * PBKDF2 every time.
 *
 * Why it is safe enough: only successes are remembered, keyed by user name and the exact encoded hash (a changed
 * password misses); what is kept is an HMAC of the password under a random key made when the cache is created and
 * never exported, not the password; entries expire after `ttlMs` and the cache holds at most `maxEntries`.
 * A wrong password always goes through the full PBKDF2 check.
 * @module
 */

import { timingSafeEqual } from "./password.ts";

/** Options of {@link VerifyCache}. */
export interface VerifyCacheOptions {
  /** How long a success is remembered, in milliseconds. */
  ttlMs: number;
  /** Most entries kept; the oldest goes first. Default 10 000. */
  maxEntries?: number;
  /** Time source (milliseconds), for tests. Default `Date.now`. */
  now?: () => number;
}

interface Entry {
  encoded: string;
  mac: Uint8Array;
  expires: number;
}

/** Remembers (user, encoded hash, password) triples that verified, for a while. */
export class VerifyCache {
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry>();
  #key: Promise<CryptoKey> | undefined;

  constructor(options: VerifyCacheOptions) {
    this.#ttlMs = options.ttlMs;
    this.#maxEntries = options.maxEntries ?? 10_000;
    this.#now = options.now ?? (() => Date.now());
  }

  /** Entries held now (expired ones included until they are looked up or pushed out). */
  get size(): number {
    return this.#entries.size;
  }

  /** True when this user verified this password against this encoded hash within the TTL. */
  async has(user: string, encoded: string, password: Uint8Array): Promise<boolean> {
    const entry = this.#entries.get(user);
    if (!entry || entry.encoded !== encoded) return false;
    if (this.#now() >= entry.expires) {
      this.#entries.delete(user);
      return false;
    }
    return timingSafeEqual(await this.#mac(password), entry.mac);
  }

  /** Remember a successful check. */
  async add(user: string, encoded: string, password: Uint8Array): Promise<void> {
    const mac = await this.#mac(password);
    this.#entries.delete(user); // re-insert at the end: Map order is our age order
    this.#entries.set(user, { encoded, mac, expires: this.#now() + this.#ttlMs });
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
  }

  /** Forget everything. */
  clear(): void {
    this.#entries.clear();
  }

  async #mac(password: Uint8Array): Promise<Uint8Array> {
    this.#key ??= crypto.subtle.generateKey({ name: "HMAC", hash: "SHA-256" }, false, ["sign"]) as Promise<
      CryptoKey
    >;
    return new Uint8Array(await crypto.subtle.sign("HMAC", await this.#key, new Uint8Array(password)));
  }
}
