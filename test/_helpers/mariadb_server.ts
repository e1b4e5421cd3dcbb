/**
 * A MariaDB for tests: `mariadb-install-db` into a temp datadir and `mariadbd` on a free 127.0.0.1 port with its
 * socket in the same dir. As root, mariadbd needs `--user=root` to agree to run; the test connects through the
 * socket as root to create the schema and a password user for the broker.
 * @module
 */

import { execFileSync } from "node:child_process";
import { freePort, type ServerProcess, spawnServer, tempDir, waitForPort } from "./_server_process.ts";

/** A running test MariaDB. */
export interface TestMariaDb {
  readonly port: number;
  /** Unix socket, for the test's own root connection. */
  readonly socket: string;
  stop(crash?: boolean): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

/** Install a datadir and start mariadbd. */
export async function startMariaDb(): Promise<TestMariaDb> {
  const port = await freePort();
  const dir = tempDir("comqtt-maria-");
  const data = `${dir.path}/data`;
  const socket = `${dir.path}/mysqld.sock`;
  execFileSync("mariadb-install-db", [
    "--no-defaults",
    `--datadir=${data}`,
    "--user=root",
    "--auth-root-authentication-method=normal",
    "--skip-test-db",
  ], { stdio: "ignore" });
  let proc: ServerProcess | undefined;
  const start = async () => {
    proc = spawnServer("/usr/sbin/mariadbd", [
      "--no-defaults",
      `--datadir=${data}`,
      "--user=root",
      `--port=${port}`,
      "--bind-address=127.0.0.1",
      `--socket=${socket}`,
      `--pid-file=${dir.path}/mariadbd.pid`,
      "--innodb-buffer-pool-size=16M",
      "--skip-log-bin",
      "--skip-name-resolve",
    ]);
    const p = proc;
    await waitForPort(port, 20_000, () => p.alive(), "mariadbd");
  };
  await start();
  return {
    port,
    socket,
    async stop(crash = false) {
      await proc?.stop(crash ? "SIGKILL" : "SIGTERM");
    },
    start,
    async destroy() {
      await proc?.stop("SIGTERM");
      dir.remove();
    },
  };
}
