/**
 * WebSocket (and WSS) listener on `Bun.serve` with its `websocket` handlers.
 *
 * Bun facts this file relies on (Bun 1.4.5): `server.upgrade(req, { headers })` sends our
 * `Sec-WebSocket-Protocol`; `send()` returns -1 under back-pressure and `drain` follows; `stop(false)` leaves
 * upgraded sockets open; the default `idleTimeout` (120 s) would close a quiet MQTT client, so it is turned off
 * and MQTT's keep-alive decides. Bun.serve can verify client certificates but does not show the certificate to
 * the handler, so a listener with `tls.clientCa` is the `ws` adapter (node:tls shows it under Bun).
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

interface SocketData {
  remote: string;
  connection?: WsConnection;
}
// The few Bun APIs used, declared structurally so this file needs no Bun type library (and deno check passes).
interface BunServerWebSocket {
  readonly data: SocketData;
  send(data: Uint8Array): number;
  getBufferedAmount(): number;
  close(code?: number, reason?: string): void;
  terminate(): void;
  pause(): void;
  resume(): void;
}
interface BunServer {
  readonly port: number;
  readonly hostname: string;
  upgrade(request: Request, options: { headers: Record<string, string>; data: SocketData }): boolean;
  requestIP(request: Request): { address: string; port: number } | null;
  stop(closeActiveConnections?: boolean): void;
}
interface BunApi {
  serve(options: {
    hostname: string;
    port: number;
    development: boolean;
    reusePort: boolean;
    tls?: { cert: string; key: string };
    fetch(request: Request, server: BunServer): Response | undefined;
    error(error: Error): Response;
    websocket: {
      idleTimeout: number;
      maxPayloadLength: number;
      perMessageDeflate: boolean;
      open(ws: BunServerWebSocket): void;
      message(ws: BunServerWebSocket, message: string | Uint8Array): void;
      drain(ws: BunServerWebSocket): void;
      close(ws: BunServerWebSocket, code: number, reason: string): void;
    };
  }): BunServer;
}

/**
 * Create a WebSocket listener (WSS with `tls`) on Bun.serve; with `tls.clientCa`, on node:http and `ws`.
 * Nothing is bound until `listen()`.
 *
 * @example
 * ```ts
 * import { AllowHook, Broker } from "@comqtt/broker";
 * import { createWsListener } from "@comqtt/broker/bun";
 *
 * const broker = new Broker({ hooks: [new AllowHook()] });
 * const listener = createWsListener({ host: "127.0.0.1", port: 0 });
 * await broker.addListener(listener);
 * ```
 */
export function createWsListener(options: WsListenerOptions = {}): Listener {
  const o = resolveWsOptions(options);
  if (o.tls?.clientCa !== undefined) return createNodeWsListener(options);
  const bun = (globalThis as unknown as { Bun: BunApi }).Bun;
  return bindingListener({ ...o, protocol: o.tls ? "wss" : "ws" }, (accept) => {
    const limit = new ConnectionLimit(o.id, o);
    let closing = false;
    let server: BunServer;
    try {
      server = bun.serve({
        hostname: o.host,
        port: o.port,
        development: false,
        // Bun 1.4.5 turns SO_REUSEPORT on when `development` is false, so a taken port would "bind" silently.
        reusePort: false,
        ...(o.tls ? { tls: { cert: o.tls.cert, key: o.tls.key } } : {}),
        fetch: (request, server) => {
          const check = closing
            ? CLOSING
            : checkUpgrade(webUpgradeRequest(request), o.path, o.allowedOrigins);
          if ("status" in check) return respond(check);
          const ip = server.requestIP(request);
          const remote = hostPort(ip?.address ?? "unknown", ip?.port ?? 0);
          if (!limit.admit(remote)) return respond(BUSY);
          // [MQTT-6.0.0-4] answer with the chosen subprotocol.
          const headers = { "Sec-WebSocket-Protocol": check.protocol };
          if (server.upgrade(request, { headers, data: { remote } })) return undefined;
          limit.release();
          return respond({ status: 400, message: "Bad request: not a valid WebSocket handshake\n" });
        },
        error: () => respond({ status: 500, message: "Internal server error\n" }),
        websocket: {
          idleTimeout: 0,
          maxPayloadLength: o.maxMessageSize,
          perMessageDeflate: false,
          open: (ws) => {
            const connection = new WsConnection(
              {
                send: (bytes) => void ws.send(bytes),
                bufferedAmount: () => ws.getBufferedAmount(),
                close: (code, reason) => ws.close(code, reason),
                terminate: () => ws.terminate(),
                pause: () => ws.pause(),
                resume: () => ws.resume(),
              },
              ws.data.remote,
              o,
            );
            ws.data.connection = connection;
            connection.open(accept, { listener: o.id });
          },
          message: (ws, message) => ws.data.connection?.message(message),
          drain: (ws) => ws.data.connection?.writable(),
          close: (ws, code, reason) => {
            limit.release();
            ws.data.connection?.socketClosed(code, reason);
          },
        },
      });
    } catch (error) {
      throw listenError(o.host, o.port, error);
    }
    return {
      host: server.hostname,
      port: server.port,
      close() {
        closing = true;
        // false: stop accepting, keep the open WebSockets (they are the broker's to close).
        server.stop(false);
      },
    };
  });
}
