/**
 * Runtime adapters: pick the one for the runtime this process runs on.
 *
 * Only the chosen adapter is loaded (dynamic `import()`), so Deno never loads the Bun file and Node never loads
 * either. Each runtime folder (`adapters/deno`, `adapters/bun`, `adapters/node`) can also be imported directly;
 * the node:net adapter works under all three runtimes.
 *
 * @example
 * ```ts
 * import { createTcpListener, runtimeName } from "@comqtt/broker";
 * const listener = await createTcpListener({ host: "127.0.0.1", port: 1883 });
 * console.log(`${runtimeName()} ${listener.address}`);
 * ```
 * @module
 */

import type { Listener } from "../src/transport/connection.ts";
import type { TcpListenerOptions } from "./_tcp_common.ts";
import type { TlsListenerOptions } from "./_tls_common.ts";
import type { WsListenerOptions } from "./_ws_common.ts";
import type { UnixListenerOptions } from "./_unix_common.ts";

export type { TcpListenerOptions } from "./_tcp_common.ts";
export type { Pem, TlsListenerOptions, TlsOptions } from "./_tls_common.ts";
export type { WsListenerOptions } from "./_ws_common.ts";
export type { UnixListenerOptions } from "./_unix_common.ts";
export type { ListenerLimitOptions } from "./_limit.ts";
export { DEFAULT_HIGH_WATER_MARK } from "./_outbox.ts";

/** The runtimes comqtt-ts runs on. */
export type RuntimeName = "deno" | "bun" | "node";

interface RuntimeGlobals {
  Deno?: { version?: { deno?: string } };
  Bun?: { version?: string };
  process?: { versions?: { node?: string } };
}

/** Which runtime runs this process: `deno`, `bun`, or `node` for anything else. */
export function runtimeName(): RuntimeName {
  const g = globalThis as RuntimeGlobals;
  if (g.Deno !== undefined) return "deno";
  if (g.Bun !== undefined) return "bun";
  return "node";
}

/** The running runtime's version, e.g. `2.9.6` (Deno), `1.4.5` (Bun), `26.10.0` (Node); `unknown` if hidden. */
export function runtimeVersion(): string {
  const g = globalThis as RuntimeGlobals;
  switch (runtimeName()) {
    case "deno":
      return g.Deno?.version?.deno ?? "unknown";
    case "bun":
      return g.Bun?.version ?? "unknown";
    default:
      return g.process?.versions?.node ?? "unknown";
  }
}

/**
 * Create a TCP listener with the running runtime's native adapter (`Deno.listen`, `Bun.listen`, `node:net`).
 * Nothing is bound until the listener's `listen()`.
 */
export async function createTcpListener(options: TcpListenerOptions = {}): Promise<Listener> {
  switch (runtimeName()) {
    case "deno":
      return (await import("./deno/tcp.ts")).createTcpListener(options);
    case "bun":
      return (await import("./bun/tcp.ts")).createTcpListener(options);
    default:
      return (await import("./node/tcp.ts")).createTcpListener(options);
  }
}

/**
 * Create an MQTT-over-TLS listener (default port 8883) with the running runtime's adapter (`Deno.listenTls`,
 * `Bun.listen({ tls })`, `node:tls`). With `tls.clientCa`, every client must present a certificate signed by
 * that CA; Deno then uses node:tls, as Deno.listenTls cannot ask for client certificates.
 *
 * @example
 * ```ts
 * import { readFile } from "node:fs/promises";
 * import { createTlsListener } from "@comqtt/broker";
 *
 * const listener = await createTlsListener({
 *   port: 8883,
 *   tls: { cert: await readFile("server.crt", "utf8"), key: await readFile("server.key", "utf8") },
 * });
 * ```
 */
export async function createTlsListener(options: TlsListenerOptions): Promise<Listener> {
  switch (runtimeName()) {
    case "deno":
      return (await import("./deno/tls.ts")).createTlsListener(options);
    case "bun":
      return (await import("./bun/tls.ts")).createTlsListener(options);
    default:
      return (await import("./node/tls.ts")).createTlsListener(options);
  }
}

/**
 * Create an MQTT-over-WebSocket listener (default port 1882, path `/mqtt`; WSS on 8884 with `tls`) with the
 * running runtime's server (`Deno.upgradeWebSocket`, `Bun.serve`, the `ws` package). With `tls.clientCa`, Deno
 * and Bun use the `ws` adapter, as their servers cannot show the client certificate.
 *
 * @example
 * ```ts
 * const listener = await createWsListener({ host: "0.0.0.0", port: 1882, path: "/mqtt" });
 * ```
 */
export async function createWsListener(options: WsListenerOptions = {}): Promise<Listener> {
  switch (runtimeName()) {
    case "deno":
      return (await import("./deno/ws.ts")).createWsListener(options);
    case "bun":
      return (await import("./bun/ws.ts")).createWsListener(options);
    default:
      return (await import("./node/ws.ts")).createWsListener(options);
  }
}

/**
 * Create an MQTT listener on a Unix domain socket (`Deno.listen`, `Bun.listen`, `node:net`). A socket file left
 * by a crash is replaced; one that a live process listens on is not (listen() rejects).
 *
 * @example
 * ```ts
 * const listener = await createUnixListener({ path: "/run/comqtt.sock", mode: 0o660 });
 * ```
 */
export async function createUnixListener(options: UnixListenerOptions): Promise<Listener> {
  switch (runtimeName()) {
    case "deno":
      return (await import("./deno/unix.ts")).createUnixListener(options);
    case "bun":
      return (await import("./bun/unix.ts")).createUnixListener(options);
    default:
      return (await import("./node/unix.ts")).createUnixListener(options);
  }
}

import type { FetchApp, HttpServer, HttpServerOptions } from "./_http_common.ts";
export type { FetchApp, HttpServer, HttpServerOptions } from "./_http_common.ts";

/**
 * Create an HTTP server for a fetch app (the Hono dashboard) with the running runtime's server (`Deno.serve`,
 * `Bun.serve`, `@hono/node-server`). Nothing is bound until the server's `listen()`.
 *
 * @example
 * ```ts
 * const server = await createHttpServer({ fetch: () => new Response("ok") }, { host: "127.0.0.1", port: 0 });
 * await server.listen();
 * await server.close();
 * ```
 */
export async function createHttpServer(
  app: FetchApp,
  options: HttpServerOptions = {},
): Promise<HttpServer> {
  switch (runtimeName()) {
    case "deno":
      return (await import("./deno/http.ts")).createHttpServer(app, options);
    case "bun":
      return (await import("./bun/http.ts")).createHttpServer(app, options);
    default:
      return (await import("./node/http.ts")).createHttpServer(app, options);
  }
}

import type { Storage } from "../src/storage/storage.ts";
import type { SqliteStorageOptions } from "../src/storage/sqlite_storage.ts";
export type { SqliteStorageOptions } from "../src/storage/sqlite_storage.ts";

/**
 * Open the Deno KV database file at `path` as broker storage with the runtime's KV: `Deno.openKv` on Deno,
 * `@deno/kv` on Bun and Node. A file that is not a KV database rejects here; damaged records reject at `load()`.
 */
export async function openKvStorage(path: string): Promise<Storage> {
  switch (runtimeName()) {
    case "deno":
      return (await import("./deno/kv.ts")).openKvStorage(path);
    case "bun":
      return (await import("./bun/kv.ts")).openKvStorage(path);
    default:
      return (await import("./node/kv.ts")).openKvStorage(path);
  }
}

/**
 * Open the SQLite database file at `path` as broker storage with the runtime's built-in SQLite: `bun:sqlite` on
 * Bun, `node:sqlite` on Node and Deno. For platforms where `@deno/kv` has no build (linux-arm64 under Bun or Node).
 * A file that is not a SQLite database rejects here; damaged records reject at `load()`. `options.synchronous`
 * defaults to `full` (see src/storage/_sqlite_schema.ts for why).
 */
export async function openSqliteStorage(path: string, options: SqliteStorageOptions = {}): Promise<Storage> {
  switch (runtimeName()) {
    case "deno":
      return (await import("./deno/sqlite.ts")).openSqliteStorage(path, options);
    case "bun":
      return (await import("./bun/sqlite.ts")).openSqliteStorage(path, options);
    default:
      return (await import("./node/sqlite.ts")).openSqliteStorage(path, options);
  }
}
