/**
 * The slice of Deno KV that KvStorage uses, declared structurally (Deno.openKv and npm @deno/kv both fit).
 * @module
 */

/** A KV key part, as both Deno's own KV and `@deno/kv` accept it. */
export type KvKeyPart = Uint8Array | string | number | bigint | boolean;

/** The part of an atomic operation this backend uses. */
export interface KvAtomicLike {
  /** Queue a write of `value` under `key`. */
  set(key: readonly KvKeyPart[], value: Uint8Array): KvAtomicLike;
  /** Queue a delete of `key`. */
  delete(key: readonly KvKeyPart[]): KvAtomicLike;
  /** Apply the queued writes and deletes together. */
  commit(): Promise<{ ok: boolean }>;
}

/** The part of Deno's `Kv` (and of `@deno/kv`'s) this backend uses. */
export interface KvLike {
  /** Read one key; `versionstamp` is null when the key does not exist. */
  get(key: readonly KvKeyPart[]): Promise<{ value: unknown; versionstamp: string | null }>;
  /** Iterate over the entries whose key starts with `prefix`. */
  list(
    selector: { prefix: readonly KvKeyPart[] },
    options?: { batchSize?: number; limit?: number },
  ): AsyncIterable<{ key: readonly unknown[]; value: unknown }>;
  /** Start an atomic operation. */
  atomic(): KvAtomicLike;
  /** Close the database. */
  close(): void;
}
