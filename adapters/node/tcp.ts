/**
 * TCP listener on `node:net`. It is Node's native adapter, and it also runs under Deno and Bun (their node:net
 * compatibility), which makes it the fallback everywhere.
 *
 * Data handed to `handler.data` is a fresh `Buffer` per read on Node (the runtime does not reuse it); under
 * Deno's and Bun's node:net this is not promised, and the handler copies what it keeps either way.
 * @module
 */

import { createServer, type Server, type Socket } from "node:net";
import { clearTimeout, setImmediate, setTimeout } from "node:timers";
import type { Accept, Connection, ConnectionHandler, Listener } from "../../src/transport/connection.ts";
import { Outbox } from "../_outbox.ts";
import { resolveLimitOptions, withConnectionLimit } from "../_limit.ts";
import {
  alreadyListening,
  asError,
  END_LINGER_MS,
  hostPort,
  type ResolvedTcpOptions,
  resolveTcpOptions,
  type TcpListenerOptions,
} from "../_tcp_common.ts";
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
  return withConnectionLimit(
    new NodeTcpListener(resolveTcpOptions(options)),
    resolveLimitOptions(options, `TCP listener "${options.id ?? "tcp"}"`),
  );
}

class NodeTcpListener implements Listener {
  readonly id: string;
  readonly protocol = "tcp";
  #options: ResolvedTcpOptions;
  #server: Server | undefined;
  #host: string;
  #port: number;

  constructor(options: ResolvedTcpOptions) {
    this.id = options.id;
    this.#options = options;
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
    // allowHalfOpen: a peer's FIN must not end our side before our queued bytes went out (see #onPeerEnd).
    const server = createServer({ allowHalfOpen: true }, (socket) => this.#onSocket(server, socket, accept));
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
    // server.close() stops accepting now; its callback would wait for every connection, which are the broker's.
    if (server) server.close();
    return Promise.resolve();
  }

  #onSocket(server: Server, socket: Socket, accept: Accept): void {
    if (this.#server !== server) {
      socket.destroy();
      return;
    }
    const connection = new NodeTcpConnection(socket, this.#options.highWaterMark);
    let handler: ConnectionHandler;
    try {
      handler = accept(connection, { listener: this.id });
    } catch {
      socket.destroy();
      return;
    }
    connection.attach(handler);
  }
}

/** One accepted socket as a {@link Connection}; the TLS listener reuses it for secure sockets. */
export class NodeTcpConnection implements Connection {
  readonly remoteAddress: string;
  #socket: Socket;
  #outbox: Outbox;
  #handler: ConnectionHandler | undefined;
  #flushQueued = false;
  /** end() was called or the peer sent FIN: no more writes, no more data delivered. */
  #ending = false;
  #destroyed = false;
  #closed = false;
  #error: Error | undefined;
  #linger: ReturnType<typeof setTimeout> | undefined;

  constructor(socket: Socket, highWaterMark: number) {
    this.#socket = socket;
    this.#outbox = new Outbox(highWaterMark);
    this.remoteAddress = hostPort(socket.remoteAddress ?? "unknown", socket.remotePort ?? 0);
    socket.setNoDelay(true);
  }

  /** Wire the socket to the handler the broker returned. */
  attach(handler: ConnectionHandler): void {
    this.#handler = handler;
    const socket = this.#socket;
    socket.on("data", this.#onData);
    socket.on("drain", () => this.#afterWrite());
    socket.on("end", this.#onPeerEnd);
    socket.on("finish", this.#onFinish);
    socket.on("error", this.#onError);
    socket.on("close", this.#onClose);
  }

  write(bytes: Uint8Array): boolean {
    if (this.#ending || this.#destroyed || this.#closed) return false;
    const ok = this.#outbox.push(bytes, this.#socket.writableLength);
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(this.#flush);
    }
    return ok;
  }

  end(): void {
    if (this.#ending || this.#destroyed || this.#closed) return;
    this.#ending = true;
    this.#flush();
    this.#socket.end();
  }

  destroy(): void {
    if (this.#destroyed || this.#closed) return;
    this.#destroyed = true;
    this.#outbox.clear();
    this.#socket.destroy();
  }

  /** One write per turn: everything queued since the last flush goes out as one buffer. */
  #flush = (): void => {
    this.#flushQueued = false;
    if (this.#destroyed || this.#closed) return;
    const bytes = this.#outbox.take();
    if (bytes === undefined) return;
    // While blocked, each write reports back so drain() is noticed even if node's own buffer never filled.
    if (this.#outbox.blocked) this.#socket.write(bytes, this.#afterWrite);
    else this.#socket.write(bytes);
  };

  #afterWrite = (error?: Error | null): void => {
    if (error || this.#destroyed || this.#closed || this.#socket.destroyed) return;
    // drain() runs in a later event-loop turn: a write callback can come from process.nextTick, and a
    // drain -> write -> callback chain on a fast reader would otherwise never let I/O and timers run.
    if (this.#outbox.drained(this.#socket.writableLength)) setImmediate(this.#drain);
  };

  #drain = (): void => {
    if (!this.#destroyed && !this.#closed) this.#call("drain");
  };

  #onData = (bytes: Uint8Array): void => {
    if (this.#ending || this.#destroyed || this.#closed) return;
    const handler = this.#handler!;
    try {
      handler.data(bytes);
    } catch (error) {
      this.#fail(error);
    }
  };

  /** The peer is done sending: send what is queued, then close our side too. */
  #onPeerEnd = (): void => {
    if (this.#ending || this.#destroyed || this.#closed) return;
    this.#ending = true;
    this.#flush();
    this.#socket.end();
  };

  /** Everything was handed to the kernel after end(): give the peer a bounded time to close. */
  #onFinish = (): void => {
    if (this.#closed) return;
    this.#linger = setTimeout(() => this.#socket.destroy(), END_LINGER_MS);
    this.#linger.unref();
  };

  #onError = (error: Error): void => {
    if (!this.#destroyed && !this.#closed && this.#error === undefined) this.#error = error;
  };

  #onClose = (): void => {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#linger !== undefined) clearTimeout(this.#linger);
    this.#outbox.clear();
    try {
      this.#handler?.closed(this.#error);
    } catch {
      // Nothing can be done with a handler error once the connection is gone.
    }
  };

  #call(event: "drain"): void {
    try {
      this.#handler![event]();
    } catch (error) {
      this.#fail(error);
    }
  }

  /** A handler threw: the connection is closed with that error rather than the process. */
  #fail(error: unknown): void {
    if (this.#error === undefined) this.#error = asError(error);
    this.destroy();
  }
}
