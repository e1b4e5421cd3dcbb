/**
 * A PostgreSQL 15 for tests: `initdb` into a temp dir and `postgres` on a free 127.0.0.1 port with trust auth,
 * every statement logged (so a test can count what the broker asked). Tests run as root and PostgreSQL refuses
 * root, so both run as `nobody` through setpriv (which execs, so the pid is postgres itself).
 * @module
 */

import { chmodSync, chownSync, readdirSync, readFileSync } from "node:fs";
import process from "node:process";
import { execFileSync } from "node:child_process";
import { freePort, type ServerProcess, spawnServer, tempDir, waitForPort } from "./_server_process.ts";

/** The newest PostgreSQL installed by Debian's packages (15 on bookworm). */
const BIN = (() => {
  const versions = readdirSync("/usr/lib/postgresql", { withFileTypes: true })
    .filter((d) => d.isDirectory() && /^\d+$/.test(d.name)).map((d) => Number(d.name)).sort((a, b) => b - a);
  return `/usr/lib/postgresql/${versions[0] ?? 15}/bin`;
})();

/** A running test PostgreSQL. */
export interface TestPostgres {
  readonly port: number;
  /** `postgres://postgres@127.0.0.1:PORT/postgres`. */
  readonly url: string;
  /** Statements the server logged so far (log_statement = all). */
  log(): string;
  stop(crash?: boolean): Promise<void>;
  /** Start again on the same port with the same data. */
  start(): Promise<void>;
  /** Stop for good and delete the data. */
  destroy(): Promise<void>;
}

function asUser(args: string[]): [string, string[]] {
  const root = typeof process.getuid === "function" && process.getuid() === 0;
  return root
    ? ["setpriv", ["--reuid=nobody", "--regid=nogroup", "--clear-groups", ...args]]
    : [args[0]!, args.slice(1)];
}

/** initdb and start. */
export async function startPostgres(): Promise<TestPostgres> {
  const port = await freePort();
  const root = typeof process.getuid === "function" && process.getuid() === 0;
  // As root the server runs as nobody, who must reach the data dir: /tmp is traversable by everyone, while
  // a TMPDIR under /root may not be.
  const dir = tempDir("comqtt-pg-", root ? "/tmp" : undefined);
  chmodSync(dir.path, 0o777);
  if (root) chownSync(dir.path, 65534, 65534);
  const data = `${dir.path}/data`;
  const [cmd, args] = asUser([
    `${BIN}/initdb`,
    "-D",
    data,
    "-A",
    "trust",
    "-U",
    "postgres",
    "--no-sync",
    "-E",
    "UTF8",
  ]);
  execFileSync(cmd, args, { stdio: "ignore" });
  const logFile = `${dir.path}/statements.log`;
  let proc: ServerProcess | undefined;
  let previous = "";
  const start = async () => {
    const [c, a] = asUser([
      `${BIN}/postgres`,
      "-D",
      data,
      "-p",
      String(port),
      "-h",
      "127.0.0.1",
      "-k",
      dir.path,
      "-c",
      "fsync=off",
      "-c",
      "log_statement=all",
      "-c",
      "shared_buffers=16MB",
    ]);
    if (proc) previous += proc.output();
    proc = spawnServer(c, a);
    const p = proc;
    await waitForPort(port, 15_000, () => p.alive(), "postgres");
  };
  await start();
  return {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    log: () => previous + (proc?.output() ?? "") + safeRead(logFile),
    async stop(crash = false) {
      // SIGINT is postgres' fast shutdown: clients are cut off, as in a real outage.
      await proc?.stop(crash ? "SIGKILL" : "SIGINT");
    },
    start,
    async destroy() {
      await proc?.stop("SIGINT");
      dir.remove();
    },
  };
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}
