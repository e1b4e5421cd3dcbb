/**
 * SQLite storage on Bun with the built-in `bun:sqlite`.
 * @module
 */

import { Database } from "bun:sqlite";
import type { Storage } from "../../src/storage/storage.ts";
import {
  openSqliteStorageWith,
  type SqliteLike,
  sqliteOpenError,
  type SqliteStorageOptions,
} from "../../src/storage/sqlite_storage.ts";

/** Open the SQLite database file at `path` (created if missing) and return the raw handle. */
export function openSqlite(path: string): SqliteLike {
  if (path === "") throw new TypeError("Cannot open a SQLite database: the path is empty");
  try {
    // `strict`: bind errors throw instead of binding null. Positional `?` parameters need no prefix either way.
    return new Database(path, { create: true, readwrite: true, strict: true }) as unknown as SqliteLike;
  } catch (err) {
    throw sqliteOpenError(path, err);
  }
}

/**
 * Open the SQLite database file at `path` as broker storage: WAL journal, `synchronous=FULL`, a busy timeout,
 * and the tables created or checked. A file that is not a SQLite database, or one with a schema of another
 * layout, rejects here; damaged records reject at `load()`.
 *
 * @example
 * ```ts
 * const storage = await openSqliteStorage("./comqtt.db");
 * const state = await storage.load();
 * ```
 */
export function openSqliteStorage(path: string, options: SqliteStorageOptions = {}): Promise<Storage> {
  return openSqliteStorageWith(() => openSqlite(path), path, options);
}
