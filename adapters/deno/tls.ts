/**
 * MQTT over TLS on `Deno.listenTls`. Each connection finishes its handshake (bounded) before it reaches the
 * broker as the same connection the TCP listener makes.
 *
 * Deno.listenTls cannot request client certificates (Deno 2.9 has no option for it), so a listener with
 * `tls.clientCa` is the node:tls adapter, which Deno runs with client-certificate verification.
 * @module
 */

import type { Listener } from "../../src/transport/connection.ts";
import { socketListener } from "../_listener.ts";
import { listenError, resolveTcpOptions } from "../_tcp_common.ts";
import {
  DEFAULT_TLS_PORT,
  HANDSHAKE_TIMEOUT_MS,
  resolveTls,
  type TlsListenerOptions,
} from "../_tls_common.ts";
import { createTlsListener as createNodeTlsListener } from "../node/tls.ts";
import { type DenoConn, startConnection } from "./tcp.ts";
import { closeQuietly, type DenoServerSocket, serveEach } from "./_accept.ts";

export type { TlsListenerOptions } from "../_tls_common.ts";

type DenoTlsConn = DenoConn & { handshake(): Promise<unknown> };
interface DenoApi {
  listenTls(
    options: { hostname: string; port: number; transport: "tcp"; cert: string; key: string },
  ): DenoServerSocket<DenoTlsConn>;
}

/**
 * Create a TLS listener on Deno.listenTls (default port 8883); with `tls.clientCa`, on node:tls. Nothing is
 * bound until `listen()`.
 *
 * @example
 * ```ts
 * import { createTlsListener } from "@comqtt/broker/deno";
 *
 * const certPem = await Deno.readTextFile("server.crt");
 * const keyPem = await Deno.readTextFile("server.key");
 * const listener = createTlsListener({ port: 8883, tls: { cert: certPem, key: keyPem } });
 * ```
 */
export function createTlsListener(options: TlsListenerOptions): Listener {
  const o = resolveTcpOptions(options, "TLS", DEFAULT_TLS_PORT);
  const tls = resolveTls(options?.tls, `TLS listener "${o.id}"`);
  if (tls.clientCa !== undefined) return createNodeTlsListener(options);
  const deno = (globalThis as unknown as { Deno: DenoApi }).Deno;
  return socketListener({ ...o, protocol: "tls" }, options, (accept) => {
    let server: DenoServerSocket<DenoTlsConn>;
    try {
      server = deno.listenTls({
        hostname: o.host,
        port: o.port,
        transport: "tcp",
        cert: tls.cert,
        key: tls.key,
      });
    } catch (error) {
      throw listenError(o.host, o.port, error);
    }
    return serveEach(server, (conn) => {
      // Each handshake runs on its own, so a slow client never holds up the next accept. A connection accepted
      // before the listener closed (a reload) is still served once its handshake ends; a closed broker refuses it.
      void handshake(conn).then((ok) => {
        if (!ok) return closeQuietly(conn);
        startConnection(conn, o.highWaterMark, accept, { listener: o.id });
      });
    });
  });
}

/** True once the handshake finished; false when it failed or took longer than {@link HANDSHAKE_TIMEOUT_MS}. */
async function handshake(conn: DenoTlsConn): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const done = conn.handshake();
  // After a timeout the handshake may still fail: that must not become an unhandled rejection.
  done.catch(() => {});
  try {
    await Promise.race([
      done,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error("TLS handshake timed out")), HANDSHAKE_TIMEOUT_MS);
      }),
    ]);
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
