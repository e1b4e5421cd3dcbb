/**
 * The Deno adapters: listeners, HTTP serving, KV and SQLite storage. Imported as `@comqtt/broker/deno` (or this folder) to pin
 * the runtime statically, for bundling or compiling for one runtime; `adapters/mod.ts` picks one at run time.
 *
 * @example A broker on 127.0.0.1:1883 keeping its state in Deno KV (run with `--unstable-kv`)
 * ```ts
 * import { AllowHook, Broker } from "@comqtt/broker";
 * import { createTcpListener, openKvStorage } from "@comqtt/broker/deno";
 *
 * const storage = await openKvStorage("./comqtt.kv");
 * const broker = new Broker({ hooks: [new AllowHook()], storage });
 * await broker.addListener(createTcpListener({ host: "127.0.0.1", port: 1883 }));
 * await broker.listen();
 * // ...
 * await broker.close(); // closes the storage too
 * ```
 *
 * @example The dashboard and HTTP API next to the broker, on 127.0.0.1:8080
 * ```ts
 * import { AllowHook, Broker, createHttpApp } from "@comqtt/broker";
 * import { createHttpServer, createTcpListener } from "@comqtt/broker/deno";
 *
 * const broker = new Broker({ hooks: [new AllowHook()] });
 * await broker.addListener(createTcpListener({ host: "127.0.0.1", port: 1883 }));
 * await broker.listen();
 * const dashboard = createHttpApp({ broker });
 * dashboard.ready = true; // `/readyz` answers 200 from now on
 * const http = createHttpServer(dashboard, { host: "127.0.0.1", port: 8080 });
 * await http.listen();
 * // ...
 * await http.close();
 * dashboard.close();
 * await broker.close();
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
