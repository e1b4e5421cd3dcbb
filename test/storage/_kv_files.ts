/**
 * KV databases for tests: temporary files opened through the running runtime's adapter, raw handles for
 * damaging them, and the storage-suite harness.
 * @module
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openKvStorage, runtimeName } from "../../adapters/mod.ts";
import type { KvLike } from "../../src/storage/kv_storage.ts";
import type { Storage } from "../../src/storage/storage.ts";
import type { StorageHarness } from "./storage_suite.ts";

/** Open a raw KV handle with the running runtime's adapter. */
export async function openRawKv(path: string): Promise<KvLike> {
  switch (runtimeName()) {
    case "deno":
      return (await import("../../adapters/deno/kv.ts")).openKv(path);
    case "bun":
      return (await import("../../adapters/bun/kv.ts")).openKv(path);
    default:
      return (await import("../../adapters/node/kv.ts")).openKv(path);
  }
}

/** A temporary folder for KV files; `remove()` deletes it with everything in it. */
export function tempDir(): { dir: string; file: (name?: string) => string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "comqtt-kv-"));
  return {
    dir,
    file: (name = "store.db") => join(dir, name),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Run `fn` on a raw handle of the database at `path`, closing it after. */
export async function withRawKv<T>(path: string, fn: (kv: KvLike) => Promise<T>): Promise<T> {
  const kv = await openRawKv(path);
  try {
    return await fn(kv);
  } finally {
    kv.close();
  }
}

/** Close a storage, ignoring that it may be closed already. */
export async function closeQuietly(storage: Storage): Promise<void> {
  try {
    await storage.close();
  } catch {
    // already closed
  }
}

/** The storage-suite harness for KV: a fresh file per test. */
export async function kvHarness(): Promise<StorageHarness> {
  const tmp = tempDir();
  const path = tmp.file();
  const harness: StorageHarness = {
    storage: await openKvStorage(path),
    async reopen() {
      await closeQuietly(harness.storage);
      harness.storage = await openKvStorage(path);
      return harness.storage;
    },
    async corrupt(topic: string) {
      await closeQuietly(harness.storage);
      const key = ["comqtt", "r", topic];
      await withRawKv(
        path,
        (kv) => kv.atomic().set(key, new Uint8Array([1, 0x4d, 0, 0, 0, 99, 1, 2])).commit(),
      );
      harness.storage = await openKvStorage(path);
      return { storage: harness.storage, where: JSON.stringify(key) };
    },
    async cleanup() {
      await closeQuietly(harness.storage);
      tmp.remove();
    },
  };
  return harness;
}
