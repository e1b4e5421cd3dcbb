/**
 * The broker benchmark: this project on Deno, Bun and Node side by side with Mosquitto and aedes, in one table.
 *
 *   npm run bench                                      # every scenario, every broker installed, 5 s each
 *   node bench/run.ts --seconds 2 --brokers node,mosquitto --scenarios fanin,pairs1
 *   node bench/run.ts --micro                          # the micro benchmarks (codec, topics, TCP echo, ...)
 *
 * Each broker runs as a child process on a free 127.0.0.1 port, started fresh for each scenario. The load comes
 * from separate Node processes (bench/_load.ts) speaking MQTT 3.1.1 with hand-built packets; their own CPU is
 * measured and printed, so a run where the generator is the limit shows it. Results also go to
 * bench/results/<time>.json. Every wait has a deadline; every process started is stopped by its pid, on error
 * and on Ctrl-C too. Run it with Node (>= 22.18).
 * @module
 */

import { spawn } from "node:child_process";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release, totalmem } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import {
  binary,
  BROKER_NAMES,
  type BrokerName,
  OURS,
  ROOT,
  type RunningBroker,
  startBroker,
  unavailable,
  versionOf,
} from "./_brokers.ts";
import { liveGenerators, type Row, runScenario, SCENARIO_NAMES, type ScenarioName } from "./_scenarios.ts";
import { formatTable, REFERENCE, targetMisses } from "./_report.ts";

const HELP = `Usage: node bench/run.ts [options]

  --seconds N        measured seconds per scenario (default 5)
  --warmup N         seconds of load before measuring (default 1)
  --drain N          at most N seconds after the load stops to collect late deliveries (default 2)
  --brokers LIST     comma-separated, from ${BROKER_NAMES.join(",")} (default: every one installed)
  --scenarios LIST   comma-separated, from ${SCENARIO_NAMES.join(",")} (default: all)
  --idle N           connections of the idle scenario (default 10000)
  --window N         messages per publisher not yet delivered (default 64)
  --payload N        payload bytes, at least 16 (default 64)
  --procs N          load generator processes for pairs and connrate (default 2)
  --conn-concurrency N  connect loops in connrate (default 32)
  --out FILE         results file (default bench/results/<time>.json)
  --profile DIR      node and aedes brokers write a V8 CPU profile (.cpuprofile) per scenario into DIR
  --micro            run the micro benchmarks (bench/*_bench.ts) on the runtimes in --brokers instead
  -h, --help
`;

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    seconds: { type: "string", default: "5" },
    warmup: { type: "string", default: "1" },
    drain: { type: "string", default: "2" },
    brokers: { type: "string" },
    scenarios: { type: "string" },
    idle: { type: "string", default: "10000" },
    window: { type: "string", default: "64" },
    payload: { type: "string", default: "64" },
    procs: { type: "string", default: "2" },
    "conn-concurrency": { type: "string", default: "32" },
    out: { type: "string" },
    profile: { type: "string" },
    micro: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (values.help) {
  process.stdout.write(HELP);
  process.exit(0);
}

function positive(name: string, text: string, max: number): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0 || n > max) {
    process.stderr.write(
      `--${name}: expected a number above 0 and at most ${max}, received ${JSON.stringify(text)}\n`,
    );
    process.exit(2);
  }
  return n;
}

function list<T extends string>(name: string, text: string | undefined, all: readonly T[]): T[] {
  if (text === undefined) return [...all];
  const items = text.split(",").map((s) => s.trim()).filter(Boolean);
  for (const item of items) {
    if (!all.includes(item as T)) {
      process.stderr.write(`--${name}: unknown "${item}"; expected some of ${all.join(",")}\n`);
      process.exit(2);
    }
  }
  return items as T[];
}

const options = {
  seconds: positive("seconds", values.seconds, 600),
  warmup: Number(values.warmup) >= 0 ? Number(values.warmup) : positive("warmup", values.warmup, 60),
  drain: positive("drain", values.drain, 60),
  window: Math.floor(positive("window", values.window, 1000)),
  payload: Math.max(16, Math.floor(positive("payload", values.payload, 65536))),
  procs: Math.floor(positive("procs", values.procs, 16)),
  idle: Math.floor(positive("idle", values.idle, 100_000)),
  connConcurrency: Math.floor(positive("conn-concurrency", values["conn-concurrency"], 1000)),
};
const requested = list("brokers", values.brokers, BROKER_NAMES);
const scenarios = list("scenarios", values.scenarios, SCENARIO_NAMES);

/** Brokers running now, so Ctrl-C and errors stop them. */
const liveBrokers = new Set<RunningBroker>();
let interrupted = false;
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    process.stderr.write(`\n${sig}: stopping the brokers and load generators\n`);
    void cleanup().then(() => process.exit(130));
  });
}

async function cleanup(): Promise<void> {
  await Promise.all([...liveBrokers].map((b) => b.stop()));
  await Promise.all([...liveGenerators].map((g) => g.stop()));
}

if (values.micro) {
  process.exit(await runMicro(requested.filter((b): b is "deno" | "bun" | "node" => OURS.includes(b))));
}

const brokers: BrokerName[] = [];
const skipped: Record<string, string> = {};
for (const b of requested) {
  const why = unavailable(b);
  if (why) skipped[b] = why;
  else brokers.push(b);
}
for (const [b, why] of Object.entries(skipped)) process.stderr.write(`skipping ${b}: ${why}\n`);

const startedAt = new Date();
const outFile = values.out ??
  join(ROOT, "bench/results", `${startedAt.toISOString().replace(/[:.]/g, "-")}.json`);
const versions = Object.fromEntries(brokers.map((b) => [b, versionOf(b)]));
const machine = {
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model,
  memoryGb: Math.round(totalmem() / 2 ** 30),
  kernel: release(),
  loadavgAtStart: loadavg(),
};
process.stderr.write(
  `bench: ${scenarios.join(",")} on ${brokers.join(",")}; ${options.seconds}s measured per scenario ` +
    `(+${options.warmup}s warm-up); ${machine.cpus} cores, load average ${
      machine.loadavgAtStart.map((l) => l.toFixed(2)).join(" ")
    }\n`,
);

const rows: Row[] = [];
for (const scenario of scenarios) {
  for (const name of brokers) {
    if (interrupted) break;
    const row = await measure(name, scenario);
    rows.push(row);
    process.stderr.write(`  ${scenario.padEnd(8)} ${name.padEnd(17)} ${summary(row)}\n`);
  }
}

mkdirSync(join(outFile, ".."), { recursive: true });
writeFileSync(
  outFile,
  JSON.stringify(
    {
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      options,
      machine,
      versions,
      skipped,
      reference: REFERENCE,
      results: rows.map((r) => ({ ...r, target: targetMisses(r, rows) })),
    },
    null,
    2,
  ) + "\n",
);
process.stdout.write("\n" + formatTable(rows));
process.stdout.write(`\nResults written to ${outFile}\n`);
process.exit(rows.some((r) => !r.ok) ? 1 : 0);

async function measure(name: BrokerName, scenario: ScenarioName): Promise<Row> {
  let broker: RunningBroker | undefined;
  try {
    const cpuProfDir = values.profile && (name === "node" || name === "node-w2" || name === "aedes")
      ? join(values.profile, `${name}-${scenario}`)
      : undefined;
    broker = await startBroker(name, { cpuProfDir });
    liveBrokers.add(broker);
    return await runScenario(scenario, broker, options);
  } catch (e) {
    const out = broker?.output();
    return {
      broker: name,
      scenario,
      ok: false,
      error: (e as Error).message + (out ? `\nbroker output:\n${out}` : ""),
    };
  } finally {
    if (broker) {
      liveBrokers.delete(broker);
      await broker.stop();
    }
  }
}

function summary(r: Row): string {
  if (!r.ok) return `FAILED: ${r.error}`;
  if (r.scenario === "idle") {
    return `${r.kbPerConn?.toFixed(2)} kB/conn over ${r.connections} connections, peak RSS ${
      r.peakRssMb?.toFixed(1)
    } MB`;
  }
  if (r.scenario === "persist") {
    return r.persistRatio === undefined
      ? "-"
      : `Deno KV ${Math.round(r.rate ?? 0)}/s, ${r.persistRatio.toFixed(2)}x the memory storage`;
  }
  const errs = r.genErrors ? `  [${r.genErrors.join(" | ")}]` : "";
  return `${Math.round(r.rate ?? 0)}/s, lost ${r.lost}, p99 ${r.p99Ms?.toFixed(2)} ms, broker CPU ${
    r.brokerCpuPct?.toFixed(0)
  }%, gen CPU ${r.genCpuPct?.toFixed(0)}%${errs}`;
}

/** Run bench/*_bench.ts on each runtime, one after the other, each bounded to 3 minutes. */
async function runMicro(runtimes: ("deno" | "bun" | "node")[]): Promise<number> {
  const files = readdirSync(join(ROOT, "bench")).filter((f) => f.endsWith("_bench.ts")).sort();
  let failures = 0;
  for (const file of files) {
    for (const rt of runtimes) {
      const bin = binary(rt);
      if (!bin) continue;
      // topics_bench builds a million entries by default: a tenth keeps the micro run short. Its heap figures
      // need a forced GC (Bun has one built in).
      const extra = file === "topics_bench.ts" ? ["100000"] : [];
      const gc = file === "topics_bench.ts"
        ? (rt === "deno" ? ["--v8-flags=--expose-gc"] : rt === "node" ? ["--expose-gc"] : [])
        : [];
      const args = rt === "deno"
        ? ["run", "-A", ...gc, `bench/${file}`, ...extra]
        : [...gc, `bench/${file}`, ...extra];
      process.stdout.write(`\n== ${file} on ${rt}\n`);
      const child = spawn(bin, args, { cwd: ROOT, stdio: ["ignore", "inherit", "inherit"] });
      const timer = setTimeout(() => child.pid && process.kill(child.pid, "SIGKILL"), 180_000);
      const code = await new Promise<number | null>((r) => child.once("exit", (c) => r(c)));
      clearTimeout(timer);
      if (code !== 0) {
        failures++;
        process.stdout.write(`(exit code ${code})\n`);
      }
    }
  }
  return failures > 0 ? 1 : 0;
}
