/**
 * Loading the npm package `@deno/kv` (Deno KV on Bun and Node) lazily, and saying what to do when it cannot
 * load: the package ships its SQLite engine as N-API builds for linux-x64, darwin and win32-x64 only, so on a
 * linux-arm64 board `openKv` fails ("No default napi interface", caused by "Cannot find module
 * '@deno/kv-linux-arm64-gnu'"). That error names no way out; ours names `storage.type: sqlite`.
 * @module
 */

import process from "node:process";
import { type KvLike, kvOpenError } from "../src/storage/kv_storage.ts";

/** The `@deno/kv` module. */
export type DenoKvPackage = typeof import("@deno/kv");

/** How the package is loaded; tests pass one that fails the way a platform without a build does. */
export type DenoKvLoader = () => Promise<DenoKvPackage>;

/** Options of the Bun and Node `openKv`. */
export interface DenoKvOpenOptions {
  /**
   * Load `@deno/kv`. Default: `import("@deno/kv")`. A test seam typed by the npm package itself, so left out
   * of the generated docs.
   * @ignore
   */
  load?: DenoKvLoader;
}

/** The default loader. A dynamic import, so a config without `denokv` never loads the package. */
export function loadDenoKvPackage(): Promise<DenoKvPackage> {
  return import("@deno/kv");
}

/**
 * Load the package and open the database with it; a failure to load the package or its native build becomes an
 * error that names `sqlite` as the way out, any other failure the usual "Cannot open the KV database".
 */
export async function openWithDenoKvPackage(
  path: string,
  open: (pkg: DenoKvPackage) => Promise<KvLike>,
  load: DenoKvLoader = loadDenoKvPackage,
): Promise<KvLike> {
  let pkg: DenoKvPackage;
  try {
    pkg = await load();
  } catch (err) {
    throw kvUnavailableError(path, err);
  }
  try {
    return await open(pkg);
  } catch (err) {
    throw isNativeLoadFailure(err) ? kvUnavailableError(path, err) : kvOpenError(path, err);
  }
}

/** What `@deno/kv` 0.14 throws when its N-API build did not load (the load error is the cause). */
function isNativeLoadFailure(err: unknown): boolean {
  const text = [err, (err as { cause?: unknown })?.cause].map((e) => e instanceof Error ? e.message : "")
    .join("\n");
  return /No default napi interface|Cannot find module '@deno\/kv-|Failed to load native binding|Unsupported (OS|architecture)/
    .test(text);
}

/** The error for a platform where `@deno/kv` cannot load: it names the platform, the reason and `sqlite`. */
export function kvUnavailableError(path: string, err: unknown): Error {
  const cause = (err as { cause?: unknown })?.cause;
  const deepest = cause instanceof Error ? cause : err;
  const why = deepest instanceof Error ? deepest.message.split("\n")[0] : String(deepest);
  return new Error(
    `Cannot open the KV database "${path}": the @deno/kv package cannot load on ${process.platform}-${process.arch} ` +
      `(${why}); it has no build for every platform (none for linux-arm64). Use SQLite instead: ` +
      `set storage.type to "sqlite" (storage: { type: sqlite, path: ./comqtt.db }), or run on Deno, whose own KV ` +
      "needs no npm build",
    { cause: err },
  );
}
