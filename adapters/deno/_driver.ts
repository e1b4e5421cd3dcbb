/**
 * A Deno TCP or TLS connection as a {@link SocketDriver}: a read loop and a serialized write loop.
 *
 * Reads use `conn.read` into one buffer per connection that is **reused** for the next read, so the connection
 * gets a view that is only valid during the call (the handler copies what it keeps). Web streams are avoided on
 * purpose: `pipeTo` was several times slower with many connections (shared/PLATFORM.md §3).
 * @module
 */

import type { SocketConnection, SocketDriver } from "../_socket_connection.ts";
import { closeQuietly } from "./_accept.ts";

// The few Deno APIs used, declared structurally so this file needs no Deno type library.
/** A Deno TCP or TLS connection. */
export interface DenoConn {
  readonly remoteAddr: { readonly hostname: string; readonly port: number };
  read(buffer: Uint8Array): Promise<number | null>;
  write(bytes: Uint8Array): Promise<number>;
  closeWrite(): Promise<void>;
  close(): void;
  setNoDelay?(noDelay?: boolean): void;
}
/**
 * Each connection's read buffer starts small, because an idle MQTT client still pins it in a pending read
 * (10k clients × 64 KiB would be 640 MB), and doubles up to the maximum whenever a read fills it. 64 bytes hold
 * a typical CONNECT and every PINGREQ; with 15,000 idle clients held by a bare Deno server, a 1 KiB first buffer
 * cost 1.1 kB of RSS per connection more than a 16-byte one (8.5 against 7.4 kB).
 */
const READ_BUFFER_MIN = 64;
const READ_BUFFER_MAX = 64 * 1024;

/** Deno's writes are async and may be partial: one buffer in flight at a time, written to the end. */
export class DenoDriver implements SocketDriver {
  readonly #conn: DenoConn;
  readonly #connection: SocketConnection;
  #inFlight = 0;
  #wantShutdown = false;
  #closed = false;
  /** While paused, the read loop waits here before its next read (so the kernel's window fills, not memory). */
  #resumed: Promise<void> | undefined;
  #wake: (() => void) | undefined;

  constructor(conn: DenoConn, connection: SocketConnection) {
    this.#conn = conn;
    this.#connection = connection;
  }

  send(bytes: Uint8Array): number {
    if (this.#closed) return -1;
    if (this.#inFlight > 0) return 0;
    this.#inFlight = bytes.byteLength;
    void this.#write(bytes);
    return bytes.byteLength;
  }

  pending(): number {
    return this.#inFlight;
  }

  shutdown(): void {
    this.#wantShutdown = true;
    if (this.#inFlight === 0) void this.#closeWrite();
  }

  close(): void {
    this.#end(undefined);
    this.resume();
  }

  pause(): void {
    this.#resumed ??= new Promise((resolve) => (this.#wake = resolve));
  }

  resume(): void {
    const wake = this.#wake;
    this.#resumed = this.#wake = undefined;
    wake?.();
  }

  async readLoop(): Promise<void> {
    let buffer = new Uint8Array(READ_BUFFER_MIN);
    try {
      for (;;) {
        if (this.#resumed !== undefined) await this.#resumed;
        if (this.#closed) return;
        const n = await this.#conn.read(buffer);
        if (this.#closed) return;
        if (n === null) break;
        this.#connection.data(buffer.subarray(0, n));
        if (n === buffer.byteLength && n < READ_BUFFER_MAX) buffer = new Uint8Array(n * 2);
      }
    } catch (error) {
      // ECONNRESET and friends; after close() the pending read rejects too, which is no error of the peer.
      this.#end(error);
      return;
    }
    this.#connection.peerEnded();
  }

  async #write(bytes: Uint8Array): Promise<void> {
    try {
      let offset = 0;
      while (offset < bytes.byteLength) {
        offset += await this.#conn.write(offset === 0 ? bytes : bytes.subarray(offset));
        if (this.#closed) return;
        this.#inFlight = bytes.byteLength - offset;
      }
    } catch (error) {
      this.#end(error);
      return;
    }
    this.#inFlight = 0;
    if (this.#wantShutdown) void this.#closeWrite();
    else this.#connection.writable();
  }

  async #closeWrite(): Promise<void> {
    try {
      await this.#conn.closeWrite();
    } catch (error) {
      this.#end(error);
      return;
    }
    if (!this.#closed) this.#connection.shutdownDone();
  }

  /** Close the socket and report it once; a close we asked for reports no error. */
  #end(error: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#inFlight = 0;
    closeQuietly(this.#conn);
    this.#connection.closed(error);
  }
}
