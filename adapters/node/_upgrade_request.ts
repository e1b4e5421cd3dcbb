/**
 * The node:http side of a WebSocket upgrade: the request parts the shared upgrade rules read, and an HTTP refusal
 * written straight to the socket (an upgrade request has no response object).
 * @module
 */

import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import type { Refusal, UpgradeRequest } from "../_ws_common.ts";

/** The parts of a node:http request that checkUpgrade reads. */
export function requestParts(req: IncomingMessage): UpgradeRequest {
  return {
    method: req.method ?? "GET",
    url: req.url ?? "/",
    upgrade: req.headers.upgrade,
    protocol: req.headers["sec-websocket-protocol"],
    origin: req.headers.origin,
  };
}

/** Answer an upgrade request with an HTTP error and close the socket. */
export function refuse(socket: Socket, { status, message }: Refusal): void {
  const reason = STATUS_TEXT[status] ?? "Error";
  const body = new TextEncoder().encode(message);
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${body.byteLength}\r\n\r\n${message}`,
  );
}

const STATUS_TEXT: Record<number, string> = {
  400: "Bad Request",
  403: "Forbidden",
  404: "Not Found",
  426: "Upgrade Required",
  503: "Service Unavailable",
};
