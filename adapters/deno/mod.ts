/**
 * The Deno adapters: listeners, HTTP serving and KV storage. Imported as `@comqtt/broker/deno` (or this folder) to pin
 * the runtime statically, for bundling or compiling for one runtime; `adapters/mod.ts` picks one at run time.
 * @module
 */

export { createTcpListener, type TcpListenerOptions } from "./tcp.ts";
export { createTlsListener, type TlsListenerOptions } from "./tls.ts";
export { createWsListener, type WsListenerOptions } from "./ws.ts";
export { createHttpServer, type HttpServer, type HttpServerOptions } from "./http.ts";
export { openKv, openKvStorage } from "./kv.ts";
