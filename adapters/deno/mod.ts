/**
 * The Deno adapters. Import this folder directly to pin the adapter; `adapters/mod.ts` picks one by runtime.
 * @module
 */

export { createTcpListener, type TcpListenerOptions } from "./tcp.ts";
export { createTlsListener, type TlsListenerOptions } from "./tls.ts";
export { createWsListener, type WsListenerOptions } from "./ws.ts";
export { createHttpServer, type HttpServer, type HttpServerOptions } from "./http.ts";
