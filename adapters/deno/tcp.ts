/**
 * TCP listener on `Deno.listen`: one read loop and one serialized write loop per connection.
 *
 * Reads use `conn.read` into one buffer per connection that is **reused** for the next read (it grows from 8 to
 * 64 KiB under load), so `handler.data` gets a view that is only valid during the call (the handler copies what
 * it keeps). Web streams are avoided on purpose: `pipeTo` was several times slower with many connections
 * (shared/PLATFORM.md §3).
 * @module
 */

import type { Accept, Connection, ConnectionHandler, Listener } from "../../src/transport/connection.ts";
import { Outbox } from "../_outbox.ts";
import { acceptEach, closeQuietly } from "./_accept.ts";
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

// The few Deno APIs used, declared structurally so this file needs no Deno type library.
interface DenoNetAddr {
  readonly hostname: string;
  readonly port: number;
}
interface DenoTcpConn {
  readonly remoteAddr: DenoNetAddr;
  read(buffer: Uint8Array): Promise<number | null>;
  write(bytes: Uint8Array): Promise<number>;
  closeWrite(): Promise<void>;
  close(): void;
  setNoDelay(noDelay?: boolean): void;
}
interface DenoTcpListener {
  readonly addr: DenoNetAddr;
  accept(): Promise<DenoTcpConn>;
  close(): void;
}
interface DenoApi {
  listen(options: { hostname: string; port: number; transport: "tcp" }): DenoTcpListener;
  unrefTimer(id: number): void;
}

function deno(): DenoApi {
  return (globalThis as unknown as { Deno: DenoApi }).Deno;
}

/**
 * Each connection's read buffer starts small, because an idle MQTT client still pins it in a pending read
 * (10k clients × 64 KiB would be 640 MB), and doubles up to the maximum whenever a read fills it.
 */
const READ_BUFFER_MIN = 1024;
const READ_BUFFER_MAX = 64 * 1024;

/**
 * Create a TCP listener on `Deno.listen`. Nothing is bound until `listen()`.
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
    new DenoTcpListenerAdapter(resolveTcpOptions(options)),
    resolveLimitOptions(options, `TCP listener "${options.id ?? "tcp"}"`),
  );
}

class DenoTcpListenerAdapter implements Listener {
  readonly id: string;
  readonly protocol = "tcp";
  #options: ResolvedTcpOptions;
  #listener: DenoTcpListener | undefined;
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
    const { host, port } = this.#options;
    if (this.#listener) {
      return Promise.reject(alreadyListening(this.#options));
    }
    let listener: DenoTcpListener;
    try {
      listener = deno().listen({ hostname: host, port, transport: "tcp" });
    } catch (error) {
      return Promise.reject(listenError(host, port, error));
    }
    this.#listener = listener;
    this.#host = listener.addr.hostname;
    this.#port = listener.addr.port;
    void acceptEach(
      listener,
      () => this.#listener === listener,
      (conn) => startConnection(conn, this.#options.highWaterMark, this.id, accept),
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
}

/** Wrap an accepted (for TLS: handshaken) socket and hand it to the broker; close it if `accept` throws. */
export function startConnection(
  conn: DenoTcpConn,
  highWaterMark: number,
  listener: string,
  accept: Accept,
): void {
  const connection = new DenoTcpConnection(conn, highWaterMark);
  let handler: ConnectionHandler;
  try {
    handler = accept(connection, { listener });
  } catch {
    closeQuietly(conn);
    return;
  }
  connection.start(handler);
}

/** One accepted socket as a {@link Connection}; the TLS listener reuses it for secure sockets. */
export class DenoTcpConnection implements Connection {
  readonly remoteAddress: string;
  #conn: DenoTcpConn;
  #outbox: Outbox;
  #handler: ConnectionHandler | undefined;
  /** The write loop runs or is scheduled; writes meanwhile just queue. */
  #writing = false;
  /** Bytes the write loop has taken from the outbox and not yet written. */
  #unsent = 0;
  /** end() was called or the peer sent FIN: no more writes, no more data delivered. */
  #ending = false;
  #peerEnded = false;
  #destroyed = false;
  #closed = false;
  #error: Error | undefined;
  #linger: ReturnType<typeof setTimeout> | undefined;

  constructor(conn: DenoTcpConn, highWaterMark: number) {
    this.#conn = conn;
    this.#outbox = new Outbox(highWaterMark);
    this.remoteAddress = hostPort(conn.remoteAddr.hostname, conn.remoteAddr.port);
    try {
      conn.setNoDelay(true);
    } catch {
      // The peer may already be gone; the read loop will notice.
    }
  }

  /** Start reading into the handler the broker returned. */
  start(handler: ConnectionHandler): void {
    this.#handler = handler;
    void this.#readLoop();
  }

  write(bytes: Uint8Array): boolean {
    if (this.#ending || this.#destroyed || this.#closed) return false;
    const ok = this.#outbox.push(bytes, this.#unsent);
    this.#kick();
    return ok;
  }

  end(): void {
    if (this.#ending || this.#destroyed || this.#closed) return;
    this.#ending = true;
    if (this.#outbox.size > 0) this.#kick();
    else if (!this.#writing) void this.#shutdown();
  }

  destroy(): void {
    if (this.#destroyed || this.#closed) return;
    this.#destroyed = true;
    this.#outbox.clear();
    closeQuietly(this.#conn);
    // Never call the handler from inside its own destroy() call.
    queueMicrotask(() => this.#finish());
  }

  /** Start the write loop in a microtask, so everything written in this turn goes out as one buffer. */
  #kick(): void {
    if (this.#writing) return;
    this.#writing = true;
    queueMicrotask(() => void this.#writeLoop());
  }

  async #writeLoop(): Promise<void> {
    try {
      for (;;) {
        if (this.#destroyed || this.#closed) return;
        const bytes = this.#outbox.take();
        if (bytes === undefined) break;
        this.#unsent = bytes.byteLength;
        let offset = 0;
        // Deno's write may be partial: loop until the whole buffer is in the kernel.
        while (offset < bytes.byteLength) {
          const n = await this.#conn.write(offset === 0 ? bytes : bytes.subarray(offset));
          if (this.#destroyed || this.#closed) return;
          offset += n;
          this.#unsent -= n;
          if (this.#outbox.drained(this.#unsent)) this.#callDrain();
        }
      }
    } catch (error) {
      this.#unsent = 0;
      if (!this.#destroyed && !this.#closed) this.#fail(error);
      return;
    } finally {
      this.#writing = false;
    }
    if (this.#ending) void this.#shutdown();
  }

  async #readLoop(): Promise<void> {
    let buffer = new Uint8Array(READ_BUFFER_MIN);
    const handler = this.#handler!;
    try {
      for (;;) {
        const n = await this.#conn.read(buffer);
        if (this.#destroyed || this.#closed) return;
        if (n === null) break;
        if (this.#ending) continue;
        try {
          handler.data(buffer.subarray(0, n));
        } catch (error) {
          this.#fail(error);
          return;
        }
        if (n === buffer.byteLength && n < READ_BUFFER_MAX) buffer = new Uint8Array(n * 2);
      }
    } catch (error) {
      // ECONNRESET and friends; after destroy() the pending read rejects too, which is no error of the peer.
      if (!this.#destroyed && !this.#closed && this.#error === undefined) this.#error = asError(error);
      this.#finish();
      return;
    }
    this.#peerEnded = true;
    if (this.#ending && !this.#writing) {
      // We already sent FIN (end()) and now the peer did too.
      this.#finish();
      return;
    }
    // The peer is done sending: send what is queued, then close.
    this.#ending = true;
    if (!this.#writing) void this.#shutdown();
  }

  /** Everything queued is written and we are ending: close fully if the peer ended, else send FIN and wait. */
  async #shutdown(): Promise<void> {
    if (this.#destroyed || this.#closed) return;
    if (this.#peerEnded) {
      this.#finish();
      return;
    }
    try {
      await this.#conn.closeWrite();
    } catch (error) {
      if (!this.#destroyed && !this.#closed && this.#error === undefined) this.#error = asError(error);
      this.#finish();
      return;
    }
    if (this.#closed) return;
    const timer = setTimeout(() => this.destroy(), END_LINGER_MS);
    this.#linger = timer;
    // Deno's timers are numbers; unref so a lingering socket never keeps the process alive.
    deno().unrefTimer(timer as unknown as number);
  }

  /** Close the socket and tell the handler, exactly once. */
  #finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#linger !== undefined) clearTimeout(this.#linger);
    this.#outbox.clear();
    if (!this.#destroyed) closeQuietly(this.#conn);
    try {
      this.#handler?.closed(this.#error);
    } catch {
      // Nothing can be done with a handler error once the connection is gone.
    }
  }

  #callDrain(): void {
    try {
      this.#handler!.drain();
    } catch (error) {
      this.#fail(error);
    }
  }

  /** A handler threw or a write failed: close with that error. */
  #fail(error: unknown): void {
    if (this.#error === undefined) this.#error = asError(error);
    this.destroy();
  }
}
