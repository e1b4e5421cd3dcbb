/**
 * Worker threads, the one place that differs by runtime. Node and Bun: `node:worker_threads` (Bun's is native and
 * was the fastest here: 1.7M packed messages/s between threads, bench/worker_bus_bench.ts). Deno: the Web `Worker`
 * (module type) and Web MessageChannel, since Deno's node:worker_threads layer carried 5 times fewer messages
 * (123k against 600k/s by structured clone, measured with the same batches).
 * @module
 */

import type { WorkerPort } from "../../src/cluster/worker_protocol.ts";
import { runtimeName } from "../mod.ts";

/** A buffer or a message port that a message moves to the other side. */
export type Transferable = ArrayBuffer | object;

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

/** The Web Worker API, where it is the native one (Deno). */
interface WebWorker {
  postMessage(data: unknown, transfer: readonly Transferable[]): void;
  onmessage: ((e: { data: unknown }) => void) | null;
  onerror: ((e: { message: string; preventDefault(): void }) => void) | null;
  terminate(): void;
}
type WebWorkerClass = new (url: URL, options: { type: "module" }) => WebWorker;

const web = (): boolean => runtimeName() === "deno";

/** A new MessageChannel between two threads: its two ports, to transfer one to each. */
export async function channel(): Promise<[object, object]> {
  if (web()) {
    const c = new MessageChannel();
    return [c.port1, c.port2];
  }
  const { MessageChannel: NodeChannel } = await import("node:worker_threads");
  const c = new NodeChannel();
  return [c.port1, c.port2];
}

/** A port that came from {@link channel}, as the bus uses it. */
export function wrapPort(port: object): WorkerPort {
  if (web()) {
    const p = port as MessagePort;
    return {
      postMessage: (d, transfer) => p.postMessage(d, (transfer ?? []) as Transferable[] as never),
      onMessage: (handler) => (p.onmessage = (e) => handler(e.data)),
    };
  }
  const p = port as import("node:worker_threads").MessagePort;
  return {
    postMessage: (d, transfer) => p.postMessage(d, transfer ?? []),
    onMessage: (handler) => void p.on("message", handler),
  };
}

/** Start `url` (a module) as a thread that gets `data`. */
export async function spawnThread(url: URL, data: unknown): Promise<Thread> {
  let exited: ((error: Error | undefined) => void) | undefined;
  const exit = (error: Error | undefined) => {
    exited?.(error);
    exited = undefined;
  };
  if (web()) {
    const Worker = (globalThis as unknown as { Worker: WebWorkerClass }).Worker;
    const worker = new Worker(url, { type: "module" });
    // A Web Worker has no workerData: the first message is it.
    worker.postMessage({ workerData: data }, []);
    const handlers: Array<(data: unknown) => void> = [];
    worker.onmessage = (e) => handlers.forEach((h) => h(e.data));
    worker.onerror = (e) => {
      // Uncaught in the worker: without preventDefault it would end the whole process. It is a crash of this
      // worker only; the supervisor restarts it.
      e.preventDefault();
      worker.terminate();
      exit(new Error(e.message));
    };
    return {
      post: (d, transfer) => worker.postMessage(d, transfer ?? []),
      onMessage: (handler) => void handlers.push(handler),
      onExit: (handler) => (exited = handler),
      // A Web Worker reports no exit: ending it is the exit.
      terminate: () => {
        worker.terminate();
        exit(undefined);
      },
    };
  }
  const { Worker } = await import("node:worker_threads");
  const worker = new Worker(url, { workerData: data });
  let crash: Error | undefined;
  worker.on("error", (error: Error) => (crash = error));
  worker.on("exit", (code: number) => {
    exit(crash ?? (code === 0 ? undefined : new Error(`worker thread exited with code ${code}`)));
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
  if (web()) {
    const scope = globalThis as unknown as {
      postMessage(data: unknown, transfer: readonly Transferable[]): void;
      onmessage: ((e: { data: unknown }) => void) | null;
    };
    const data = await new Promise<unknown>((resolve) => {
      scope.onmessage = (e) => resolve((e.data as { workerData: unknown }).workerData);
    });
    const handlers: Array<(data: unknown) => void> = [];
    scope.onmessage = (e) => handlers.forEach((h) => h(e.data));
    return {
      data,
      post: (d, transfer) => scope.postMessage(d, transfer ?? []),
      onMessage: (handler) => void handlers.push(handler),
    };
  }
  const { parentPort, workerData } = await import("node:worker_threads");
  if (parentPort === null) throw new Error("adapters/workers/worker_main.ts runs only as a worker thread");
  return {
    data: workerData,
    post: (d, transfer) => parentPort.postMessage(d, (transfer ?? []) as never),
    onMessage: (handler) => void parentPort.on("message", handler),
  };
}
