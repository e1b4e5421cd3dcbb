/**
 * An in-memory connection pair: the broker gets a {@link Connection}, the test gets the other end.
 * Delivery is asynchronous (a microtask), like a socket, so ordering bugs show up here too.
 * @module
 */

import type { Accept, Connection, ConnectionHandler } from "./connection.ts";

/** The test's end of an in-memory connection. */
export interface MemoryPeer {
  /** Send bytes to the broker. */
  write(bytes: Uint8Array): void;
  /** Close from the client side (the broker sees an ungraceful close). */
  close(): void;
  /** Called with bytes the broker wrote. */
  onData: (bytes: Uint8Array) => void;
  /** Called once when the connection is closed by either side. */
  onClose: () => void;
  /** True once either side closed the connection. */
  readonly closed: boolean;
  /** True while the broker has paused reading ({@link Connection.pause}); writes wait meanwhile. */
  readonly paused: boolean;
  /** Bytes written by the test that wait for the broker to resume reading. */
  readonly heldBytes: number;
}

/** Open an in-memory connection to `accept` (for example `broker.accept`). */
export function connectMemory(
  accept: Accept,
  options: { listener?: string; remoteAddress?: string } = {},
): MemoryPeer {
  let closed = false;
  let ending = false;
  const pending: Array<() => void> = [];
  let scheduled = false;
  let paused = false;
  // Bytes the test wrote while the broker paused reading, as a socket's receive window would hold them.
  const held: Uint8Array[] = [];
  let heldBytes = 0;
  function schedule(fn: () => void): void {
    pending.push(fn);
    if (scheduled) return;
    scheduled = true;
    queueMicrotask(() => {
      scheduled = false;
      const batch = pending.splice(0);
      for (const f of batch) f();
    });
  }
  function shut(): void {
    if (closed) return;
    closed = true;
    schedule(() => {
      handler.closed();
      peer.onClose();
    });
  }
  const peer: MemoryPeer = {
    write(bytes) {
      if (closed || ending) return;
      const copy = bytes.slice();
      if (paused) {
        held.push(copy);
        heldBytes += copy.byteLength;
        return;
      }
      // Bytes written before a close still arrive first, as on a socket.
      schedule(() => handler.data(copy));
    },
    close: shut,
    onData: () => {},
    onClose: () => {},
    get closed() {
      return closed;
    },
    get paused() {
      return paused;
    },
    get heldBytes() {
      return heldBytes;
    },
  };
  const connection: Connection = {
    remoteAddress: options.remoteAddress ?? "memory:0",
    write(bytes) {
      if (closed || ending) return true;
      schedule(() => peer.onData(bytes));
      return true;
    },
    end() {
      if (ending) return;
      ending = true;
      schedule(shut);
    },
    destroy: shut,
    pause() {
      paused = true;
    },
    resume() {
      if (!paused) return;
      paused = false;
      const bytes = held.splice(0);
      heldBytes = 0;
      for (const b of bytes) schedule(() => handler.data(b));
    },
  };
  const handler: ConnectionHandler = accept(connection, { listener: options.listener ?? "memory" });
  return peer;
}
