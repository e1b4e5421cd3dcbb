/**
 * Worker threads, the one place that differs by runtime: `node:worker_threads` on Node, the Web `Worker` (module
 * type) on Deno and Bun, where it is the native API.
 * @module
 */

import type { WorkerPort } from "../../src/cluster/worker_protocol.ts";

/** The parent's side of a thread. */
export interface Thread {
  /** Send `data`; `transfer` moves buffers and message ports to the thread. */
  post(data: unknown, transfer?: readonly Transferable[]): void;
  onMessage(handler: (data: unknown) => void): void;
  /** Called once when the thread ended, with an error when it crashed. */
  onExit(handler: (error: Error | undefined) => void): void;
  /** End it at once (what a crash looks like to the others). */
  terminate(): void;
}

/** A thread's view of its parent. */
export interface Parent {
  readonly data: unknown;
  post(data: unknown, transfer?: readonly Transferable[]): void;
  onMessage(handler: (data: unknown) => void): void;
}

/** A buffer or a message port that a message moves to the other side. */
export type Transferable = ArrayBuffer | object;

/** A new MessageChannel between two threads: its two ports, to transfer one to each. */
export async function channel(): Promise<[object, object]> {
  const { MessageChannel } = await import("node:worker_threads");
  const c = new MessageChannel();
  return [c.port1, c.port2];
}

/** A port that came from {@link channel}, as the bus uses it. */
export function wrapPort(port: object): WorkerPort {
  const p = port as import("node:worker_threads").MessagePort;
  return {
    postMessage: (d, transfer) => p.postMessage(d, transfer ?? []),
    onMessage: (handler) => void p.on("message", handler),
  };
}

/** Start `url` (a module) as a thread that gets `data`. */
export async function spawnThread(url: URL, data: unknown): Promise<Thread> {
  const { Worker } = await import("node:worker_threads");
  const worker = new Worker(url, { workerData: data });
  let exited: ((error: Error | undefined) => void) | undefined;
  let crash: Error | undefined;
  worker.on("error", (error: Error) => (crash = error));
  worker.on("exit", (code: number) => {
    exited?.(crash ?? (code === 0 ? undefined : new Error(`worker thread exited with code ${code}`)));
    exited = undefined;
  });
  return {
    post: (d, transfer) => worker.postMessage(d, (transfer ?? []) as never),
    onMessage: (handler) => void worker.on("message", handler),
    onExit: (handler) => (exited = handler),
    terminate: () => void worker.terminate(),
  };
}

/** The parent of the thread this code runs in. */
export async function parentThread(): Promise<Parent> {
  const { parentPort, workerData } = await import("node:worker_threads");
  if (parentPort === null) throw new Error("adapters/workers/worker_main.ts runs only as a worker thread");
  return {
    data: workerData,
    post: (d, transfer) => parentPort.postMessage(d, (transfer ?? []) as never),
    onMessage: (handler) => void parentPort.on("message", handler),
  };
}
