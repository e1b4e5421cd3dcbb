/**
 * Deno KV storage on Deno: the runtime's own `Deno.openKv` (needs `--unstable-kv` or `"unstable": ["kv"]` in
 * deno.json, which this project sets).
 * @module
 */

import { type KvLike, kvOpenError, KvStorage } from "../../src/storage/kv_storage.ts";
import type { Storage } from "../../src/storage/storage.ts";

/** Open the KV database file at `path` (created if missing) and return the raw handle. */
export async function openKv(path: string): Promise<KvLike> {
  if (path === "") throw new TypeError("Cannot open a KV database: the path is empty");
  if (typeof Deno.openKv !== "function") {
    throw new Error(
      `Cannot open the KV database "${path}": Deno KV is unstable in Deno 2; run with --unstable-kv or add ` +
        '"unstable": ["kv"] to deno.json',
    );
  }
  try {
    return await Deno.openKv(path);
  } catch (err) {
    throw kvOpenError(path, err);
  }
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
export async function openKvStorage(path: string): Promise<Storage> {
  return new KvStorage(await openKv(path));
}
