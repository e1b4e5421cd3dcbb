/**
 * One byte-stream socket (TCP or TLS) as a {@link Connection}, shared by the Deno, Bun and node:net adapters.
 * Each runtime supplies a {@link SocketDriver} (how to write, half-close and close its socket) and reports its
 * socket's events to the connection; everything else lives here once:
 *
 * - Writes made within one turn of the event loop go out as one buffer (one syscall, not one per packet).
 * - Back-pressure: `write()` returns false above the high-water mark of queued, kept and runtime-buffered bytes,
 *   and `drain()` follows, in a later event-loop turn, once they fell to the low-water mark.
 * - `end()` sends what is queued, then half-closes (FIN). The linger starts at `end()`, not once everything was
 *   sent: a peer that never reads (a shrunken receive window) cannot hold the socket, its file descriptor and its
 *   buffered bytes past {@link END_LINGER_MS}; it is destroyed then, whatever is still queued.
 * - A peer's FIN: what is queued is still sent, then the connection closes.
 * - `closed()` reaches the handler exactly once, never from inside its own `end()` or `destroy()` call.
 * Pure TypeScript.
 * @module
 */

import { setImmediate } from "node:timers";
import type { Accept, AcceptInfo, Connection, ConnectionHandler } from "../src/transport/connection.ts";
import { Outbox } from "./_outbox.ts";
import { asError, END_LINGER_MS } from "./_tcp_common.ts";
import { unrefTimer } from "./_ws_connection.ts";

/** What a runtime's socket must do for a {@link SocketConnection}. */
export interface SocketDriver {
  /**
   * Hand `bytes` to the runtime. Returns how many it took now (all, some or none); the connection keeps the rest
   * and offers it again after {@link SocketConnection.writable}. -1: the socket is closed (its close event follows).
   * `notify`: the connection is blocked and wants `writable()` once these bytes are written.
   */
  send(bytes: Uint8Array, notify: boolean): number;
  /** Bytes taken by `send` and not yet in the kernel. */
  pending(): number;
  /** Half-close (send FIN) once everything taken is written, then call {@link SocketConnection.shutdownDone}. */
  shutdown(): void;
  /** Close now, dropping what the runtime still holds; {@link SocketConnection.closed} must follow, once. */
  close(): void;
  /** Stop reading from the socket, so the peer meets TCP back-pressure (the kernel's receive window). */
  pause(): void;
  /** Read again after {@link pause}. */
  resume(): void;
}

/** A runtime socket with its {@link SocketDriver}. */
export class SocketConnection implements Connection {
  readonly remoteAddress: string;
  #driver!: SocketDriver;
  readonly #outbox: Outbox;
  #handler: ConnectionHandler | undefined;
  #flushQueued = false;
  /** What the runtime did not take of the last send; offered again before anything newer. */
  #rest: Uint8Array | undefined;
  /** end() was called or the peer sent FIN: no more writes, no more data delivered. */
  #ending = false;
  #shutdownStarted = false;
  #shutdownDone = false;
  #peerEnded = false;
  #destroyed = false;
  #closed = false;
  #paused = false;
  #error: Error | undefined;
  #linger: ReturnType<typeof setTimeout> | undefined;

  constructor(remoteAddress: string, highWaterMark: number) {
    this.remoteAddress = remoteAddress;
    this.#outbox = new Outbox(highWaterMark);
  }

  /** Set the driver; separate from the constructor because a driver usually needs the connection. */
  drive(driver: SocketDriver): this {
    this.#driver = driver;
    return this;
  }

  /**
   * Hand the connection to the broker: `accept` returns the handler to feed. If `accept` throws, the socket is
   * closed and false returned.
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
    const ok = this.#outbox.push(bytes, this.#unsent());
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(this.#flush);
    }
    return ok;
  }

  end(): void {
    if (this.#ending || this.#destroyed || this.#closed) return;
    this.#ending = true;
    this.#startLinger();
    this.#send();
  }

  destroy(): void {
    if (this.#destroyed || this.#closed) return;
    this.#destroyed = true;
    this.#outbox.clear();
    this.#rest = undefined;
    this.#driver.close();
  }

  /** Stop reading from the peer until {@link resume} (the broker does it while storage is behind). */
  pause(): void {
    if (this.#paused || this.#destroyed || this.#closed) return;
    this.#paused = true;
    this.#driver.pause();
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    if (!this.#destroyed && !this.#closed) this.#driver.resume();
  }

  // ---- events from the runtime --------------------------------------------------------------------------

  /** Bytes arrived. */
  data(bytes: Uint8Array): void {
    if (this.#ending || this.#destroyed || this.#closed) return;
    try {
      this.#handler?.data(bytes);
    } catch (error) {
      this.#fail(error);
    }
  }

  /** The runtime has room again (a drain event, a finished write). */
  writable(): void {
    this.#send();
  }

  /** The peer sent FIN: send what is queued, then close. */
  peerEnded(): void {
    this.#peerEnded = true;
    if (this.#shutdownDone) {
      this.#driver.close();
      return;
    }
    if (this.#ending || this.#destroyed || this.#closed) return;
    this.#ending = true;
    this.#startLinger();
    this.#send();
  }

  /** Our FIN is out: close once the peer's came too. */
  shutdownDone(): void {
    this.#shutdownDone = true;
    if (this.#peerEnded && !this.#closed) this.#driver.close();
  }

  /** The runtime reported an error; its close follows. */
  error(error: unknown): void {
    if (!this.#destroyed && !this.#closed) this.#error ??= asError(error);
  }

  /** The socket is closed (either side, or destroyed). */
  closed(error?: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#linger);
    this.#outbox.clear();
    this.#rest = undefined;
    if (error !== undefined && !this.#destroyed) this.#error ??= asError(error);
    const reported = this.#error;
    // A runtime may report the close inside the handler's own destroy() call: tell the handler later.
    queueMicrotask(() => {
      try {
        this.#handler?.closed(reported);
      } catch {
        // Nothing can be done with a handler error once the connection is gone.
      }
    });
  }

  // ---- internals -------------------------------------------------------------------------------------------

  #unsent(): number {
    return (this.#rest?.byteLength ?? 0) + (this.#driver?.pending() ?? 0);
  }

  #flush = (): void => {
    this.#flushQueued = false;
    // While a remainder waits for writable(), newer bytes wait behind it.
    if (this.#rest === undefined) this.#send();
  };

  /** Offer the remainder, then everything queued, until the runtime stops taking bytes. */
  #send(): void {
    if (this.#destroyed || this.#closed || this.#shutdownStarted) return;
    for (;;) {
      const bytes = this.#rest ?? this.#outbox.take();
      if (bytes === undefined) break;
      const n = this.#driver.send(bytes, this.#outbox.blocked);
      if (n < 0) {
        // Closed under us: its close event reports it.
        this.#rest = undefined;
        this.#outbox.clear();
        return;
      }
      if (n < bytes.byteLength) {
        this.#rest = n === 0 ? bytes : bytes.subarray(n);
        break;
      }
      this.#rest = undefined;
    }
    // drain() runs in a later event-loop turn: when the runtime takes everything at once, a drain -> write ->
    // flush chain of microtasks would otherwise never let I/O and timers run.
    if (this.#outbox.drained(this.#unsent())) setImmediate(this.#drain);
    if (this.#ending && this.#rest === undefined && this.#outbox.size === 0) {
      this.#shutdownStarted = true;
      this.#driver.shutdown();
    }
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

  #startLinger(): void {
    if (this.#linger !== undefined || this.#closed) return;
    this.#linger = setTimeout(() => this.destroy(), END_LINGER_MS);
    unrefTimer(this.#linger);
  }

  /** A handler threw: close with that error rather than let it reach the runtime. */
  #fail(error: unknown): void {
    this.#error ??= asError(error);
    this.destroy();
  }
}
