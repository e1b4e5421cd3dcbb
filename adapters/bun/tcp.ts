/**
 * TCP listener on `Bun.listen`. Bun's `socket.write` is unbuffered: it returns how many bytes the kernel took,
 * so the adapter keeps the rest and sends it from the `drain` callback.
 *
 * Bun hands `data` a fresh `Uint8Array` per read (it does not reuse it); the handler copies what it keeps anyway.
 * @module
 */

import type { Accept, Connection, ConnectionHandler, Listener } from "../../src/transport/connection.ts";
import { Outbox } from "../_outbox.ts";
import { resolveLimitOptions, withConnectionLimit } from "../_limit.ts";
import {
  alreadyListening,
  asError,
  END_LINGER_MS,
  hostPort,
  listenError,
  type ResolvedTcpOptions,
  resolveTcpOptions,
  type TcpListenerOptions,
} from "../_tcp_common.ts";

export type { TcpListenerOptions } from "../_tcp_common.ts";

// The few Bun APIs used, declared structurally so this file needs no Bun type library (and deno check passes).
interface BunSocket {
  data: BunTcpConnection | undefined;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Bytes the kernel took, -1 when the socket is closed or shutting down. */
  write(bytes: Uint8Array): number;
  /** Half-close: send FIN, keep reading. */
  shutdown(halfClose?: boolean): void;
  /** Close now (observed in Bun 1.4.5: the `close` callback runs before `end()` returns). */
  end(): void;
  setNoDelay(noDelay?: boolean): boolean;
}
interface BunSocketHandler {
  binaryType: "uint8array";
  open(socket: BunSocket): void;
  data(socket: BunSocket, bytes: Uint8Array): void;
  drain(socket: BunSocket): void;
  end(socket: BunSocket): void;
  close(socket: BunSocket, error?: Error): void;
  error(socket: BunSocket, error: Error): void;
}
interface BunSocketListener {
  readonly port: number;
  readonly hostname: string;
  stop(closeActiveConnections?: boolean): void;
}
interface BunApi {
  listen(options: {
    hostname: string;
    port: number;
    allowHalfOpen: boolean;
    socket: BunSocketHandler;
  }): BunSocketListener;
}

function bun(): BunApi {
  return (globalThis as unknown as { Bun: BunApi }).Bun;
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
  return withConnectionLimit(
    new BunTcpListener(resolveTcpOptions(options)),
    resolveLimitOptions(options, `TCP listener "${options.id ?? "tcp"}"`),
  );
}

class BunTcpListener implements Listener {
  readonly id: string;
  readonly protocol = "tcp";
  #options: ResolvedTcpOptions;
  #listener: BunSocketListener | undefined;
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

  listen(accept: Accept): Promise<void> {
    const { host, port, id, highWaterMark } = this.#options;
    if (this.#listener) {
      return Promise.reject(alreadyListening(this.#options));
    }
    const info = { listener: id };
    const handlers: BunSocketHandler = {
      binaryType: "uint8array",
      open: (socket) => {
        const connection = new BunTcpConnection(socket, highWaterMark);
        // Set before accept(): the broker may write, end or destroy inside it, and Bun calls back synchronously.
        socket.data = connection;
        let handler: ConnectionHandler;
        try {
          handler = accept(connection, info);
        } catch {
          connection.destroy();
          return;
        }
        connection.attach(handler);
      },
      data: (socket, bytes) => socket.data?.onData(bytes),
      drain: (socket) => socket.data?.onDrain(),
      end: (socket) => socket.data?.onPeerEnd(),
      close: (socket, error) => socket.data?.onClose(error),
      error: (socket, error) => socket.data?.onError(error),
    };
    let listener: BunSocketListener;
    try {
      // allowHalfOpen: a peer's FIN must not close us before our queued bytes went out (see onPeerEnd).
      listener = bun().listen({ hostname: host, port, allowHalfOpen: true, socket: handlers });
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
    // false: stop accepting, keep the open connections (they are the broker's to close).
    listener?.stop(false);
    return Promise.resolve();
  }
}

/** One accepted socket as a {@link Connection}; the TLS listener reuses it for secure sockets. */
export class BunTcpConnection implements Connection {
  readonly remoteAddress: string;
  #socket: BunSocket;
  #outbox: Outbox;
  #handler: ConnectionHandler | undefined;
  #flushQueued = false;
  /** What the kernel did not take of the last write; sent from `drain` before anything newer. */
  #rest: Uint8Array | undefined;
  /** end() was called or the peer sent FIN: no more writes, no more data delivered. */
  #ending = false;
  #shutDown = false;
  #destroyed = false;
  #closed = false;
  #error: Error | undefined;
  #linger: ReturnType<typeof setTimeout> | undefined;

  constructor(socket: BunSocket, highWaterMark: number) {
    this.#socket = socket;
    this.#outbox = new Outbox(highWaterMark);
    this.remoteAddress = hostPort(socket.remoteAddress, socket.remotePort);
    socket.setNoDelay(true);
  }

  attach(handler: ConnectionHandler): void {
    this.#handler = handler;
  }

  write(bytes: Uint8Array): boolean {
    if (this.#ending || this.#destroyed || this.#closed) return false;
    const ok = this.#outbox.push(bytes, this.#rest?.byteLength ?? 0);
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(this.#flush);
    }
    return ok;
  }

  end(): void {
    if (this.#ending || this.#destroyed || this.#closed) return;
    this.#ending = true;
    this.#send();
  }

  destroy(): void {
    if (this.#destroyed || this.#closed) return;
    this.#destroyed = true;
    this.#outbox.clear();
    this.#rest = undefined;
    this.#socket.end();
  }

  onData(bytes: Uint8Array): void {
    if (this.#ending || this.#destroyed || this.#closed) return;
    try {
      this.#handler!.data(bytes);
    } catch (error) {
      this.#fail(error);
    }
  }

  onDrain(): void {
    this.#send();
  }

  /** The peer is done sending: send what is queued, then close. */
  onPeerEnd(): void {
    if (this.#shutDown) {
      this.#socket.end();
      return;
    }
    if (this.#ending || this.#destroyed || this.#closed) return;
    this.#ending = true;
    this.#send();
  }

  onError(error: Error): void {
    if (!this.#destroyed && !this.#closed && this.#error === undefined) this.#error = error;
  }

  onClose(error?: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#linger !== undefined) clearTimeout(this.#linger);
    this.#outbox.clear();
    this.#rest = undefined;
    if (error !== undefined && !this.#destroyed && this.#error === undefined) this.#error = error;
    const reported = this.#error;
    // Bun runs `close` inside socket.end(), i.e. possibly inside the handler's own destroy(): report later.
    queueMicrotask(() => {
      try {
        this.#handler?.closed(reported);
      } catch {
        // Nothing can be done with a handler error once the connection is gone.
      }
    });
  }

  #flush = (): void => {
    this.#flushQueued = false;
    // While a remainder waits for `drain`, newer bytes wait behind it.
    if (this.#rest === undefined) this.#send();
  };

  /** Write the remainder, then everything queued, until the kernel stops taking bytes. */
  #send(): void {
    if (this.#destroyed || this.#closed || this.#shutDown) return;
    for (;;) {
      const bytes = this.#rest ?? this.#outbox.take();
      if (bytes === undefined) break;
      const n = this.#socket.write(bytes);
      if (n < 0) {
        // Closed under us: `close` follows and reports it.
        this.#rest = undefined;
        this.#outbox.clear();
        return;
      }
      if (n < bytes.byteLength) {
        this.#rest = bytes.subarray(n);
        break;
      }
      this.#rest = undefined;
    }
    // drain() runs in a later event-loop turn: when the kernel takes everything at once, a drain -> write ->
    // flush chain made of microtasks would otherwise never let I/O and timers run.
    if (this.#outbox.drained(this.#rest?.byteLength ?? 0)) setImmediate(this.#drain);
    if (this.#ending && this.#rest === undefined && this.#outbox.size === 0) this.#shutdown();
  }

  #drain = (): void => {
    if (this.#destroyed || this.#closed) return;
    try {
      // No handler yet when end() ran inside accept(): nobody can be waiting for drain() then.
      this.#handler?.drain();
    } catch (error) {
      this.#fail(error);
    }
  };

  /** All sent after end() or the peer's FIN: send FIN; the socket closes once both sides are done. */
  #shutdown(): void {
    if (this.#shutDown || this.#destroyed || this.#closed) return;
    this.#shutDown = true;
    this.#socket.shutdown();
    if (this.#closed) return;
    this.#linger = setTimeout(() => this.destroy(), END_LINGER_MS);
    this.#linger.unref?.();
  }

  /** A handler threw: close with that error. */
  #fail(error: unknown): void {
    if (this.#error === undefined) this.#error = asError(error);
    this.destroy();
  }
}
