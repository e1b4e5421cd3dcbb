/**
 * WebSocket (and WSS) listener on `Deno.serve` and `Deno.upgradeWebSocket`.
 *
 * Deno facts this file works around (Deno 2.9.6):
 * - `server.shutdown()` closes every upgraded WebSocket (1001). `close()` must only stop accepting, so it answers
 *   503 from then on and shuts the server down once its last WebSocket has closed.
 * - `info.remoteAddr` can only be read while the request is handled, not once the socket is open.
 * - The server-side `socket.protocol` stays "" although the handshake answered `mqtt`, and the `protocol` option
 *   of upgradeWebSocket only understands offers separated by ", " (so the header is set by hand).
 * - Deno.serve has no message size limit of its own below 64 MiB: the shared connection enforces ours.
 * - Deno.serve cannot request client certificates: a listener with `tls.clientCa` is the `ws` adapter.
 * @module
 */

import type { Listener } from "../../src/transport/connection.ts";
import { ConnectionLimit } from "../_limit.ts";
import { bindingListener } from "../_listener.ts";
import { hostPort, listenError } from "../_tcp_common.ts";
import {
  BUSY,
  checkUpgrade,
  CLOSING,
  resolveWsOptions,
  respond,
  webUpgradeRequest,
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
type Handler = (request: Request, info: { remoteAddr: { hostname: string; port: number } }) => Response;
interface DenoApi {
  serve(
    options: {
      hostname: string;
      port: number;
      cert?: string;
      key?: string;
      onListen(): void;
      onError(): Response;
    },
    handler: Handler,
  ): { readonly addr: { hostname: string; port: number }; shutdown(): Promise<void> };
  upgradeWebSocket(
    request: Request,
    options: { idleTimeout: number },
  ): { socket: DenoWebSocket; response: Response };
}

/**
 * Create a WebSocket listener (WSS with `tls`) on Deno.serve; with `tls.clientCa`, on node:http and `ws`.
 * Nothing is bound until `listen()`.
 *
 * @example
 * ```ts
 * import { AllowHook, Broker } from "@comqtt/broker";
 * import { createWsListener } from "@comqtt/broker/deno";
 *
 * const broker = new Broker({ hooks: [new AllowHook()] });
 * const listener = createWsListener({ host: "127.0.0.1", port: 0 });
 * await broker.addListener(listener);
 * ```
 */
export function createWsListener(options: WsListenerOptions = {}): Listener {
  const o = resolveWsOptions(options);
  if (o.tls?.clientCa !== undefined) return createNodeWsListener(options);
  const deno = (globalThis as unknown as { Deno: DenoApi }).Deno;
  return bindingListener({ ...o, protocol: o.tls ? "wss" : "ws" }, (accept) => {
    const limit = new ConnectionLimit(o.id, o);
    let closing = false;
    const shutdownWhenIdle = () => {
      if (closing && limit.open === 0) server.shutdown().catch(() => {});
    };
    const handler: Handler = (request, { remoteAddr }) => {
      const check = closing ? CLOSING : checkUpgrade(webUpgradeRequest(request), o.path, o.allowedOrigins);
      if ("status" in check) return respond(check);
      const remote = hostPort(remoteAddr.hostname, remoteAddr.port);
      if (!limit.admit(remote)) return respond(BUSY);
      let upgraded: { socket: DenoWebSocket; response: Response };
      try {
        // idleTimeout 0: MQTT's keep-alive decides.
        upgraded = deno.upgradeWebSocket(request, { idleTimeout: 0 });
        // [MQTT-6.0.0-4] answer with the chosen subprotocol. Set here rather than through the `protocol` option,
        // which splits the offered list on ", " only and so refuses "mqttv3.1,mqtt" (as the `ws` client sends it).
        upgraded.response.headers.set("sec-websocket-protocol", check.protocol);
      } catch (error) {
        limit.release();
        return respond({ status: 400, message: `Bad request: ${(error as Error).message}\n` });
      }
      const socket = upgraded.socket;
      socket.binaryType = "arraybuffer";
      const connection = new WsConnection(
        {
          send: (bytes) => socket.send(bytes),
          bufferedAmount: () => socket.bufferedAmount,
          // Deno's close() takes 1000 or 3000-4999 only (the browser API's rule): 1003 and 1009 become 1000 here.
          close: (code, reason) => socket.close(code === 1000 || code >= 3000 ? code : 1000, reason),
          // No way to drop a Deno WebSocket without the closing handshake.
          terminate: () => socket.close(1000),
        },
        remote,
        o,
      );
      socket.onopen = () => void connection.open(accept, { listener: o.id });
      socket.onmessage = ({ data }) =>
        connection.message(typeof data === "string" ? data : new Uint8Array(data));
      socket.onerror = (event) => connection.error(new Error(event.message ?? "WebSocket error"));
      socket.onclose = (event) => {
        limit.release();
        connection.socketClosed(event.code, event.reason);
        shutdownWhenIdle();
      };
      return upgraded.response;
    };
    let server: ReturnType<DenoApi["serve"]>;
    try {
      server = deno.serve({
        hostname: o.host,
        port: o.port,
        ...(o.tls ? { cert: o.tls.cert, key: o.tls.key } : {}),
        onListen() {}, // Deno.serve logs "Listening on ..." unless told otherwise
        onError: () => respond({ status: 500, message: "Internal server error\n" }),
      }, handler);
    } catch (error) {
      throw listenError(o.host, o.port, error);
    }
    return {
      host: server.addr.hostname,
      port: server.addr.port,
      close() {
        closing = true;
        shutdownWhenIdle();
      },
    };
  });
}
