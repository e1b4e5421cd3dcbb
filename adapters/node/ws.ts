/**
 * WebSocket (and WSS) listener on `node:http` plus the `ws` package. It is Node's native adapter, and it runs
 * under Deno and Bun too, where their own servers cannot do what is asked: with `tls.clientCa` the Deno and Bun
 * adapters hand over to this one (Deno.serve cannot request client certificates; Bun.serve does not show the
 * certificate it verified).
 *
 * For WSS a `node:tls` server does the handshake and hands each secure socket to the HTTP server, rather than
 * `node:https`: under Bun, `node:https` does not expose the client certificate on an upgrade, a `node:tls`
 * socket does (measured on Bun 1.4.5).
 * @module
 */

import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from "node:http";
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from "node:tls";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { Buffer } from "node:buffer";
import { type RawData, type WebSocket, WebSocketServer } from "ws";
import type { AcceptInfo, Listener } from "../../src/transport/connection.ts";
import { ConnectionLimit } from "../_limit.ts";
import { bindingListener } from "../_listener.ts";
import { hostPort } from "../_tcp_common.ts";
import { bindServer } from "./_bind.ts";
import { refuse, requestParts } from "./_upgrade_request.ts";
import { commonNameOf, HANDSHAKE_TIMEOUT_MS, tlsAcceptInfo } from "../_tls_common.ts";
import {
  BUSY,
  checkUpgrade,
  chooseSubprotocol,
  CLOSING,
  resolveWsOptions,
  type WsListenerOptions,
} from "../_ws_common.ts";
import { WsConnection } from "../_ws_connection.ts";

export type { WsListenerOptions } from "../_ws_common.ts";

/**
 * Create a WebSocket listener (WSS with `tls`) on node:http and `ws`. Nothing is bound until `listen()`.
 *
 * @example
 * ```ts
 * import { AllowHook, Broker } from "@comqtt/broker";
 * import { createWsListener } from "@comqtt/broker/node";
 *
 * const broker = new Broker({ hooks: [new AllowHook()] });
 * const listener = createWsListener({ host: "127.0.0.1", port: 0, path: "/mqtt" });
 * await broker.addListener(listener);
 * ```
 */
export function createWsListener(options: WsListenerOptions = {}): Listener {
  const o = resolveWsOptions(options);
  return bindingListener({ ...o, protocol: o.tls ? "wss" : "ws" }, async (accept) => {
    const limit = new ConnectionLimit(o.id, o);
    let closing = false;
    const check = (req: IncomingMessage) =>
      closing ? CLOSING : checkUpgrade(requestParts(req), o.path, o.allowedOrigins);
    const wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: o.maxMessageSize,
      // The same choice as checkUpgrade, which already refused requests offering neither [MQTT-6.0.0-4].
      handleProtocols: (offered: Set<string>) => chooseSubprotocol([...offered].join(",")) ?? false,
    });
    const http = createHttpServer();
    http.on("request", (req, res) => {
      // Not an upgrade (node:http routes those to "upgrade"): 404 for another path, else 426.
      const checked = check(req);
      const { status, message } = "status" in checked
        ? checked
        : { status: 426, message: "Upgrade required\n" };
      res.writeHead(status, { "content-type": "text/plain; charset=utf-8", connection: "close" }).end(
        message,
      );
    });
    http.on("upgrade", (req: IncomingMessage, duplex: Duplex, head: Buffer) => {
      const socket = duplex as Socket;
      const checked = check(req);
      if ("status" in checked) return refuse(socket, checked);
      const remote = hostPort(socket.remoteAddress ?? "unknown", socket.remotePort ?? 0);
      let info: AcceptInfo = { listener: o.id };
      if (o.tls) {
        const decided = tlsAcceptInfo(
          o.id,
          o.tls,
          commonNameOf((socket as TLSSocket).getPeerCertificate?.()),
        );
        if ("refuse" in decided) {
          return refuse(socket, { status: 403, message: `Forbidden: ${decided.refuse}\n` });
        }
        info = decided;
      }
      if (!limit.admit(remote)) return refuse(socket, BUSY);
      let opened = false;
      // ws answers a malformed handshake itself and never calls back: the admission ends with the socket.
      socket.once("close", () => {
        if (!opened) limit.release();
      });
      wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
        opened = true;
        openWebSocket(ws, remote, o, () => limit.release()).open(accept, info);
      });
    });
    http.on("clientError", (_error, socket) => socket.destroy());
    let front: HttpServer | TlsServer = http;
    if (o.tls) {
      front = createTlsServer({
        cert: o.tls.cert,
        key: o.tls.key,
        ...(o.tls.clientCa === undefined
          ? {}
          : { ca: o.tls.clientCa, requestCert: true, rejectUnauthorized: true }),
        handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
      }, (socket) => http.emit("connection", socket));
      // A failed handshake (wrong client certificate, plain HTTP on the TLS port) concerns that socket only.
      front.on("tlsClientError", () => {});
    }
    const binding = await bindServer(front, o.host, o.port);
    return {
      ...binding,
      close() {
        closing = true;
        // Stops accepting; upgraded sockets are no longer the HTTP server's, so they stay the broker's to close.
        binding.close();
        if (front !== http) http.close();
      },
    };
  });
}

/** A `ws` WebSocket as a {@link WsConnection}; `released` runs when it closes. */
function openWebSocket(
  ws: WebSocket,
  remote: string,
  options: { highWaterMark: number; maxMessageSize: number },
  released: () => void,
): WsConnection {
  const connection = new WsConnection(
    {
      send: (bytes) => ws.send(bytes, { binary: true }),
      bufferedAmount: () => ws.bufferedAmount,
      close: (code, reason) => ws.close(code, reason),
      terminate: () => ws.terminate(),
      pause: () => ws.pause(),
      resume: () => ws.resume(),
    },
    remote,
    options,
  );
  // binaryType "nodebuffer" (the default): one Buffer per message.
  ws.on(
    "message",
    (data: RawData, isBinary: boolean) => connection.message(isBinary ? data as Uint8Array : "text"),
  );
  ws.on("error", (error: Error) => connection.error(error));
  ws.on("close", (code: number, reason: Uint8Array) => {
    released();
    connection.socketClosed(code, String(reason));
  });
  return connection;
}
