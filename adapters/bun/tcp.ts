/**
 * TCP listener on `Bun.listen`, under the shared {@link SocketConnection}. Bun's `socket.write` is unbuffered: it
 * returns how many bytes the kernel took, and the connection keeps the rest until the `drain` callback.
 *
 * Bun hands `data` a fresh `Uint8Array` per read (it does not reuse it); the handler copies what it keeps anyway.
 * @module
 */

import type { Listener } from "../../src/transport/connection.ts";
import { type Binding, socketListener } from "../_listener.ts";
import { SocketConnection, type SocketDriver } from "../_socket_connection.ts";
import { hostPort, listenError, resolveTcpOptions, type TcpListenerOptions } from "../_tcp_common.ts";

export type { TcpListenerOptions } from "../_tcp_common.ts";

// The few Bun APIs used, declared structurally so this file needs no Bun type library (and deno check passes).
/** A Bun TCP or TLS socket; `data` holds its connection. */
export interface BunSocket {
  data: SocketConnection | undefined;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Bytes the kernel took, -1 when the socket is closed or shutting down. */
  write(bytes: Uint8Array): number;
  /** Half-close: send FIN, keep reading. */
  shutdown(halfClose?: boolean): void;
  /** Close now (observed in Bun 1.4.5: the `close` callback runs before `end()` returns). */
  end(): void;
  setNoDelay(noDelay?: boolean): boolean;
  /** Stop / start reading (Bun >= 1.1: the peer meets TCP back-pressure). */
  pause(): void;
  resume(): void;
}
/** Bun.listen's options, for TCP and TLS. */
export interface BunListenOptions<S> {
  hostname?: string;
  port?: number;
  /** A Unix socket path instead of hostname and port. */
  unix?: string;
  allowHalfOpen: boolean;
  reusePort?: boolean;
  tls?: { cert: string; key: string; ca?: string; requestCert: boolean; rejectUnauthorized: boolean };
  socket: {
    binaryType: "uint8array";
    open(socket: S): void;
    handshake?(socket: S, success: boolean, authorizationError: Error | null): void;
    data(socket: S, bytes: Uint8Array): void;
    drain(socket: S): void;
    end(socket: S): void;
    close(socket: S, error?: Error): void;
    error(socket: S, error: Error): void;
  };
}

/** Bun.listen, bound: rejects with the listener's error message when the address cannot be bound. */
export function bunListen<S extends BunSocket>(options: BunListenOptions<S>): Binding {
  const bun = (globalThis as unknown as {
    Bun: { listen(o: BunListenOptions<S>): { port: number; hostname: string; stop(all?: boolean): void } };
  }).Bun;
  let server;
  try {
    // allowHalfOpen (set by the caller): a peer's FIN must not close us before our queued bytes went out.
    server = bun.listen(options);
  } catch (error) {
    throw listenError(options.unix ?? options.hostname ?? "", options.port ?? 0, error);
  }
  // stop(false): stop accepting, keep the open connections (they are the broker's to close).
  return { host: server.hostname, port: server.port, close: () => server.stop(false) };
}

/** Socket callbacks: `open` (and `handshake`) as given, the rest forwarded to the socket's connection. */
export function socketHandlers<S extends BunSocket>(
  own: Pick<BunListenOptions<S>["socket"], "open" | "handshake">,
): BunListenOptions<S>["socket"] {
  return {
    ...own,
    binaryType: "uint8array",
    data: (socket, bytes) => socket.data?.data(bytes),
    drain: (socket) => socket.data?.writable(),
    end: (socket) => socket.data?.peerEnded(),
    close: (socket, error) => socket.data?.closed(error),
    error: (socket, error) => socket.data?.error(error),
  };
}

/**
 * Create a TCP listener on `Bun.listen`. Nothing is bound until `listen()`.
 *
 * @example
 * ```ts
 * const listener = createTcpListener({ host: "127.0.0.1", port: 0 });
 * await listener.listen((connection) => ({ data: (b) => connection.write(b.slice()), drain() {}, closed() {} }));
 * await listener.close();
 * ```
 */
export function createTcpListener(options: TcpListenerOptions = {}): Listener {
  const o = resolveTcpOptions(options);
  return socketListener({ ...o, protocol: "tcp" }, options, (accept) =>
    bunListen<BunSocket>({
      hostname: o.host,
      port: o.port,
      allowHalfOpen: true,
      ...(o.reusePort ? { reusePort: true } : {}),
      socket: socketHandlers({
        open: (socket) => void connect(socket, o.highWaterMark).open(accept, { listener: o.id }),
      }),
    }));
}

/** A connection for a Bun socket, set as its `data` before the broker sees it (Bun calls back synchronously). */
export function connect(
  socket: BunSocket,
  highWaterMark: number,
  remote = hostPort(socket.remoteAddress, socket.remotePort),
): SocketConnection {
  socket.setNoDelay(true);
  const connection = new SocketConnection(remote, highWaterMark);
  socket.data = connection;
  return connection.drive(new BunDriver(socket, connection));
}

class BunDriver implements SocketDriver {
  readonly #socket: BunSocket;
  readonly #connection: SocketConnection;

  constructor(socket: BunSocket, connection: SocketConnection) {
    this.#socket = socket;
    this.#connection = connection;
  }

  send(bytes: Uint8Array): number {
    return this.#socket.write(bytes);
  }

  pending(): number {
    return 0;
  }

  shutdown(): void {
    this.#socket.shutdown();
    this.#connection.shutdownDone();
  }

  close(): void {
    this.#socket.end();
  }

  pause(): void {
    this.#socket.pause();
  }

  resume(): void {
    this.#socket.resume();
  }
}
