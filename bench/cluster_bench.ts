/**
 * Cross-node rates next to single-node ones, in the same run: one broker alone, then two cluster nodes on one
 * nats-server (JetStream), publishers on node 1 and subscribers on node 2. Same load generator and scenarios as
 * bench/run.ts.
 *
 *   node bench/cluster_bench.ts                       # fanin, pairs0, pairs1; 4 s each
 *   node bench/cluster_bench.ts --seconds 2 --scenarios pairs1 --runtime bun
 *   node bench/cluster_bench.ts --profile /tmp/prof     # V8 CPU profiles of the Node cluster nodes
 *
 * Every process is started on free 127.0.0.1 ports and stopped by its pid, on error and on Ctrl-C too.
 * Broker, NATS and load generator share the machine's cores: compare within one run.
 * @module
 */

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import {
  binary,
  cpuMs,
  freePort,
  probe,
  type RunningBroker,
  spawnWithFdLimit,
  startBroker,
} from "./_brokers.ts";
import { liveGenerators, type Row, runScenario, type ScenarioName } from "./_scenarios.ts";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    seconds: { type: "string", default: "4" },
    scenarios: { type: "string", default: "fanin,pairs0,pairs1" },
    runtime: { type: "string", default: "node" },
    profile: { type: "string" },
  },
});
const seconds = Math.min(60, Math.max(1, Number(values.seconds) || 4));
const scenarios = values.scenarios.split(",") as ScenarioName[];
const runtime = values.runtime as "deno" | "bun" | "node";
if (!["deno", "bun", "node"].includes(runtime)) throw new Error(`--runtime: expected deno, bun or node`);
const options = {
  seconds,
  warmup: 1,
  drain: 2,
  window: 64,
  payload: 64,
  procs: 2,
  idle: 0,
  connConcurrency: 32,
};

const dir = mkdtempSync(join(tmpdir(), "comqtt-cluster-bench-"));
const stops: Array<() => Promise<void>> = [];
async function cleanup(): Promise<void> {
  for (const stop of stops.splice(0).reverse()) await stop().catch(() => {});
  await Promise.all([...liveGenerators].map((g) => g.stop()));
  rmSync(dir, { recursive: true, force: true });
}
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => void cleanup().then(() => process.exit(130)));
}

/** Spawn a process, remember how to stop it (SIGTERM, then SIGKILL after 5 s), keep its last output. */
function start(cmd: string, args: string[]): { pid: number; output(): string; stop(): Promise<void> } {
  const child = spawnWithFdLimit(cmd, args);
  let tail = "";
  const keep = (b: Uint8Array) => (tail = (tail + new TextDecoder().decode(b)).slice(-4000));
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exit = new Promise<void>((r) => child.once("exit", () => r()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      process.kill(child.pid!, "SIGTERM");
      const t = setTimeout(() => child.exitCode === null && process.kill(child.pid!, "SIGKILL"), 5000);
      await exit;
      clearTimeout(t);
    }
  };
  stops.push(stop);
  return { pid: child.pid!, output: () => tail, stop };
}

async function waitFor(check: () => Promise<boolean>, what: string, output: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}. Output:\n${output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function clusterNode(name: string, natsUrl: string): Promise<{ port: number; pid: number }> {
  const port = await freePort();
  const config = join(dir, `${name}.yaml`);
  writeFileSync(
    config,
    [
      `listeners: [{ type: tcp, address: "127.0.0.1:${port}" }]`,
      "auth: { type: allow }",
      "log: { level: warn }",
      `cluster: { node: ${name}, nats: { servers: ["${natsUrl}"] } }`,
    ].join("\n"),
  );
  const exe = binary(runtime)!;
  // --profile DIR: Node cluster nodes write V8 CPU profiles there when they stop (bench/profile_top.ts reads them).
  const prof = values.profile !== undefined && runtime === "node"
    ? ["--cpu-prof", `--cpu-prof-dir=${values.profile}`]
    : [];
  const p = start(exe, [...(runtime === "deno" ? ["run", "-A"] : prof), "main.ts", "--config", config]);
  await waitFor(() => probe(port), `cluster node ${name}`, p.output);
  return { port, pid: p.pid };
}

function fmt(row: Row): string {
  if (!row.ok) return `failed: ${row.error}`;
  const rate = Math.round(row.rate ?? 0).toLocaleString("en");
  const errors = row.genErrors ? ` errors: ${row.genErrors.join("; ")}` : "";
  return `${rate}/s p50 ${row.p50Ms?.toFixed(2)} ms p99 ${row.p99Ms?.toFixed(2)} ms loss ${
    row.lost ?? 0
  }${errors}`;
}

try {
  const results: Array<{ scenario: string; single: Row; cross: Row }> = [];
  const natsPort = await freePort();
  const nats = start("/usr/sbin/nats-server", ["-a", "127.0.0.1", "-p", String(natsPort), "-js", "-sd", dir]);
  const natsUrl = `nats://127.0.0.1:${natsPort}`;
  await waitFor(async () => (await fetchable(natsPort)), "nats-server", nats.output);
  const n1 = await clusterNode("bench1", natsUrl);
  const n2 = await clusterNode("bench2", natsUrl);
  const cross: RunningBroker = {
    name: runtime,
    port: n1.port,
    subscriberPort: n2.port,
    pid: n1.pid,
    child: undefined as never,
    output: () => "",
    stop: async () => {},
  };
  for (const scenario of scenarios) {
    const single = await startBroker(runtime);
    stops.push(() => single.stop());
    const singleRow = await runScenario(scenario, single, options);
    await single.stop();
    const before2 = cpuMs(n2.pid);
    const crossRow = await runScenario(scenario, cross, options);
    const node2Cpu = ((cpuMs(n2.pid) - before2) / ((options.warmup + seconds + options.drain) * 1000)) * 100;
    results.push({ scenario, single: singleRow, cross: crossRow });
    process.stdout.write(
      `${scenario.padEnd(7)} single node: ${fmt(singleRow)}\n${"".padEnd(7)} cross-node:  ${fmt(crossRow)}` +
        ` (node 1 CPU ${crossRow.brokerCpuPct?.toFixed(0)}%, node 2 ~${node2Cpu.toFixed(0)}%)\n`,
    );
  }
  const out = join("bench", "results", `cluster-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  try {
    writeFileSync(out, JSON.stringify({ runtime, seconds, results }, null, 2));
    process.stdout.write(`results: ${out}\n`);
  } catch { /* no results folder: the table above is the result */ }
} finally {
  await cleanup();
}

/** True once something accepts TCP connections on `port`. */
function fetchable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn("bash", ["-c", `exec 3<>/dev/tcp/127.0.0.1/${port}`]);
    child.once("exit", (code) => resolve(code === 0));
  });
}
