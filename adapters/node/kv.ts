/**
 * Deno KV storage on Node: `openKv` from the npm package `@deno/kv` (a SQLite file through its N-API addon).
 * Records are stored as bytes, so Node's default V8 serializer is never used for them.
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
  return await openWithDenoKvPackage(path, (kv) => kv.openKv(path), options.load);
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
