/**
 * The Bun adapters: listeners, HTTP serving, KV and SQLite storage. Imported as `@comqtt/broker/bun` (or this folder) to pin
 * the runtime statically, for bundling or compiling for one runtime; `adapters/mod.ts` picks one at run time.
 *
 * @example MQTT over TCP and WebSocket, with sessions and retained messages kept in SQLite (`bun:sqlite`)
 * ```ts
 * import { AllowHook, Broker } from "@comqtt/broker";
 * import { createTcpListener, createWsListener, openSqliteStorage } from "@comqtt/broker/bun";
 *
 * const storage = await openSqliteStorage("./comqtt.db");
 * const broker = new Broker({ hooks: [new AllowHook()], storage });
 * await broker.addListener(createTcpListener({ host: "127.0.0.1", port: 1883 }));
 * await broker.addListener(createWsListener({ host: "127.0.0.1", port: 1882, path: "/mqtt" }));
 * await broker.listen();
 * // ...
 * await broker.close(); // closes the storage too
 * ```
 * @module
 */

export { createTcpListener, type TcpListenerOptions } from "./tcp.ts";
export { createTlsListener, type TlsListenerOptions } from "./tls.ts";
export { createWsListener, type WsListenerOptions } from "./ws.ts";
export { createUnixListener, type UnixListenerOptions } from "./unix.ts";
export { createHttpServer, type HttpServer, type HttpServerOptions } from "./http.ts";
export { openKv, openKvStorage } from "./kv.ts";
export { openSqlite, openSqliteStorage } from "./sqlite.ts";
