/**
 * MQTT over TLS on `Deno.listenTls`. Each connection finishes its handshake (bounded) before it reaches the
 * broker as the same {@link DenoTcpConnection} the TCP listener uses.
 *
 * Deno.listenTls cannot request client certificates (Deno 2.9 has no option for it), so a listener with
 * `tls.clientCa` is the node:tls adapter, which Deno runs with client-certificate verification.
 * @module
 */

import type { Accept, Listener } from "../../src/transport/connection.ts";
import { resolveLimitOptions, withConnectionLimit } from "../_limit.ts";
import {
  alreadyListening,
  hostPort,
  listenError,
  type ResolvedTcpOptions,
  resolveTcpOptions,
} from "../_tcp_common.ts";
import {
  DEFAULT_TLS_PORT,
  HANDSHAKE_TIMEOUT_MS,
  type ResolvedTls,
  resolveTls,
  type TlsListenerOptions,
} from "../_tls_common.ts";
import { createTlsListener as createNodeTlsListener } from "../node/tls.ts";
import { startConnection } from "./tcp.ts";
import { acceptEach, closeQuietly } from "./_accept.ts";

export type { TlsListenerOptions } from "../_tls_common.ts";

type DenoTlsConn = Parameters<typeof startConnection>[0] & { handshake(): Promise<unknown> };
interface DenoTlsListener {
  readonly addr: { hostname: string; port: number };
  accept(): Promise<DenoTlsConn>;
  close(): void;
}
interface DenoApi {
  listenTls(
    options: { hostname: string; port: number; transport: "tcp"; cert: string; key: string },
  ): DenoTlsListener;
}

function deno(): DenoApi {
  return (globalThis as unknown as { Deno: DenoApi }).Deno;
}

/**
 * Create a TLS listener on Deno.listenTls (default port 8883); with `tls.clientCa`, on node:tls. Nothing is
 * bound until `listen()`.
 *
 * @example
 * ```ts
 * const listener = createTlsListener({ port: 8883, tls: { cert: certPem, key: keyPem } });
 * ```
 */
export function createTlsListener(options: TlsListenerOptions): Listener {
  const resolved = resolveTcpOptions(options, "TLS", DEFAULT_TLS_PORT);
  const what = `TLS listener "${resolved.id}"`;
  const tls = resolveTls(options?.tls, what);
  if (tls.clientCa !== undefined) return createNodeTlsListener(options);
  return withConnectionLimit(new DenoTlsListenerAdapter(resolved, tls), resolveLimitOptions(options, what));
}

class DenoTlsListenerAdapter implements Listener {
  readonly id: string;
  readonly protocol = "tls";
  readonly #options: ResolvedTcpOptions;
  readonly #tls: ResolvedTls;
  #listener: DenoTlsListener | undefined;
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

  listen(accept: Accept): Promise<void> {
    const { host, port } = this.#options;
    if (this.#listener) {
      return Promise.reject(alreadyListening(this.#options));
    }
    let listener: DenoTlsListener;
    try {
      listener = deno().listenTls({
        hostname: host,
        port,
        transport: "tcp",
        cert: this.#tls.cert,
        key: this.#tls.key,
      });
    } catch (error) {
      return Promise.reject(listenError(host, port, error));
    }
    this.#listener = listener;
    this.#host = listener.addr.hostname;
    this.#port = listener.addr.port;
    void acceptEach(
      listener,
      () => this.#listener === listener,
      // Each handshake runs on its own, so a slow client never holds up the next accept.
      (conn) => void this.#handshake(listener, conn, accept),
    );
    return Promise.resolve();
  }

  close(): Promise<void> {
    const listener = this.#listener;
    this.#listener = undefined;
    try {
      listener?.close();
    } catch {
      // Already closed.
    }
    return Promise.resolve();
  }

  async #handshake(listener: DenoTlsListener, conn: DenoTlsConn, accept: Accept): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const handshake = conn.handshake();
    // After a timeout the handshake may still fail: that must not become an unhandled rejection.
    handshake.catch(() => {});
    try {
      await Promise.race([
        handshake,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error("TLS handshake timed out")), HANDSHAKE_TIMEOUT_MS);
        }),
      ]);
    } catch {
      closeQuietly(conn);
      return;
    } finally {
      clearTimeout(timer);
    }
    if (this.#listener !== listener) {
      closeQuietly(conn);
      return;
    }
    startConnection(conn, this.#options.highWaterMark, this.id, accept);
  }
}
