/**
 * TCP listener on `node:net`, under the shared {@link SocketConnection}. It is Node's native adapter, and it also
 * runs under Deno and Bun (their node:net compatibility), which makes it the fallback everywhere.
 *
 * Data handed to `handler.data` is a fresh `Buffer` per read on Node (the runtime does not reuse it); under
 * Deno's and Bun's node:net this is not promised, and the handler copies what it keeps either way.
 * @module
 */

import { createServer, type Socket } from "node:net";
import type { Accept, AcceptInfo, Listener } from "../../src/transport/connection.ts";
import { socketListener } from "../_listener.ts";
import { SocketConnection, type SocketDriver } from "../_socket_connection.ts";
import { hostPort, resolveTcpOptions, type TcpListenerOptions } from "../_tcp_common.ts";
import { bindServer } from "./_bind.ts";

export type { TcpListenerOptions } from "../_tcp_common.ts";

/**
 * Create a TCP listener on node:net. Nothing is bound until `listen()`.
 *
 * @example
 * ```ts
 * const listener = createTcpListener({ host: "127.0.0.1", port: 0 });
 * await listener.listen((connection) => ({ data: (b) => connection.write(b.slice()), drain() {}, closed() {} }));
 * console.log(listener.address); // 127.0.0.1:40123
 * await listener.close();
 * ```
 */
export function createTcpListener(options: TcpListenerOptions = {}): Listener {
  const o = resolveTcpOptions(options);
  return socketListener({ ...o, protocol: "tcp" }, options, (accept) => {
    // allowHalfOpen: a peer's FIN must not end our side before our queued bytes went out.
    const server = createServer(
      { allowHalfOpen: true },
      (socket) => startSocket(socket, o.highWaterMark, accept, { listener: o.id }),
    );
    return bindServer(server, o.host, o.port, o.reusePort);
  });
}

/** Wrap an accepted node:net or node:tls socket and hand it to the broker. */
export function startSocket(
  socket: Socket,
  highWaterMark: number,
  accept: Accept,
  info: AcceptInfo,
  remote = hostPort(socket.remoteAddress ?? "unknown", socket.remotePort ?? 0),
): void {
  socket.setNoDelay(true);
  const connection = new SocketConnection(remote, highWaterMark);
  if (!connection.drive(new NodeDriver(socket, connection)).open(accept, info)) return;
  socket.on("data", (bytes: Uint8Array) => connection.data(bytes));
  socket.on("drain", () => connection.writable());
  socket.on("end", () => connection.peerEnded());
  socket.on("finish", () => connection.shutdownDone());
  socket.on("error", (error: Error) => connection.error(error));
  socket.on("close", () => connection.closed());
}

/** node:net buffers every write itself; `writableLength` is what it still holds. */
class NodeDriver implements SocketDriver {
  readonly #socket: Socket;
  readonly #writable: (error?: Error | null) => void;

  constructor(socket: Socket, connection: SocketConnection) {
    this.#socket = socket;
    this.#writable = (error) => {
      if (!error && !socket.destroyed) connection.writable();
    };
  }

  send(bytes: Uint8Array, notify: boolean): number {
    if (this.#socket.destroyed) return -1;
    // While blocked, each write reports back so drain() is noticed even if node's own buffer never filled.
    if (notify) this.#socket.write(bytes, this.#writable);
    else this.#socket.write(bytes);
    return bytes.byteLength;
  }

  pending(): number {
    return this.#socket.writableLength;
  }

  shutdown(): void {
    this.#socket.end();
  }

  close(): void {
    this.#socket.destroy();
  }

  pause(): void {
    this.#socket.pause();
  }

  resume(): void {
    this.#socket.resume();
  }
}
