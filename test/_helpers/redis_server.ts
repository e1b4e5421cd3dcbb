/**
 * A redis-server for tests: started on a free 127.0.0.1 port with no persistence, stopped by pid, and
 * restartable on the same port (for "the backend comes back" tests).
 * @module
 */

import { freePort, type ServerProcess, spawnServer, tempDir, waitForPort } from "./_server_process.ts";

/** A running test Redis. */
export interface TestRedis {
  readonly port: number;
  readonly url: string;
  /** Stop it (SIGKILL when `crash`, as a failure would). */
  stop(crash?: boolean): Promise<void>;
  /** Start it again on the same port, empty. */
  start(): Promise<void>;
}

/** Start redis-server (Debian's /usr/bin/redis-server). */
export async function startRedis(): Promise<TestRedis> {
  const port = await freePort();
  const dir = tempDir("comqtt-redis-");
  let proc: ServerProcess | undefined;
  const start = async () => {
    proc = spawnServer("redis-server", [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      "--dir",
      dir.path,
      // DEBUG SLEEP lets a test make the server slow.
      "--enable-debug-command",
      "yes",
    ]);
    const p = proc;
    await waitForPort(port, 10_000, () => p.alive(), "redis-server");
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async stop(crash = false) {
      await proc?.stop(crash ? "SIGKILL" : "SIGTERM");
      proc = undefined;
      if (!crash) dir.remove();
    },
    start,
  };
}
