/**
 * MQTT over TLS on `Bun.listen({ tls })`. Bun verifies client certificates itself (`requestCert` + `ca`) and
 * reports the result in the `handshake` callback; only then is the socket handed to the broker, as the same
 * {@link BunTcpConnection} the TCP listener uses.
 * @module
 */

import type { Accept, ConnectionHandler, Listener } from "../../src/transport/connection.ts";
import { resolveLimitOptions, withConnectionLimit } from "../_limit.ts";
import {
  alreadyListening,
  hostPort,
  listenError,
  type ResolvedTcpOptions,
  resolveTcpOptions,
} from "../_tcp_common.ts";
import {
  commonNameOf,
  DEFAULT_TLS_PORT,
  HANDSHAKE_TIMEOUT_MS,
  type ResolvedTls,
  resolveTls,
  tlsAcceptInfo,
  type TlsListenerOptions,
} from "../_tls_common.ts";
import { BunTcpConnection } from "./tcp.ts";
import { unrefTimer } from "../_ws_connection.ts";

export type { TlsListenerOptions } from "../_tls_common.ts";

type BunSocket = ConstructorParameters<typeof BunTcpConnection>[0] & {
  data: BunTcpConnection | undefined;
  getPeerCertificate(): unknown;
};
interface BunTlsHandler {
  binaryType: "uint8array";
  open(socket: BunSocket): void;
  handshake(socket: BunSocket, success: boolean, authorizationError: Error | null): void;
  data(socket: BunSocket, bytes: Uint8Array): void;
  drain(socket: BunSocket): void;
  end(socket: BunSocket): void;
  close(socket: BunSocket, error?: Error): void;
  error(socket: BunSocket, error: Error): void;
}
interface BunApi {
  listen(options: {
    hostname: string;
    port: number;
    allowHalfOpen: boolean;
    tls: { cert: string; key: string; ca?: string; requestCert: boolean; rejectUnauthorized: boolean };
    socket: BunTlsHandler;
  }): { readonly port: number; readonly hostname: string; stop(closeActiveConnections?: boolean): void };
}

function bun(): BunApi {
  return (globalThis as unknown as { Bun: BunApi }).Bun;
}

/**
 * Create a TLS listener on Bun.listen (default port 8883). Nothing is bound until `listen()`.
 *
 * @example
 * ```ts
 * const listener = createTlsListener({ port: 8883, tls: { cert: certPem, key: keyPem } });
 * ```
 */
export function createTlsListener(options: TlsListenerOptions): Listener {
  const resolved = resolveTcpOptions(options, "TLS", DEFAULT_TLS_PORT);
  const what = `TLS listener "${resolved.id}"`;
  return withConnectionLimit(
    new BunTlsListener(resolved, resolveTls(options?.tls, what)),
    resolveLimitOptions(options, what),
  );
}

class BunTlsListener implements Listener {
  readonly id: string;
  readonly protocol = "tls";
  readonly #options: ResolvedTcpOptions;
  readonly #tls: ResolvedTls;
  #listener: ReturnType<BunApi["listen"]> | undefined;
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
    const { host, port, id, highWaterMark } = this.#options;
    if (this.#listener) {
      return Promise.reject(alreadyListening(this.#options));
    }
    const tls = this.#tls;
    const pending = new Map<BunSocket, ReturnType<typeof setTimeout>>();
    const handlers: BunTlsHandler = {
      binaryType: "uint8array",
      open: (socket) => {
        // Bun has no handshake timeout of its own: a client that never finishes must not hold the socket.
        const timer = setTimeout(() => {
          pending.delete(socket);
          socket.end();
        }, HANDSHAKE_TIMEOUT_MS);
        unrefTimer(timer);
        pending.set(socket, timer);
      },
      handshake: (socket, success, authorizationError) => {
        clearTimeout(pending.get(socket));
        pending.delete(socket);
        // With a client CA, Bun reports a bad certificate here (and closes); refuse it either way.
        if (!success || (tls.clientCa !== undefined && authorizationError)) {
          socket.end();
          return;
        }
        const decided = tlsAcceptInfo(id, tls, commonNameOf(socket.getPeerCertificate()));
        if ("refuse" in decided) {
          socket.end();
          return;
        }
        const connection = new BunTcpConnection(socket, highWaterMark);
        // Set before accept(): the broker may write, end or destroy inside it, and Bun calls back synchronously.
        socket.data = connection;
        let handler: ConnectionHandler;
        try {
          handler = accept(connection, decided);
        } catch {
          connection.destroy();
          return;
        }
        connection.attach(handler);
      },
      data: (socket, bytes) => socket.data?.onData(bytes),
      drain: (socket) => socket.data?.onDrain(),
      end: (socket) => socket.data?.onPeerEnd(),
      close: (socket, error) => {
        clearTimeout(pending.get(socket));
        pending.delete(socket);
        socket.data?.onClose(error);
      },
      error: (socket, error) => socket.data?.onError(error),
    };
    let listener: ReturnType<BunApi["listen"]>;
    try {
      listener = bun().listen({
        hostname: host,
        port,
        allowHalfOpen: true,
        tls: {
          cert: tls.cert,
          key: tls.key,
          ...(tls.clientCa === undefined ? {} : { ca: tls.clientCa }),
          requestCert: tls.clientCa !== undefined,
          rejectUnauthorized: tls.clientCa !== undefined,
        },
        socket: handlers,
      });
    } catch (error) {
      return Promise.reject(listenError(host, port, error));
    }
    this.#listener = listener;
    this.#host = listener.hostname;
    this.#port = listener.port;
    return Promise.resolve();
  }

  close(): Promise<void> {
    const listener = this.#listener;
    this.#listener = undefined;
    listener?.stop(false);
    return Promise.resolve();
  }
}
