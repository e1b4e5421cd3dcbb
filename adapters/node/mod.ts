/**
 * The node:net adapters: listeners, HTTP serving, KV and SQLite storage. Imported as `@comqtt/broker/node` (or this folder) to pin
 * the runtime statically, for bundling or compiling for one runtime; `adapters/mod.ts` picks one at run time.
 *
 * @example A broker with SQLite storage (`node:sqlite`) and the dashboard on 127.0.0.1:8080
 * ```ts
 * import { AllowHook, Broker, createHttpApp } from "@comqtt/broker";
 * import { createHttpServer, createTcpListener, openSqliteStorage } from "@comqtt/broker/node";
 *
 * const storage = await openSqliteStorage("./comqtt.db");
 * const broker = new Broker({ hooks: [new AllowHook()], storage });
 * await broker.addListener(createTcpListener({ host: "127.0.0.1", port: 1883 }));
 * await broker.listen();
 * const dashboard = createHttpApp({ broker });
 * dashboard.ready = true; // `/readyz` answers 200 from now on
 * const http = createHttpServer(dashboard, { host: "127.0.0.1", port: 8080 });
 * await http.listen();
 * // ...
 * await http.close();
 * dashboard.close();
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
