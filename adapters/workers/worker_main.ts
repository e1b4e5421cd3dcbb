/**
 * The entry of one broker worker thread: it loads the same config as the main thread, joins the hub through a
 * {@link WorkerBus} over its parent port, and runs a complete broker whose plain TCP listeners share their ports
 * with the other workers (reusePort). It answers the supervisor's `stop` by closing the broker gracefully.
 * @module
 */

import { setImmediate } from "node:timers";
import { WorkerBus } from "../../src/cluster/worker_bus.ts";
import type { PeerChange, WorkerPort } from "../../src/cluster/worker_protocol.ts";
import type { ConfigOverrides } from "../../src/config/cli_overrides.ts";
import { loadConfig } from "../start/load_config.ts";
import { type RunningBroker, startBroker } from "../start/start_broker.ts";
import { parentThread, wrapPort } from "./_thread.ts";

/** What the supervisor gives each worker. */
export interface WorkerData {
  readonly index: number;
  /** The config file path (undefined for the CLI's no-config default). */
  readonly config: string | undefined;
  readonly overrides: ConfigOverrides;
  /** Ports bound by worker 0, by listener index, for listeners that asked for port 0. */
  readonly ports: Readonly<Record<number, number>>;
}

/** Supervisor to worker, besides the bus's own messages. */
export type SupervisorToWorker = { readonly t: "stop" } | { readonly t: "reload" };
/** Worker to supervisor, besides the bus's own messages. */
export type WorkerToSupervisor =
  | { readonly t: "ready"; readonly ports: Record<number, number> }
  | { readonly t: "failed"; readonly error: string }
  | { readonly t: "stopped" };

const parent = await parentThread();
const data = parent.data as WorkerData;
let busHandler: (data: unknown) => void = () => {};
let running: RunningBroker | undefined;
const port: WorkerPort = {
  postMessage: (d, transfer) => parent.post(d, transfer),
  onMessage: (handler) => (busHandler = handler),
};
// Messages cross threads once per event-loop turn (setImmediate: after every socket read of the turn).
const bus = new WorkerBus(data.index, port, (run) => void setImmediate(run));
parent.onMessage((message) => {
  const m = message as SupervisorToWorker | PeerChange;
  if (m.t === "stop") void stop();
  else if (m.t === "reload") void running?.reload();
  else if (m.t === "peerAdd") bus.addPeer(m.peer, wrapPort(m.port as object));
  else if (m.t === "peerGone") bus.removePeer(m.peer);
  else busHandler(message);
});

async function stop(): Promise<void> {
  try {
    await running?.close();
  } finally {
    parent.post({ t: "stopped" } satisfies WorkerToSupervisor);
  }
}

try {
  const loaded = await loadConfig(data.config, data.overrides);
  const listeners = loaded.config.listeners.map((l, i) =>
    data.ports[i] === undefined ? l : { ...l, port: data.ports[i] }
  );
  const tag = ` worker=${data.index}`;
  running = await startBroker({ ...loaded, config: { ...loaded.config, listeners } }, {
    worker: { index: data.index, bus },
    // Each line says which worker wrote it.
    writeLog: (line) =>
      console.log(line.startsWith("{") ? `{"worker":${data.index},${line.slice(1)}` : line + tag),
  });
  const ports: Record<number, number> = {};
  const bound = running.broker.listeners;
  loaded.config.listeners.forEach((l, i) => {
    const found = bound.find((b) => b.id === l.id);
    const at = found?.address?.match(/:(\d+)$/);
    if (at) ports[i] = Number(at[1]);
  });
  parent.post({ t: "ready", ports } satisfies WorkerToSupervisor);
} catch (err) {
  parent.post({ t: "failed", error: (err as Error).message } satisfies WorkerToSupervisor);
}
