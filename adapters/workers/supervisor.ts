/**
 * `workers: N`: the main thread becomes a small supervisor and the hub of the in-process bus. It starts worker 0
 * first (so that a listener asking for port 0 gets a real port that the others then share), then the rest; a
 * worker that dies is replaced after a back-off while the others keep serving; SIGINT/SIGTERM stop them all
 * gracefully; SIGHUP makes each one read its users/ACL files and certificates again. SIGUSR2 terminates the last
 * worker abruptly, to see (and test) what a crash does.
 * @module
 */

import { availableParallelism } from "node:os";
import process from "node:process";
import { WorkerHub } from "../../src/cluster/worker_hub.ts";
import type { WorkerToHub } from "../../src/cluster/worker_protocol.ts";
import type { ConfigOverrides } from "../../src/config/cli_overrides.ts";
import type { Config } from "../../src/config/config.ts";
import type { Logger } from "../../src/logger.ts";
import { checkReusePort } from "./_reuse_port.ts";
import { channel, spawnThread, type Thread } from "./_thread.ts";
import type { WorkerData, WorkerToSupervisor } from "./worker_main.ts";

/** How long the workers get to stop gracefully before they are terminated. */
const STOP_TIMEOUT_MS = 10_000;
/** Restart back-off: first wait, and the longest. */
const BACKOFF_MS = [250, 10_000] as const;
/** A worker that ran this long before dying restarts after the shortest wait again. */
const STABLE_MS = 30_000;

/** The number of workers `workers` asks for: `auto` is the number of cores. */
export function workerCount(config: Config): number {
  const w = config.workers ?? 1;
  return w === "auto" ? Math.max(1, availableParallelism()) : w;
}

/** Run `count` workers until SIGINT/SIGTERM; resolves to the exit code (0 clean, 1 failed). */
export async function runWorkers(
  count: number,
  configPath: string | undefined,
  overrides: ConfigOverrides,
  logger: Logger,
  /** True when a listener asks for port 0: worker 0 binds first and the others take its ports. */
  anyPort = false,
): Promise<number> {
  const problem = await checkReusePort();
  if (problem !== undefined) {
    logger.error(`cannot start ${count} workers: ${problem}`);
    return 1;
  }
  const hub = new WorkerHub();
  const threads = new Map<number, Thread>();
  const startedAt = new Map<number, number>();
  const backoff = new Map<number, number>();
  let ports: Record<number, number> = {};
  let stopping = false;
  let failed: string | undefined;
  const url = new URL("./worker_main.ts", import.meta.url);

  /** Start worker `index`; resolves when it listens (or failed). */
  const start = async (index: number): Promise<void> => {
    const data: WorkerData = { index, config: configPath, overrides, ports };
    const thread = await spawnThread(url, data);
    // A direct channel to every live worker, before anything else reaches either side (routed messages go
    // worker to worker; the hub only says who wants what).
    for (const [peer, other] of threads) {
      const [mine, theirs] = await channel();
      thread.post({ t: "peerAdd", peer, port: mine }, [mine]);
      other.post({ t: "peerAdd", peer: index, port: theirs }, [theirs]);
    }
    threads.set(index, thread);
    startedAt.set(index, Date.now());
    hub.add(index, (d, transfer) => thread.post(d, transfer));
    let ready!: () => void;
    const listening = new Promise<void>((r) => (ready = r));
    thread.onMessage((m) => {
      const s = m as WorkerToSupervisor;
      if (s.t === "ready") {
        if (index === 0) ports = { ...s.ports };
        ready();
      } else if (s.t === "failed") {
        failed ??= `worker ${index} could not start: ${s.error}`;
        ready();
      } else if (s.t !== "stopped") hub.receive(index, m as WorkerToHub);
    });
    thread.onExit((error) => {
      if (threads.get(index) !== thread) return;
      threads.delete(index);
      hub.remove(index);
      for (const other of threads.values()) other.post({ t: "peerGone", peer: index });
      ready();
      if (stopping || failed !== undefined) return;
      const ran = Date.now() - (startedAt.get(index) ?? 0);
      const wait = ran > STABLE_MS
        ? BACKOFF_MS[0]
        : Math.min(BACKOFF_MS[1], backoff.get(index) ?? BACKOFF_MS[0]);
      backoff.set(index, Math.min(BACKOFF_MS[1], wait * 2));
      logger.error("worker ended: restarting it", {
        worker: index,
        error: error?.message ?? "exited",
        waitMs: wait,
      });
      setTimeout(() => {
        if (stopping) return;
        start(index).catch((err) =>
          logger.error("worker restart failed", { worker: index, error: String(err) })
        );
      }, wait);
    });
    await listening;
  };

  const stopAll = async (): Promise<void> => {
    stopping = true;
    const all = [...threads.values()];
    const gone = all.map((t) => new Promise<void>((r) => t.onExit(() => r())));
    for (const t of all) t.post({ t: "stop" });
    const timer = setTimeout(() => all.forEach((t) => t.terminate()), STOP_TIMEOUT_MS);
    // A stopped worker's broker closed; ending the thread is the supervisor's part.
    for (const t of all) {
      t.onMessage((m) => {
        if ((m as WorkerToSupervisor).t === "stopped") t.terminate();
      });
    }
    await Promise.all(gone);
    clearTimeout(timer);
  };

  let resolveSignal!: (s: string) => void;
  const signalled = new Promise<string>((r) => (resolveSignal = r));
  const onSignal = (s: string) => resolveSignal(s);
  const onCrashDrill = () => threads.get(count - 1)?.terminate();
  // SIGHUP: every worker reads the users/ACL files and TLS certificates again, as a single broker does.
  const onHangup = () => threads.forEach((t) => t.post({ t: "reload" }));
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("SIGUSR2", onCrashDrill);
  process.on("SIGHUP", onHangup);
  try {
    if (anyPort) {
      await start(0);
      for (let i = 1; i < count && failed === undefined; i++) await start(i);
    } else {
      // Fixed ports: all at once, so that no worker takes every early client while the others still start.
      await Promise.all(Array.from({ length: count }, (_, i) => start(i)));
    }
    if (failed !== undefined) {
      logger.error(failed);
      await stopAll();
      return 1;
    }
    logger.info(`${count} workers running`);
    const signal = await signalled;
    logger.info(`stopping ${count} workers`, { signal });
    await stopAll();
    return 0;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    process.off("SIGUSR2", onCrashDrill);
    process.off("SIGHUP", onHangup);
  }
}
