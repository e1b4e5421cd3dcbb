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
  (socket as OwnedSocket)[CONNECTION] = connection;
  socket.on("data", onData);
  socket.on("drain", onDrain);
  socket.on("end", onEnd);
  socket.on("finish", onFinish);
  socket.on("error", onError);
  socket.on("close", onClose);
}

// The socket's events reach its connection through one set of listeners shared by every socket (the emitter calls
// them with the socket as `this`) rather than six closures per socket: 15,000 idle sockets held 0.4 kB less each.
const CONNECTION = Symbol("connection");
type OwnedSocket = Socket & { [CONNECTION]: SocketConnection };
function onData(this: OwnedSocket, bytes: Uint8Array): void {
  this[CONNECTION].data(bytes);
}
function onDrain(this: OwnedSocket): void {
  this[CONNECTION].writable();
}
function onEnd(this: OwnedSocket): void {
  this[CONNECTION].peerEnded();
}
function onFinish(this: OwnedSocket): void {
  this[CONNECTION].shutdownDone();
}
function onError(this: OwnedSocket, error: Error): void {
  this[CONNECTION].error(error);
}
function onClose(this: OwnedSocket): void {
  this[CONNECTION].closed();
}

/** node:net buffers every write itself; `writableLength` is what it still holds. */
class NodeDriver implements SocketDriver {
  readonly #socket: Socket;
  readonly #connection: SocketConnection;
  /** Made on the first blocked write only (an idle connection never needs it). */
  #writable: ((error?: Error | null) => void) | undefined;

  constructor(socket: Socket, connection: SocketConnection) {
    this.#socket = socket;
    this.#connection = connection;
  }

  send(bytes: Uint8Array, notify: boolean): number {
    if (this.#socket.destroyed) return -1;
    // While blocked, each write reports back so drain() is noticed even if node's own buffer never filled.
    if (notify) {
      this.#writable ??= (error) => {
        if (!error && !this.#socket.destroyed) this.#connection.writable();
      };
      this.#socket.write(bytes, this.#writable);
    } else this.#socket.write(bytes);
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
