/**
 * Deno KV storage on Bun: `openKv` from the npm package `@deno/kv`. Bun's `v8.serialize` is not V8's format, so
 * the package needs its limited serializer (strings, booleans, null only, and strings over 255 characters come
 * back mangled); this backend stores every value as raw bytes, which bypass the serializer.
 * @module
 */

import { type KvLike, KvStorage } from "../../src/storage/kv_storage.ts";
import { type DenoKvOpenOptions, openWithDenoKvPackage } from "../_deno_kv_package.ts";
import type { Storage } from "../../src/storage/storage.ts";

/**
 * Open the KV database file at `path` (created if missing) and return the raw handle. Where `@deno/kv` has no
 * build (linux-arm64), this rejects with an error that names `storage.type: sqlite` as the way out.
 */
export async function openKv(path: string, options: DenoKvOpenOptions = {}): Promise<KvLike> {
  if (path === "") throw new TypeError("Cannot open a KV database: the path is empty");
  return await openWithDenoKvPackage(
    path,
    (kv) => kv.openKv(path, kv.makeLimitedV8Serializer()),
    options.load,
  );
}

/**
 * Open the KV database file at `path` as broker storage. A file that is not a KV (SQLite) database rejects here;
 * a database with damaged records rejects at `load()`.
 *
 * @example
 * ```ts
 * const storage = await openKvStorage("./comqtt.db");
 * const state = await storage.load();
 * ```
 */
export async function openKvStorage(path: string, options: DenoKvOpenOptions = {}): Promise<Storage> {
  return new KvStorage(await openKv(path, options));
}
