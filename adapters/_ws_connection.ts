/**
 * One MQTT-over-WebSocket connection, shared by the three WebSocket adapters. Each adapter wraps its runtime's
 * server socket in a {@link WsSocket} and forwards the socket's events; this class turns them into the
 * {@link Connection} / {@link ConnectionHandler} contract the TCP adapters implement. Pure TypeScript.
 *
 * - Writes made within one turn of the event loop go out as one binary message [MQTT-6.0.0-1]; the reader
 *   takes messages as a byte stream, so packets may be split over messages or share one [MQTT-6.0.0-2].
 * - A text message closes the connection [MQTT-6.0.0-1].
 * - `end()` sends what is queued, then closes the WebSocket (1000); a WebSocket closed by the peer reports
 *   `closed()`, which the broker treats as the network connection ending.
 * - Back-pressure: `write()` returns false above the high-water mark of queued plus runtime-buffered bytes;
 *   `drain()` follows once the runtime's buffer fell to the low-water mark (polled, as only some runtimes have
 *   a drain event).
 * @module
 */

import type { Accept, AcceptInfo, Connection, ConnectionHandler } from "../src/transport/connection.ts";
import { Outbox } from "./_outbox.ts";
import { asError, END_LINGER_MS } from "./_tcp_common.ts";

/** What the connection needs from a runtime's server-side WebSocket. */
export interface WsSocket {
  /** Send one binary message. May throw when the socket is closing. */
  send(bytes: Uint8Array): void;
  /** Bytes accepted by `send` and not yet handed to the kernel. */
  bufferedAmount(): number;
  /** Start the closing handshake. */
  close(code: number, reason: string): void;
  /** Drop the connection without a closing handshake (where the runtime cannot, close with 1000). */
  terminate(): void;
  /** Stop / start reading from the socket, where the runtime can (Bun, `ws`; Deno's server cannot). */
  pause?(): void;
  resume?(): void;
}

/** Close codes the peer may end with that are no error (normal, going away, no status). */
const CLEAN_CLOSE = new Set([1000, 1001, 1005]);
/** How often a blocked connection checks whether the runtime's buffer emptied. */
const DRAIN_POLL_MS = 5;

/** Stop a timer from keeping the process alive, on every runtime (Deno's timers are numbers). */
export function unrefTimer(timer: unknown): void {
  if (typeof timer === "object" && timer !== null && "unref" in timer) {
    (timer as { unref(): void }).unref();
    return;
  }
  const deno = (globalThis as { Deno?: { unrefTimer?(id: number): void } }).Deno;
  if (typeof timer === "number") deno?.unrefTimer?.(timer);
}

/** The {@link Connection} of one WebSocket. */
export class WsConnection implements Connection {
  readonly remoteAddress: string;
  readonly #socket: WsSocket;
  readonly #outbox: Outbox;
  #handler: ConnectionHandler | undefined;
  #flushQueued = false;
  /** end() was called, or a text message arrived: no more writes, no more data delivered. */
  #ending = false;
  #destroyed = false;
  #closed = false;
  #error: Error | undefined;
  #linger: ReturnType<typeof setTimeout> | undefined;
  #poll: ReturnType<typeof setInterval> | undefined;

  readonly #maxMessageSize: number;

  /** `maxMessageSize`: a larger message closes the connection (1009), for runtimes that cannot cap it earlier. */
  constructor(
    socket: WsSocket,
    remoteAddress: string,
    options: { highWaterMark: number; maxMessageSize: number },
  ) {
    this.#socket = socket;
    this.remoteAddress = remoteAddress;
    this.#outbox = new Outbox(options.highWaterMark);
    this.#maxMessageSize = options.maxMessageSize;
  }

  /**
   * Hand the connection to the broker: `accept` returns the handler to feed. If `accept` throws, the WebSocket
   * is dropped and false returned.
   */
  open(accept: Accept, info: AcceptInfo): boolean {
    try {
      this.#handler = accept(this, info);
      return true;
    } catch {
      this.destroy();
      return false;
    }
  }

  write(bytes: Uint8Array): boolean {
    if (this.#ending || this.#destroyed || this.#closed) return false;
    const ok = this.#outbox.push(bytes, this.#buffered());
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
    this.#closeSocket(1000, "");
  }

  destroy(): void {
    if (this.#destroyed || this.#closed) return;
    this.#destroyed = true;
    this.#outbox.clear();
    try {
      this.#socket.terminate();
    } catch {
      // Already gone.
    }
    this.#startLinger();
  }

  /** Stop reading from the peer until {@link resume}, where the runtime's WebSocket can. */
  pause(): void {
    if (!this.#destroyed && !this.#closed) this.#socket.pause?.();
  }

  resume(): void {
    if (!this.#destroyed && !this.#closed) this.#socket.resume?.();
  }

  // ---- events from the adapter -------------------------------------------------------------------------

  /** A message arrived: bytes for a binary one, a string for a text one. */
  message(data: Uint8Array | string): void {
    if (this.#ending || this.#destroyed || this.#closed) return;
    if (typeof data === "string") {
      // [MQTT-6.0.0-1] MQTT travels in binary messages only: any other data frame closes the connection.
      this.#error ??= new Error(
        "Closed the WebSocket: it sent a text message, and MQTT uses binary messages only",
      );
      this.#ending = true;
      this.#outbox.clear();
      this.#closeSocket(1003, "MQTT needs binary messages");
      return;
    }
    if (data.byteLength > this.#maxMessageSize) {
      this.#error ??= new Error(
        `Closed the WebSocket: a message of ${data.byteLength} bytes is over the limit of ${this.#maxMessageSize}`,
      );
      this.#ending = true;
      this.#outbox.clear();
      this.#closeSocket(1009, "message too big");
      return;
    }
    try {
      this.#handler?.data(data);
    } catch (error) {
      this.#fail(error);
    }
  }

  /** The runtime may have room again (Bun's drain, a `ws` send callback). */
  writable(): void {
    this.#checkDrain();
  }

  /** The runtime reported an error; `closed` follows. */
  error(error: unknown): void {
    if (!this.#destroyed && !this.#closed) this.#error ??= asError(error);
  }

  /** The WebSocket closed (either side), with its close code and reason. */
  socketClosed(code: number, reason: string): void {
    if (this.#closed) return;
    if (!CLEAN_CLOSE.has(code) && !this.#destroyed && !this.#ending) {
      this.#error ??= new Error(`WebSocket closed with code ${code}${reason ? ` (${reason})` : ""}`);
    }
    this.#finish();
  }

  // ---- internals ---------------------------------------------------------------------------------------

  #buffered(): number {
    try {
      return this.#socket.bufferedAmount();
    } catch {
      return 0;
    }
  }

  /** One message per turn: everything written since the last flush. */
  #flush = (): void => {
    this.#flushQueued = false;
    if (this.#destroyed || this.#closed) return;
    const bytes = this.#outbox.take();
    if (bytes === undefined) return;
    try {
      this.#socket.send(bytes);
    } catch (error) {
      this.#fail(error);
      return;
    }
    if (this.#outbox.blocked) this.#startPoll();
  };

  #startPoll(): void {
    if (this.#poll !== undefined) return;
    this.#poll = setInterval(() => this.#checkDrain(), DRAIN_POLL_MS);
    unrefTimer(this.#poll);
  }

  #checkDrain(): void {
    if (this.#destroyed || this.#closed || !this.#outbox.drained(this.#buffered())) return;
    clearInterval(this.#poll);
    this.#poll = undefined;
    try {
      this.#handler?.drain();
    } catch (error) {
      this.#fail(error);
    }
  }

  #closeSocket(code: number, reason: string): void {
    try {
      this.#socket.close(code, reason);
    } catch {
      // Already closing.
    }
    this.#startLinger();
  }

  /** A peer that never answers our close (or a runtime that never reports it) must not hold the connection. */
  #startLinger(): void {
    if (this.#linger !== undefined || this.#closed) return;
    this.#linger = setTimeout(() => {
      try {
        this.#socket.terminate();
      } catch {
        // Already gone.
      }
      this.#finish();
    }, END_LINGER_MS);
    unrefTimer(this.#linger);
  }

  /** Tell the handler, exactly once, and never from inside its own end()/destroy() call. */
  #finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#linger);
    clearInterval(this.#poll);
    this.#outbox.clear();
    const error = this.#error;
    queueMicrotask(() => {
      try {
        this.#handler?.closed(error);
      } catch {
        // Nothing can be done with a handler error once the connection is gone.
      }
    });
  }

  #fail(error: unknown): void {
    this.#error ??= asError(error);
    this.destroy();
  }
}
