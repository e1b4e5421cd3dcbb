/**
 * MQTT over TLS on `Bun.listen({ tls })`. Bun verifies client certificates itself (`requestCert` + `ca`) and
 * reports the result in the `handshake` callback; only then is the socket handed to the broker, as the same
 * connection the TCP listener makes.
 * @module
 */

import type { Listener } from "../../src/transport/connection.ts";
import { socketListener } from "../_listener.ts";
import { resolveTcpOptions } from "../_tcp_common.ts";
import {
  commonNameOf,
  DEFAULT_TLS_PORT,
  HANDSHAKE_TIMEOUT_MS,
  resolveTls,
  tlsAcceptInfo,
  type TlsListenerOptions,
} from "../_tls_common.ts";
import { bunListen, type BunSocket, connect, socketHandlers } from "./tcp.ts";
import { unrefTimer } from "../_ws_connection.ts";

export type { TlsListenerOptions } from "../_tls_common.ts";

type BunTlsSocket = BunSocket & { getPeerCertificate(): unknown };

/**
 * Create a TLS listener on Bun.listen (default port 8883). Nothing is bound until `listen()`.
 *
 * @example
 * ```ts
 * import { readFile } from "node:fs/promises";
 * import { createTlsListener } from "@comqtt/broker/bun";
 *
 * const certPem = await readFile("server.crt", "utf8");
 * const keyPem = await readFile("server.key", "utf8");
 * const listener = createTlsListener({ port: 8883, tls: { cert: certPem, key: keyPem } });
 * ```
 */
export function createTlsListener(options: TlsListenerOptions): Listener {
  const o = resolveTcpOptions(options, "TLS", DEFAULT_TLS_PORT);
  const tls = resolveTls(options?.tls, `TLS listener "${o.id}"`);
  return socketListener({ ...o, protocol: "tls" }, options, (accept) => {
    // Bun has no handshake timeout of its own: a client that never finishes must not hold the socket.
    const pending = new Map<BunTlsSocket, ReturnType<typeof setTimeout>>();
    const settle = (socket: BunTlsSocket) => {
      clearTimeout(pending.get(socket));
      pending.delete(socket);
    };
    const handlers = socketHandlers<BunTlsSocket>({
      open: (socket) => {
        const timer = setTimeout(() => {
          pending.delete(socket);
          socket.end();
        }, HANDSHAKE_TIMEOUT_MS);
        unrefTimer(timer);
        pending.set(socket, timer);
      },
      handshake: (socket, success, authorizationError) => {
        settle(socket);
        // With a client CA, Bun reports a bad certificate here (and closes); refuse it either way.
        if (!success || (tls.clientCa !== undefined && authorizationError)) return socket.end();
        const decided = tlsAcceptInfo(o.id, tls, commonNameOf(socket.getPeerCertificate()));
        if ("refuse" in decided) return socket.end();
        connect(socket, o.highWaterMark).open(accept, decided);
      },
    });
    const forwardClose = handlers.close;
    return bunListen<BunTlsSocket>({
      hostname: o.host,
      port: o.port,
      allowHalfOpen: true,
      tls: {
        cert: tls.cert,
        key: tls.key,
        ...(tls.clientCa === undefined ? {} : { ca: tls.clientCa }),
        requestCert: tls.clientCa !== undefined,
        rejectUnauthorized: tls.clientCa !== undefined,
      },
      socket: {
        ...handlers,
        close: (socket, error) => {
          settle(socket);
          forwardClose(socket, error);
        },
      },
    });
  });
}
