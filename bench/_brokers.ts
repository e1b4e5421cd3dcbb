/**
 * The brokers under test, each started as a child process on a free 127.0.0.1 port and stopped by its pid,
 * and the /proc readings taken from them (CPU time, RSS, peak RSS).
 * @module
 */

import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Buffer } from "node:buffer";
import process from "node:process";
import { connectPacket, DISCONNECT } from "./_mqtt.ts";

/** The project root (bench/..). */
export const ROOT: string = new URL("../", import.meta.url).pathname;

/** Every broker the harness knows, in table order. */
export const BROKER_NAMES = [
  "deno",
  "bun",
  "node",
  // This project with `workers: 2` (adapters/workers/): two broker threads sharing the port.
  "deno-w2",
  "bun-w2",
  "node-w2",
  "mosquitto",
  "mosquitto-nodelay",
  // NATS's MQTT gateway (multi-threaded Go), from Debian's nats-server, with JetStream in a temp dir.
  "nats-mqtt",
  "aedes",
] as const;
export type BrokerName = typeof BROKER_NAMES[number];
/** The brokers that are this project. */
export const OURS: readonly BrokerName[] = ["deno", "bun", "node"];

/** A runtime binary from node_modules/.bin, else from PATH; undefined when neither has it. */
export function binary(name: string): string | undefined {
  const local = join(ROOT, "node_modules/.bin", name);
  if (existsSync(local)) return local;
  try {
    return execFileSync("bash", ["-c", `command -v ${name}`], { encoding: "utf8" }).trim() || undefined;
  } catch {
    return undefined;
  }
}

function natsPath(): string | undefined {
  return existsSync("/usr/sbin/nats-server") ? "/usr/sbin/nats-server" : binary("nats-server");
}

/** The runtime of one of our brokers, `bun-w2` -> `bun`. */
function runtimeOf(name: BrokerName): string {
  return name.replace(/-w\d+$/, "");
}

function mosquittoPath(): string | undefined {
  return existsSync("/usr/sbin/mosquitto") ? "/usr/sbin/mosquitto" : binary("mosquitto");
}

/** Why `name` cannot run here, or undefined when it can. */
export function unavailable(name: BrokerName): string | undefined {
  if (name === "mosquitto" || name === "mosquitto-nodelay") {
    return mosquittoPath() ? undefined : "mosquitto is not installed (apt-get install mosquitto)";
  }
  if (name === "aedes") {
    if (!binary("node")) return "node is not installed";
    return existsSync(join(ROOT, "node_modules/aedes")) ? undefined : "aedes is not installed (npm install)";
  }
  if (name === "nats-mqtt") {
    return natsPath() ? undefined : "nats-server is not installed (apt-get install nats-server)";
  }
  return binary(runtimeOf(name)) ? undefined : `${runtimeOf(name)} is not installed (npm install)`;
}

/** Version string of a broker, for the results file. */
export function versionOf(name: BrokerName): string {
  try {
    if (name === "mosquitto" || name === "mosquitto-nodelay") {
      // `mosquitto -h` prints its version first and exits with 3.
      const out = spawnSync(mosquittoPath()!, ["-h"], { encoding: "utf8" });
      return `${out.stdout}${out.stderr}`.split("\n")[0].trim();
    }
    if (name === "aedes") {
      const pkg = JSON.parse(readFileSync(join(ROOT, "node_modules/aedes/package.json"), "utf8"));
      return `aedes ${pkg.version} on node ${
        execFileSync(binary("node")!, ["--version"], { encoding: "utf8" }).trim()
      }`;
    }
    if (name === "nats-mqtt") return execFileSync(natsPath()!, ["--version"], { encoding: "utf8" }).trim();
    const flag = "--version";
    const version = execFileSync(binary(runtimeOf(name))!, [flag], { encoding: "utf8" }).split("\n")[0]
      .trim();
    return name.includes("-w") ? `${version}, workers: 2` : version;
  } catch (e) {
    return `unknown (${(e as Error).message})`;
  }
}

/** A free port on 127.0.0.1 (found by binding port 0, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Spawn `cmd args` through bash so that it gets the highest open-file limit allowed (the idle scenario needs
 * 10,000+ sockets); `exec` keeps the pid, so /proc readings and kill(pid) reach the program itself.
 */
export function spawnWithFdLimit(
  cmd: string,
  args: string[],
  options: { cwd?: string; ipc?: boolean; env?: Record<string, string | undefined> } = {},
): ChildProcess {
  const script = 'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"';
  return spawn("bash", ["-c", script, "bash", cmd, ...args], {
    cwd: options.cwd ?? ROOT,
    env: options.env ?? process.env,
    stdio: options.ipc ? ["ignore", "inherit", "inherit", "ipc"] : ["ignore", "pipe", "pipe"],
  });
}

/** A running broker. */
export interface RunningBroker {
  name: BrokerName;
  port: number;
  /** Subscribers connect here instead of `port` (a cluster: publishers on one node, subscribers on another). */
  subscriberPort?: number;
  pid: number;
  child: ChildProcess;
  /** Last lines the broker printed (for error reports). */
  output(): string;
  stop(): Promise<void>;
}

/** Options for starting a broker. */
export interface StartOptions {
  /** Node and aedes only: write a V8 CPU profile into this folder when the broker stops. */
  cpuProfDir?: string;
}

/** Start `name` on a free port and resolve once it answers an MQTT CONNECT. */
export async function startBroker(name: BrokerName, options: StartOptions = {}): Promise<RunningBroker> {
  const port = await freePort();
  // --http on a free port: a dashboard already on 8080 (another broker, a test) must not stop the run.
  const ours = ["--tcp", `127.0.0.1:${port}`, "--http", "127.0.0.1:0", "--log-level", "warn"];
  const prof = options.cpuProfDir ? ["--cpu-prof", `--cpu-prof-dir=${options.cpuProfDir}`] : [];
  let cmd: string;
  let args: string[];
  let tmp: string | undefined;
  switch (name) {
    case "deno":
      [cmd, args] = [binary("deno")!, ["run", "-A", "main.ts", ...ours]];
      break;
    case "bun":
      [cmd, args] = [binary("bun")!, ["main.ts", ...ours]];
      break;
    case "node":
      [cmd, args] = [binary("node")!, [...prof, "main.ts", ...ours]];
      break;
    case "aedes":
      [cmd, args] = [binary("node")!, [...prof, "bench/_aedes_server.ts", String(port)]];
      break;
    case "deno-w2":
    case "bun-w2":
    case "node-w2": {
      tmp = mkdtempSync(join(tmpdir(), "comqtt-bench-"));
      const conf = join(tmp, "workers.yaml");
      writeFileSync(conf, "workers: 2\nauth: { type: allow }\n");
      const rt = runtimeOf(name);
      const run = rt === "deno" ? ["run", "-A"] : rt === "node" ? prof : [];
      [cmd, args] = [binary(rt)!, [...run, "main.ts", "--config", conf, ...ours]];
      break;
    }
    case "nats-mqtt": {
      tmp = mkdtempSync(join(tmpdir(), "comqtt-bench-"));
      const conf = join(tmp, "nats.conf");
      const lines = [
        `listen: 127.0.0.1:${await freePort()}`,
        "server_name: comqtt_bench",
        `jetstream { store_dir: ${JSON.stringify(join(tmp, "js"))} }`,
        `mqtt { listen: 127.0.0.1:${port} }`,
      ];
      writeFileSync(conf, lines.join("\n") + "\n");
      [cmd, args] = [natsPath()!, ["-c", conf]];
      break;
    }
    case "mosquitto":
    case "mosquitto-nodelay": {
      tmp = mkdtempSync(join(tmpdir(), "comqtt-bench-"));
      const conf = join(tmp, "mosquitto.conf");
      const lines = [
        `listener ${port} 127.0.0.1`,
        "allow_anonymous true",
        "persistence false",
        "log_dest stderr",
        "log_type error",
        "log_type warning",
      ];
      if (name === "mosquitto-nodelay") lines.push("set_tcp_nodelay true");
      writeFileSync(conf, lines.join("\n") + "\n");
      [cmd, args] = [mosquittoPath()!, ["-c", conf]];
      break;
    }
  }
  const child = spawnWithFdLimit(cmd, args);
  let tail = "";
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString("utf8")).slice(-4000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once("exit", () => {
      exited = true;
      resolve();
    })
  );
  const running: RunningBroker = {
    name,
    port,
    pid: child.pid!,
    child,
    output: () => tail.trim(),
    async stop() {
      if (!exited) {
        try {
          process.kill(child.pid!, "SIGTERM");
        } catch { /* already gone */ }
        const timer = setTimeout(() => {
          try {
            if (!exited) process.kill(child.pid!, "SIGKILL");
          } catch { /* already gone */ }
        }, 5000);
        await exit;
        clearTimeout(timer);
      }
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    },
  };
  const deadline = Date.now() + 30_000;
  while (true) {
    if (exited) {
      await running.stop();
      throw new Error(`Cannot start ${name}: it exited at once. Output:\n${tail}`);
    }
    if (await probe(port)) {
      // With workers, the first CONNACK may come from one worker while the others still start (at --log-level
      // warn their "running" line is not printed): a moment more, so the load spreads over every worker.
      if (name.includes("-w")) await new Promise((r) => setTimeout(r, 1500));
      return running;
    }
    if (Date.now() > deadline) {
      await running.stop();
      throw new Error(`Cannot start ${name}: no CONNACK on 127.0.0.1:${port} within 30 s. Output:\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** One MQTT CONNECT / CONNACK / DISCONNECT; true when the broker accepted. */
export function probe(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      if (ok) socket.end(DISCONNECT);
      else socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 1000);
    socket.once("connect", () => socket.write(connectPacket(`bench-probe-${process.pid}`)));
    socket.once("data", (b: Buffer) => done(b[0] === 0x20 && b[3] === 0));
    socket.once("error", () => done(false));
  });
}

let clockTicks = 0;

/** CPU time (user + system, all threads) of `pid` in milliseconds. */
export function cpuMs(pid: number): number {
  if (clockTicks === 0) {
    try {
      clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks; // utime, stime
  } catch {
    return NaN;
  }
}

/** A field of /proc/<pid>/status in kB (VmRSS: resident now; VmHWM: peak resident). */
export function memoryKb(pid: number, field: "VmRSS" | "VmHWM"): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}
