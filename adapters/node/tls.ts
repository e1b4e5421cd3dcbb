/**
 * MQTT over TLS on `node:tls`. Each secure socket becomes the same {@link NodeTcpConnection} the TCP listener
 * uses. It also runs under Deno and Bun: Deno's TLS listener hands over to it when client certificates are asked
 * for (Deno.listenTls cannot request them).
 * @module
 */

import { createServer, type Server, type TLSSocket } from "node:tls";
import type { Accept, ConnectionHandler, Listener } from "../../src/transport/connection.ts";
import { resolveLimitOptions, withConnectionLimit } from "../_limit.ts";
import { alreadyListening, hostPort, type ResolvedTcpOptions, resolveTcpOptions } from "../_tcp_common.ts";
import { bindServer } from "./_bind.ts";
import {
  commonNameOf,
  DEFAULT_TLS_PORT,
  HANDSHAKE_TIMEOUT_MS,
  type ResolvedTls,
  resolveTls,
  tlsAcceptInfo,
  type TlsListenerOptions,
} from "../_tls_common.ts";
import { NodeTcpConnection } from "./tcp.ts";

export type { TlsListenerOptions } from "../_tls_common.ts";

/**
 * Create a TLS listener on node:tls (default port 8883). Nothing is bound until `listen()`.
 *
 * @example
 * ```ts
 * const listener = createTlsListener({ port: 8883, tls: { cert: certPem, key: keyPem, clientCa: caPem } });
 * await broker.addListener(listener);
 * ```
 */
export function createTlsListener(options: TlsListenerOptions): Listener {
  const resolved = resolveTcpOptions(options, "TLS", DEFAULT_TLS_PORT);
  const what = `TLS listener "${resolved.id}"`;
  return withConnectionLimit(
    new NodeTlsListener(resolved, resolveTls(options?.tls, what)),
    resolveLimitOptions(options, what),
  );
}

class NodeTlsListener implements Listener {
  readonly id: string;
  readonly protocol = "tls";
  readonly #options: ResolvedTcpOptions;
  readonly #tls: ResolvedTls;
  #server: Server | undefined;
  #host: string;
  #port: number;

  constructor(options: ResolvedTcpOptions, tls: ResolvedTls) {
    this.id = options.id;
    this.#options = options;
    this.#tls = tls;
    this.#host = options.host;
    this.#port = options.port;
  }

  get port(): number {
    return this.#port;
  }

  get address(): string {
    return hostPort(this.#host, this.#port);
  }

  async listen(accept: Accept): Promise<void> {
    const { host, port } = this.#options;
    if (this.#server) {
      throw alreadyListening(this.#options);
    }
    const tls = this.#tls;
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
    server.on("secureConnection", (socket: TLSSocket) => this.#onSocket(server, socket, accept));
    // A failed handshake (a wrong client certificate, a plain TCP client) concerns that socket only.
    server.on("tlsClientError", () => {});
    this.#server = server;
    try {
      const bound = await bindServer(server, host, port);
      this.#host = bound.host;
      this.#port = bound.port;
    } catch (error) {
      if (this.#server === server) this.#server = undefined;
      throw error;
    }
  }

  close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    server?.close();
    return Promise.resolve();
  }

  #onSocket(server: Server, socket: TLSSocket, accept: Accept): void {
    if (this.#server !== server) {
      socket.destroy();
      return;
    }
    const decided = tlsAcceptInfo(this.id, this.#tls, commonNameOf(socket.getPeerCertificate()));
    if ("refuse" in decided) {
      socket.destroy();
      return;
    }
    const connection = new NodeTcpConnection(socket, this.#options.highWaterMark);
    let handler: ConnectionHandler;
    try {
      handler = accept(connection, decided);
    } catch {
      socket.destroy();
      return;
    }
    connection.attach(handler);
  }
}
