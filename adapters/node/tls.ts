/**
 * MQTT over TLS on `node:tls`. Each secure socket becomes the same connection the TCP listener makes. It also runs
 * under Deno and Bun: Deno's TLS listener hands over to it when client certificates are asked for
 * (Deno.listenTls cannot request them).
 * @module
 */

import { createServer, type TLSSocket } from "node:tls";
import type { Listener } from "../../src/transport/connection.ts";
import { socketListener } from "../_listener.ts";
import { resolveTcpOptions } from "../_tcp_common.ts";
import { bindServer } from "./_bind.ts";
import {
  commonNameOf,
  DEFAULT_TLS_PORT,
  HANDSHAKE_TIMEOUT_MS,
  resolveTls,
  tlsAcceptInfo,
  type TlsListenerOptions,
} from "../_tls_common.ts";
import { startSocket } from "./tcp.ts";

export type { TlsListenerOptions } from "../_tls_common.ts";

/**
 * Create a TLS listener on node:tls (default port 8883). Nothing is bound until `listen()`.
 *
 * @example
 * ```ts
 * import { readFile } from "node:fs/promises";
 * import { AllowHook, Broker } from "@comqtt/broker";
 * import { createTlsListener } from "@comqtt/broker/node";
 *
 * const [certPem, keyPem, caPem] = await Promise.all(
 *   ["server.crt", "server.key", "ca.crt"].map((file) => readFile(file, "utf8")),
 * );
 * const broker = new Broker({ hooks: [new AllowHook()] });
 * const listener = createTlsListener({ port: 8883, tls: { cert: certPem, key: keyPem, clientCa: caPem } });
 * await broker.addListener(listener);
 * ```
 */
export function createTlsListener(options: TlsListenerOptions): Listener {
  const o = resolveTcpOptions(options, "TLS", DEFAULT_TLS_PORT);
  const tls = resolveTls(options?.tls, `TLS listener "${o.id}"`);
  return socketListener({ ...o, protocol: "tls" }, options, (accept) => {
    const server = createServer({
      cert: tls.cert,
      key: tls.key,
      ...(tls.clientCa === undefined
        ? {}
        : { ca: tls.clientCa, requestCert: true, rejectUnauthorized: true }),
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
      // As the TCP listener: a peer's close_notify/FIN must not end our side before our queued bytes went out.
      allowHalfOpen: true,
    });
    server.on("secureConnection", (socket: TLSSocket) => {
      const decided = tlsAcceptInfo(o.id, tls, commonNameOf(socket.getPeerCertificate()));
      if ("refuse" in decided) return socket.destroy();
      startSocket(socket, o.highWaterMark, accept, decided);
    });
    // A failed handshake (a wrong client certificate, a plain TCP client) concerns that socket only.
    server.on("tlsClientError", () => {});
    return bindServer(server, o.host, o.port);
  });
}
