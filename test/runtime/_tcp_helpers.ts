/**
 * Helpers for the TCP scenarios: bounded waits, a recording handler, a node:net client and a byte pattern that
 * shows loss, reordering or duplication.
 * @module
 */

import { connect, type Socket } from "node:net";
import type { Accept, Connection, ConnectionHandler, Listener } from "../../src/transport/connection.ts";
import type { TcpListenerOptions } from "../../adapters/_tcp_common.ts";

/** An adapter's `createTcpListener`. */
export type CreateTcpListener = (options?: TcpListenerOptions) => Listener;

export const HOST = "127.0.0.1";
// Below bun test's 5 s per-test limit, so a hang reports what it waited for.
const WAIT_MS = 4_000;

/** Reject with a message naming `what` when `promise` takes longer than `ms`. */
export function withTimeout<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Poll `condition` every 5 ms until it holds; throw naming `what` after `ms`. */
export async function waitFor(condition: () => boolean, what: string, ms = WAIT_MS): Promise<void> {
  const deadline = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
    await sleep(5);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A promise plus its resolver. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Everything the adapter told one connection's handler. */
export interface Recorder {
  handler: ConnectionHandler;
  received: number;
  drains: number;
  closedCalls: Array<Error | undefined>;
  closed: Promise<Error | undefined>;
}

export function recorder(onData?: (bytes: Uint8Array) => void, onDrain?: () => void): Recorder {
  const done = deferred<Error | undefined>();
  const rec: Recorder = {
    received: 0,
    drains: 0,
    closedCalls: [],
    closed: done.promise,
    handler: {
      data(bytes) {
        rec.received += bytes.byteLength;
        onData?.(bytes);
      },
      drain() {
        rec.drains++;
        onDrain?.();
      },
      closed(error) {
        rec.closedCalls.push(error);
        done.resolve(error);
      },
    },
  };
  return rec;
}

/** A listener on 127.0.0.1:0 whose accepted connections are handed to `onAccept`. */
export async function listening(
  create: CreateTcpListener,
  onAccept: Accept,
  options: TcpListenerOptions = {},
): Promise<Listener> {
  const listener = create({ host: HOST, port: 0, ...options });
  await withTimeout(listener.listen(onAccept), "listen()");
  return listener;
}

/** One accepted connection and its recorder, resolved when the adapter accepts it. */
export function acceptOne(
  make: (connection: Connection) => Recorder,
): { accept: Accept; accepted: Promise<{ connection: Connection; rec: Recorder }> } {
  const got = deferred<{ connection: Connection; rec: Recorder }>();
  return {
    accept: (connection) => {
      const rec = make(connection);
      got.resolve({ connection, rec });
      return rec.handler;
    },
    accepted: got.promise,
  };
}

export function connectClient(port: number, options: { allowHalfOpen?: boolean } = {}): Promise<Socket> {
  return withTimeout(
    new Promise<Socket>((resolve, reject) => {
      const socket = connect({ host: HOST, port, allowHalfOpen: options.allowHalfOpen ?? false });
      socket.once("connect", () => {
        socket.off("error", reject);
        resolve(socket);
      });
      socket.once("error", reject);
    }),
    "the client to connect",
  );
}

/** Bytes the client reads until the server's FIN, plus when the socket closed. */
export function collect(
  socket: Socket,
): { bytes: () => Uint8Array; ended: Promise<void>; closed: Promise<void> } {
  const chunks: Uint8Array[] = [];
  const ended = deferred();
  const closed = deferred();
  socket.on("data", (chunk: Uint8Array) => chunks.push(chunk));
  socket.on("end", () => ended.resolve());
  socket.on("error", () => {});
  socket.on("close", () => {
    ended.resolve();
    closed.resolve();
  });
  return { bytes: () => concat(chunks), ended: ended.promise, closed: closed.promise };
}

export function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}

/** Deterministic bytes: the value at stream offset `i` depends on `i`, so loss, reorder or duplication shows. */
export function pattern(offset: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    const at = offset + i;
    out[i] = (at ^ (at >>> 8) ^ (at >>> 16)) & 0xff;
  }
  return out;
}

/** Index of the first byte of `bytes` (starting at stream offset `offset`) that breaks the pattern, or -1. */
export function patternMismatch(bytes: Uint8Array, offset: number): number {
  for (let i = 0; i < bytes.byteLength; i++) {
    const at = offset + i;
    if (bytes[i] !== ((at ^ (at >>> 8) ^ (at >>> 16)) & 0xff)) return at;
  }
  return -1;
}
