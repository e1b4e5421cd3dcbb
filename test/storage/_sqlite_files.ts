/**
 * SQLite databases for tests: raw handles through the running runtime's adapter (for damaging a database from
 * outside), and the storage-suite harness on a fresh temporary file per test.
 * @module
 */

import { openSqliteStorage, runtimeName } from "../../adapters/mod.ts";
import type { SqliteLike } from "../../src/storage/sqlite_storage.ts";
import type { StorageHarness } from "./storage_suite.ts";
import { closeQuietly, tempDir } from "./_kv_files.ts";

/** Open a raw SQLite handle with the running runtime's adapter. */
export async function openRawSqlite(path: string): Promise<SqliteLike> {
  switch (runtimeName()) {
    case "deno":
      return (await import("../../adapters/deno/sqlite.ts")).openSqlite(path);
    case "bun":
      return (await import("../../adapters/bun/sqlite.ts")).openSqlite(path);
    default:
      return (await import("../../adapters/node/sqlite.ts")).openSqlite(path);
  }
}

/** Run `fn` on a raw handle of the database at `path`, closing it after. */
export async function withRawSqlite<T>(path: string, fn: (db: SqliteLike) => T): Promise<Awaited<T>> {
  const db = await openRawSqlite(path);
  try {
    return await fn(db);
  } finally {
    db.close();
  }
}

/** The storage-suite harness for SQLite: a fresh file per test. */
export async function sqliteHarness(): Promise<StorageHarness> {
  const tmp = tempDir();
  const path = tmp.file("store.sqlite");
  const harness: StorageHarness = {
    storage: await openSqliteStorage(path),
    async reopen() {
      await closeQuietly(harness.storage);
      harness.storage = await openSqliteStorage(path);
      return harness.storage;
    },
    async corrupt(topic: string) {
      await closeQuietly(harness.storage);
      await withRawSqlite(path, (db) => {
        db.prepare("UPDATE comqtt_retained SET record = ? WHERE topic = ?")
          .run(new Uint8Array([1, 0x4d, 0, 0, 0, 99, 1, 2]), topic);
      });
      harness.storage = await openSqliteStorage(path);
      return { storage: harness.storage, where: `comqtt_retained${JSON.stringify([topic])}` };
    },
    async cleanup() {
      await closeQuietly(harness.storage);
      tmp.remove();
    },
  };
  return harness;
}
