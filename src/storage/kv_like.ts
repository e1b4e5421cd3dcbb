/**
 * The slice of Deno KV that KvStorage uses, declared structurally (Deno.openKv and npm @deno/kv both fit).
 * @module
 */

/** A KV key part, as both Deno's own KV and `@deno/kv` accept it. */
export type KvKeyPart = Uint8Array | string | number | bigint | boolean;

/** The part of an atomic operation this backend uses. */
export interface KvAtomicLike {
  set(key: readonly KvKeyPart[], value: Uint8Array): KvAtomicLike;
  delete(key: readonly KvKeyPart[]): KvAtomicLike;
  commit(): Promise<{ ok: boolean }>;
}

/** The part of Deno's `Kv` (and of `@deno/kv`'s) this backend uses. */
export interface KvLike {
  get(key: readonly KvKeyPart[]): Promise<{ value: unknown; versionstamp: string | null }>;
  list(
    selector: { prefix: readonly KvKeyPart[] },
    options?: { batchSize?: number; limit?: number },
  ): AsyncIterable<{ key: readonly unknown[]; value: unknown }>;
  atomic(): KvAtomicLike;
  close(): void;
}
