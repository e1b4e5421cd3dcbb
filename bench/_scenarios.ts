/**
 * The scenarios of the broker benchmark and how one runs against one broker: generator processes, the timed
 * phases, and the broker's CPU and memory read from /proc.
 * @module
 */

import { type ChildProcess, execFile } from "node:child_process";
import process from "node:process";
import { binary, cpuMs, memoryKb, type RunningBroker, spawnWithFdLimit } from "./_brokers.ts";
import { Histogram, now } from "./_mqtt.ts";
import type { GenResult, Go, Group, Job } from "./_protocol.ts";

/** Scenario names, in table order. */
export const SCENARIO_NAMES = ["fanin", "fanout", "pairs0", "pairs1", "idle", "connrate", "persist"] as const;
export type ScenarioName = typeof SCENARIO_NAMES[number];

/** What the table says about each scenario. */
export const SCENARIO_TITLES: Record<ScenarioName, string> = {
  fanin: "fan-in: 8 publishers -> 1 subscriber (bench/+/x), QoS 0",
  fanout: "fan-out: 1 publisher -> 50 subscribers, QoS 0",
  pairs0: "pairs: 16 publisher/subscriber pairs, QoS 0",
  pairs1: "pairs: 16 publisher/subscriber pairs, QoS 1",
  idle: "idle connections: broker memory per connection",
  connrate: "connections accepted per second (CONNECT, CONNACK, DISCONNECT)",
  persist:
    "persistent QoS 1 with Deno KV against the memory storage (bench/persistence_bench.ts, this project only)",
};

/** Settings shared by every scenario of a run. */
export interface RunOptions {
  seconds: number;
  warmup: number;
  drain: number;
  window: number;
  payload: number;
  /** Generator processes for scenarios with several groups (pairs) and for connrate. */
  procs: number;
  idle: number;
  connConcurrency: number;
}

/** One line of the results: one scenario on one broker. */
export interface Row {
  broker: string;
  scenario: ScenarioName;
  ok: boolean;
  error?: string;
  /** Deliveries per second (connrate: CONNACKs per second). */
  rate?: number;
  /** idle: broker RSS growth per connection, kB. */
  kbPerConn?: number;
  /** idle: RSS projected for 100,000 idle connections (RSS before + 100,000 x kbPerConn), MB. */
  projected100kMb?: number;
  /** persist: delivered rate with Deno KV over the rate with the memory storage (`rate` is the KV rate). */
  persistRatio?: number;
  connections?: number;
  /** Messages (connrate, idle: connections) lost, and as a share of those expected. */
  lost?: number;
  lossPct?: number;
  duplicates?: number;
  unacked?: number;
  p50Ms?: number;
  p99Ms?: number;
  /** Broker CPU in the measurement window, % of one core. */
  brokerCpuPct?: number;
  /** Broker peak RSS (VmHWM) over the scenario, MB. */
  peakRssMb?: number;
  /** All generator processes' CPU in the measurement window, % of one core, and their count. */
  genCpuPct?: number;
  genProcs?: number;
  genErrors?: string[];
  rssBeforeKb?: number;
  rssAfterKb?: number;
}

function groupsOf(name: ScenarioName): { groups: Group[]; qos: number } {
  switch (name) {
    case "fanin":
      return {
        groups: [{
          publishers: Array.from({ length: 8 }, (_, i) => `bench/${i}/x`),
          subscribers: ["bench/+/x"],
        }],
        qos: 0,
      };
    case "fanout":
      return {
        groups: [{ publishers: ["bench/fanout"], subscribers: Array(50).fill("bench/fanout") }],
        qos: 0,
      };
    case "pairs0":
    case "pairs1":
      return {
        groups: Array.from({ length: 16 }, (_, i) => ({
          publishers: [`bench/pair/${i}`],
          subscribers: [`bench/pair/${i}`],
        })),
        qos: name === "pairs1" ? 1 : 0,
      };
    default:
      throw new Error(`Cannot build groups for scenario "${name}"`);
  }
}

/** Every generator process alive, so that an interrupted run can stop them. */
export const liveGenerators: Set<Generator> = new Set();

/** One load generator process and its messages. */
class Generator {
  #child: ChildProcess;
  #inbox: { type: string }[] = [];
  #waiters: { type: string; resolve: (m: unknown) => void; reject: (e: Error) => void }[] = [];
  #failure: Error | undefined;

  constructor() {
    const node = binary("node");
    if (!node) throw new Error("Cannot start the load generator: node is not installed");
    this.#child = spawnWithFdLimit(node, ["bench/_load.ts"], { ipc: true });
    liveGenerators.add(this);
    this.#child.on("message", (m: { type: string; message?: string }) => {
      if (m.type === "error") return this.#fail(new Error(`load generator: ${m.message}`));
      const i = this.#waiters.findIndex((w) => w.type === m.type);
      if (i >= 0) this.#waiters.splice(i, 1)[0].resolve(m);
      else this.#inbox.push(m);
    });
    this.#child.on("exit", (code) => this.#fail(new Error(`load generator exited early (code ${code})`)));
    this.#child.on("error", (e) => this.#fail(e));
  }

  #fail(e: Error): void {
    this.#failure ??= e;
    for (const w of this.#waiters.splice(0)) w.reject(e);
  }

  send(message: unknown): void {
    this.#child.send(message as object);
  }

  /** The next message of `type`, within `ms`. */
  next<T>(type: string, ms: number): Promise<T> {
    const i = this.#inbox.findIndex((m) => m.type === type);
    if (i >= 0) return Promise.resolve(this.#inbox.splice(i, 1)[0] as T);
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        const k = this.#waiters.indexOf(waiter);
        if (k >= 0) this.#waiters.splice(k, 1);
        reject(new Error(`Timed out after ${Math.round(ms)} ms waiting for the load generator's "${type}"`));
      }, ms);
      const waiter = {
        type,
        resolve: (m: unknown) => {
          clearTimeout(timer);
          resolve(m as T);
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.#waiters.push(waiter);
    });
  }

  /** Close the channel and stop the process by its pid (SIGKILL if it lingers). */
  async stop(): Promise<void> {
    liveGenerators.delete(this);
    const child = this.#child;
    if (child.exitCode !== null || child.signalCode !== null) return;
    this.#failure ??= new Error("stopped");
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    try {
      if (child.connected) child.disconnect();
    } catch { /* already closed */ }
    const term = setTimeout(() => signal(child.pid!, "SIGTERM"), 1000);
    const kill = setTimeout(() => signal(child.pid!, "SIGKILL"), 3000);
    await exited;
    clearTimeout(term);
    clearTimeout(kill);
  }
}

function signal(pid: number, sig: "SIGTERM" | "SIGKILL"): void {
  try {
    process.kill(pid, sig);
  } catch { /* already gone */ }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Resolve at `t` on the shared clock, never before (libuv timers may fire up to 1 ms early). */
export async function sleepUntil(t: number): Promise<void> {
  while (now() < t) await sleep(Math.max(1, t - now()));
}

/** Run scenario `name` against a started broker. */
export async function runScenario(name: ScenarioName, broker: RunningBroker, o: RunOptions): Promise<Row> {
  if (name === "idle") return await runIdle(broker, o);
  if (name === "persist") return await runPersist(broker, o);
  const jobs: Job[] = [];
  const base = {
    type: "job" as const,
    host: "127.0.0.1",
    port: broker.port,
    ...(broker.subscriberPort === undefined ? {} : { subscriberPort: broker.subscriberPort }),
  };
  if (name === "connrate") {
    const procs = Math.max(1, o.procs);
    for (let p = 0; p < procs; p++) {
      jobs.push({ ...base, kind: "connrate", proc: p, concurrency: Math.ceil(o.connConcurrency / procs) });
    }
  } else {
    const { groups, qos } = groupsOf(name);
    const procs = Math.max(1, Math.min(o.procs, groups.length));
    for (let p = 0; p < procs; p++) {
      jobs.push({
        ...base,
        kind: "flow",
        proc: p,
        groups: groups.filter((_, i) => i % procs === p),
        qos,
        window: o.window,
        payload: o.payload,
      });
    }
  }
  const gens = jobs.map(() => new Generator());
  try {
    jobs.forEach((job, i) => gens[i].send(job));
    await Promise.all(gens.map((g) => g.next("ready", 60_000)));
    const start = now() + 300;
    const go: Go = {
      type: "go",
      startAt: start,
      measureFrom: start + o.warmup * 1000,
      measureTo: start + (o.warmup + o.seconds) * 1000,
      drainUntil: start + (o.warmup + o.seconds + o.drain) * 1000,
    };
    const sample = (t: number) => sleepUntil(t).then(() => ({ cpu: cpuMs(broker.pid), t: now() }));
    const from = sample(go.measureFrom);
    const to = sample(go.measureTo);
    for (const g of gens) g.send(go);
    const results = await Promise.all(
      gens.map((g) => g.next<GenResult>("result", go.drainUntil - now() + 20_000)),
    );
    const [s0, s1] = [await from, await to];
    const hist = new Histogram();
    let delivered = 0;
    let expected = 0;
    let lost = 0;
    let duplicates = 0;
    let unacked = 0;
    let genCpu = 0;
    const errors: string[] = [];
    for (const r of results) {
      hist.merge(r.hist);
      delivered += r.delivered;
      expected += r.expected;
      lost += r.lost;
      duplicates += r.duplicates;
      unacked += r.unacked;
      genCpu += r.cpuMs;
      if (r.errorCount > 0) errors.push(`${r.errorCount} errors: ${r.errors.join("; ")}`);
    }
    const windowMs = o.seconds * 1000;
    return {
      broker: broker.name,
      scenario: name,
      ok: true,
      rate: delivered / o.seconds,
      connections: name === "connrate" ? delivered : undefined,
      lost,
      lossPct: expected > 0 ? (lost / expected) * 100 : 0,
      duplicates,
      unacked,
      p50Ms: hist.quantile(0.5),
      p99Ms: hist.quantile(0.99),
      brokerCpuPct: ((s1.cpu - s0.cpu) / (s1.t - s0.t)) * 100,
      peakRssMb: memoryKb(broker.pid, "VmHWM") / 1024,
      genCpuPct: (genCpu / windowMs) * 100,
      genProcs: gens.length,
      genErrors: errors.length ? errors : undefined,
    };
  } finally {
    await Promise.all(gens.map((g) => g.stop()));
  }
}

async function runIdle(broker: RunningBroker, o: RunOptions): Promise<Row> {
  await sleep(1000);
  const before = memoryKb(broker.pid, "VmRSS");
  const gen = new Generator();
  try {
    gen.send(
      {
        type: "job",
        kind: "idle",
        host: "127.0.0.1",
        port: broker.port,
        proc: 0,
        connections: o.idle,
        concurrency: 200,
      } satisfies Job,
    );
    const ready = await gen.next<{ connections: number; failed: number }>("ready", 30_000 + o.idle * 20);
    // Let the broker finish what each connection started (timers, first GC) before reading its RSS.
    await sleep(2000);
    const after = memoryKb(broker.pid, "VmRSS");
    const peak = memoryKb(broker.pid, "VmHWM");
    gen.send({ type: "close" });
    const result = await gen.next<GenResult>("result", 20_000);
    return {
      broker: broker.name,
      scenario: "idle",
      ok: ready.connections > 0,
      error: ready.connections > 0 ? undefined : "no connection was accepted",
      kbPerConn: ready.connections > 0 ? (after - before) / ready.connections : undefined,
      projected100kMb: ready.connections > 0
        ? (before + (100_000 * (after - before)) / ready.connections) / 1024
        : undefined,
      connections: ready.connections,
      lost: result.lost,
      lossPct: (result.lost / o.idle) * 100,
      peakRssMb: peak / 1024,
      rssBeforeKb: before,
      rssAfterKb: after,
      genProcs: 1,
      genErrors: result.errorCount ? [`${result.errorCount} errors: ${result.errors.join("; ")}`] : undefined,
    };
  } finally {
    await gen.stop();
  }
}

/**
 * The persistence ratio: bench/persistence_bench.ts (its own in-process broker and clients) with the memory
 * storage, then Deno KV, on the runtime of `broker` (started by the harness but not used: the figure is a ratio
 * of two configurations of one process). Other brokers get an empty row.
 */
async function runPersist(broker: RunningBroker, o: RunOptions): Promise<Row> {
  const rt = broker.name;
  if (rt !== "deno" && rt !== "bun" && rt !== "node") return { broker: rt, scenario: "persist", ok: true };
  const bin = binary(rt);
  if (!bin) throw new Error(`Cannot run the persistence bench: ${rt} is not installed`);
  const script = ["bench/persistence_bench.ts", String(o.seconds), "memory,kv"];
  const args = rt === "deno" ? ["run", "-A", ...script] : script;
  const out = await new Promise<string>((resolve, reject) =>
    execFile(bin, args, { timeout: (o.seconds * 2 + 60) * 1000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${error.message}\n${stderr}`));
      else resolve(stdout);
    })
  );
  const rateOf = (label: string) =>
    Number(new RegExp(`^${label}\\s+([\\d,]+) msg/s`, "m").exec(out)?.[1].replace(/,/g, ""));
  const memory = rateOf("memory storage");
  const kv = rateOf("Deno KV storage");
  if (!(memory > 0) || !(kv >= 0)) throw new Error(`Cannot read the persistence bench's rates from:\n${out}`);
  return { broker: rt, scenario: "persist", ok: true, rate: kv, persistRatio: kv / memory };
}
