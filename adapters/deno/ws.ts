/**
 * WebSocket (and WSS) listener on `Deno.serve` and `Deno.upgradeWebSocket`.
 *
 * Deno facts this file works around (Deno 2.9.6):
 * - `server.shutdown()` closes every upgraded WebSocket (1001). `close()` must only stop accepting, so it answers
 *   503 from then on and shuts the server down once its last WebSocket has closed.
 * - `info.remoteAddr` can only be read while the request is handled, not once the socket is open.
 * - The server-side `socket.protocol` stays "" although the handshake answered `mqtt`, and the `protocol` option
 *   of upgradeWebSocket only understands offers separated by ", " (so the header is set by hand).
 * - Deno.serve cannot request client certificates: a listener with `tls.clientCa` is the `ws` adapter.
 * @module
 */

import type { Accept, Listener } from "../../src/transport/connection.ts";
import { ConnectionLimit } from "../_limit.ts";
import { alreadyListening, hostPort, listenError } from "../_tcp_common.ts";
import {
  BUSY,
  checkUpgrade,
  CLOSING,
  type Refusal,
  type ResolvedWsOptions,
  resolveWsOptions,
  type WsListenerOptions,
} from "../_ws_common.ts";
import { WsConnection } from "../_ws_connection.ts";
import { createWsListener as createNodeWsListener } from "../node/ws.ts";

export type { WsListenerOptions } from "../_ws_common.ts";

// The few Deno APIs used, declared structurally so this file needs no Deno type library.
interface DenoWebSocket {
  binaryType: string;
  readonly bufferedAmount: number;
  onopen: (() => void) | null;
  onmessage: ((event: { data: ArrayBuffer | string }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: { message?: string }) => void) | null;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
}
interface DenoServer {
  readonly addr: { hostname: string; port: number };
  shutdown(): Promise<void>;
}
interface DenoApi {
  serve(
    options: {
      hostname: string;
      port: number;
      cert?: string;
      key?: string;
      onListen(): void;
      onError(error: unknown): Response;
    },
    handler: (request: Request, info: { remoteAddr: { hostname: string; port: number } }) => Response,
  ): DenoServer;
  upgradeWebSocket(
    request: Request,
    options: { idleTimeout: number },
  ): { socket: DenoWebSocket; response: Response };
}

function deno(): DenoApi {
  return (globalThis as unknown as { Deno: DenoApi }).Deno;
}

/**
 * Create a WebSocket listener (WSS with `tls`) on Deno.serve; with `tls.clientCa`, on node:http and `ws`.
 * Nothing is bound until `listen()`.
 *
 * @example
 * ```ts
 * const listener = createWsListener({ host: "127.0.0.1", port: 0 });
 * await broker.addListener(listener);
 * ```
 */
export function createWsListener(options: WsListenerOptions = {}): Listener {
  const resolved = resolveWsOptions(options);
  if (resolved.tls?.clientCa !== undefined) return createNodeWsListener(options);
  return new DenoWsListener(resolved);
}

class DenoWsListener implements Listener {
  readonly id: string;
  readonly protocol: string;
  readonly #options: ResolvedWsOptions;
  readonly #limit: ConnectionLimit;
  #server: DenoServer | undefined;
  #closing = false;
  #host: string;
  #port: number;

  constructor(options: ResolvedWsOptions) {
    this.id = options.id;
    this.protocol = options.tls ? "wss" : "ws";
    this.#options = options;
    this.#limit = new ConnectionLimit(options.id, options);
    this.#host = options.host;
    this.#port = options.port;
  }

  get port(): number {
    return this.#port;
  }

  get address(): string {
    return hostPort(this.#host, this.#port);
  }

  listen(accept: Accept): Promise<void> {
    const { host, port, tls } = this.#options;
    if (this.#server) {
      return Promise.reject(alreadyListening(this.#options));
    }
    let server: DenoServer;
    try {
      server = deno().serve({
        hostname: host,
        port,
        ...(tls ? { cert: tls.cert, key: tls.key } : {}),
        onListen() {}, // Deno.serve logs "Listening on ..." unless told otherwise
        onError: () => respond({ status: 500, message: "Internal server error\n" }),
      }, (request, info) => this.#request(request, info.remoteAddr, accept));
    } catch (error) {
      return Promise.reject(listenError(host, port, error));
    }
    this.#server = server;
    this.#closing = false;
    this.#host = server.addr.hostname;
    this.#port = server.addr.port;
    return Promise.resolve();
  }

  close(): Promise<void> {
    if (this.#server === undefined || this.#closing) return Promise.resolve();
    this.#closing = true;
    this.#shutdownWhenIdle();
    return Promise.resolve();
  }

  #shutdownWhenIdle(): void {
    const server = this.#server;
    if (!this.#closing || server === undefined || this.#limit.open > 0) return;
    this.#server = undefined;
    server.shutdown().catch(() => {});
  }

  #request(request: Request, remoteAddr: { hostname: string; port: number }, accept: Accept): Response {
    const check = this.#closing ? CLOSING : checkUpgrade({
      method: request.method,
      url: request.url,
      upgrade: request.headers.get("upgrade"),
      protocol: request.headers.get("sec-websocket-protocol"),
    }, this.#options.path);
    if ("status" in check) return respond(check);
    const remote = hostPort(remoteAddr.hostname, remoteAddr.port);
    if (!this.#limit.admit(remote)) return respond(BUSY);
    let upgraded: { socket: DenoWebSocket; response: Response };
    try {
      // idleTimeout 0: MQTT's keep-alive decides.
      upgraded = deno().upgradeWebSocket(request, { idleTimeout: 0 });
      // [MQTT-6.0.0-4] answer with the chosen subprotocol. Set here rather than through the `protocol` option,
      // which splits the offered list on ", " only and so refuses "mqttv3.1,mqtt" (as the `ws` client sends it).
      upgraded.response.headers.set("sec-websocket-protocol", check.protocol);
    } catch (error) {
      this.#limit.release();
      return respond({ status: 400, message: `Bad request: ${(error as Error).message}\n` });
    }
    const socket = upgraded.socket;
    socket.binaryType = "arraybuffer";
    const connection = new WsConnection(
      {
        send: (bytes) => socket.send(bytes),
        bufferedAmount: () => socket.bufferedAmount,
        // Deno's close() takes 1000 or 3000-4999 only (the browser API's rule): 1003 becomes 1000 here.
        close: (code, reason) => socket.close(code === 1000 || code >= 3000 ? code : 1000, reason),
        // No way to drop a Deno WebSocket without the closing handshake.
        terminate: () => socket.close(1000),
      },
      remote,
      this.#options.highWaterMark,
    );
    socket.onopen = () => {
      try {
        connection.attach(accept(connection, { listener: this.id }));
      } catch {
        connection.destroy();
      }
    };
    socket.onmessage = (event) => {
      const data = event.data;
      connection.message(typeof data === "string" ? data : new Uint8Array(data));
    };
    socket.onerror = (event) => connection.error(new Error(event.message ?? "WebSocket error"));
    socket.onclose = (event) => {
      this.#limit.release();
      connection.socketClosed(event.code, event.reason);
      this.#shutdownWhenIdle();
    };
    return upgraded.response;
  }
}

function respond({ status, message }: Refusal): Response {
  return new Response(message, { status, headers: { "content-type": "text/plain; charset=utf-8" } });
}
