/**
 * The node:net adapters. Import this folder directly to pin the adapter; `adapters/mod.ts` picks one by runtime.
 * @module
 */

export { createTcpListener, type TcpListenerOptions } from "./tcp.ts";
