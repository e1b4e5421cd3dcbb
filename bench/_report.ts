/**
 * The benchmark's printed table: one line per scenario and broker, with each rate set against the best
 * Mosquitto figure and aedes of the same run, and the targets checked for this project's brokers.
 * @module
 */

import type { Row, ScenarioName } from "./_scenarios.ts";
import { SCENARIO_NAMES, SCENARIO_TITLES } from "./_scenarios.ts";

/** The reference figures (2 cores, loopback, 64-byte payloads, window 64), for context only. */
export const REFERENCE: Record<ScenarioName, { mosquittoBest: number; aedes: number; unit: string }> = {
  fanin: { mosquittoBest: 265_000, aedes: 63_000, unit: "msg/s" },
  fanout: { mosquittoBest: 331_000, aedes: 182_000, unit: "msg/s" },
  pairs0: { mosquittoBest: 238_000, aedes: 145_000, unit: "msg/s" },
  pairs1: { mosquittoBest: 118_000, aedes: 82_000, unit: "msg/s" },
  idle: { mosquittoBest: 0.7, aedes: 22, unit: "kB/conn" },
  connrate: { mosquittoBest: 52_000, aedes: 6_300, unit: "conn/s" },
};

/** Memory per idle connection the issue allows this project. */
export const MAX_KB_PER_CONN = 4;

const OURS = new Set(["deno", "bun", "node"]);

/** The figure a row is judged by: a rate, or kB per connection for idle (lower is better). */
function figure(r: Row): number | undefined {
  return r.scenario === "idle" ? r.kbPerConn : r.rate;
}

/** Best Mosquitto row (either configuration) and the aedes row of a scenario, from this run. */
export function references(rows: Row[], scenario: ScenarioName): { mosquitto?: Row; aedes?: Row } {
  const of = rows.filter((r) => r.scenario === scenario && r.ok && figure(r) !== undefined);
  const mosq = of.filter((r) => r.broker.startsWith("mosquitto"));
  const better = scenario === "idle"
    ? (a: Row, b: Row) => figure(a)! <= figure(b)! ? a : b
    : (a: Row, b: Row) => figure(a)! >= figure(b)! ? a : b;
  return {
    mosquitto: mosq.length ? mosq.reduce(better) : undefined,
    aedes: of.find((r) => r.broker === "aedes"),
  };
}

/** What a row of this project misses of the targets: "" when all are met, "?" without references. */
export function targetMisses(r: Row, rows: Row[]): string | undefined {
  if (!OURS.has(r.broker) || !r.ok) return undefined;
  const { mosquitto, aedes } = references(rows, r.scenario);
  const misses: string[] = [];
  if (r.scenario === "idle") {
    if ((r.kbPerConn ?? Infinity) > MAX_KB_PER_CONN) misses.push(`>${MAX_KB_PER_CONN}kB`);
    return misses.join(",") || "met";
  }
  if (!mosquitto && !aedes) return "?";
  if (mosquitto && r.rate! < mosquitto.rate!) misses.push("<mosq");
  if (aedes && r.rate! < 2 * aedes.rate!) misses.push("<2xaedes");
  if (mosquitto && r.scenario !== "connrate" && (r.p99Ms ?? Infinity) > (mosquitto.p99Ms ?? Infinity)) {
    misses.push("p99");
  }
  if (r.scenario === "pairs1" && ((r.lost ?? 0) > 0 || (r.unacked ?? 0) > 0)) misses.push("loss");
  return misses.join(",") || "met";
}

function num(v: number | undefined, digits = 0): string {
  if (v === undefined || Number.isNaN(v)) return "-";
  return v.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || !(b > 0) || Number.isNaN(a)) return "-";
  return `${(a / b).toFixed(2)}x`;
}

/** The whole table as text. */
export function formatTable(rows: Row[]): string {
  const header = [
    "scenario",
    "broker",
    "result",
    "vs mosq",
    "vs aedes",
    "target",
    "loss",
    "p50 ms",
    "p99 ms",
    "broker CPU",
    "peak RSS",
    "gen CPU",
  ];
  const lines: string[][] = [header];
  for (const scenario of SCENARIO_NAMES) {
    const of = rows.filter((r) => r.scenario === scenario);
    if (of.length === 0) continue;
    const { mosquitto, aedes } = references(rows, scenario);
    for (const r of of) {
      if (!r.ok) {
        lines.push([scenario, r.broker, `FAILED: ${(r.error ?? "").split("\n")[0].slice(0, 90)}`]);
        continue;
      }
      const idle = scenario === "idle";
      const unit = idle ? " kB/conn" : scenario === "connrate" ? " conn/s" : " msg/s";
      lines.push([
        scenario,
        r.broker,
        (idle ? num(r.kbPerConn, 2) : num(r.rate)) + unit,
        ratio(figure(r), mosquitto && figure(mosquitto)),
        ratio(figure(r), aedes && figure(aedes)),
        targetMisses(r, rows) ?? "",
        r.lost === undefined ? "-" : r.lost === 0 ? "0" : `${num(r.lost)} (${num(r.lossPct, 2)}%)`,
        num(r.p50Ms, 2),
        num(r.p99Ms, 2),
        r.brokerCpuPct === undefined ? "-" : `${num(r.brokerCpuPct)}%`,
        `${num(r.peakRssMb, 1)} MB`,
        r.genCpuPct === undefined ? "-" : `${num(r.genCpuPct)}%/${r.genProcs}p`,
      ]);
    }
  }
  // Failed rows (three cells) run past the columns and do not widen them.
  const full = lines.filter((l) => l.length === header.length);
  const widths = header.map((_, i) => Math.max(...full.map((l) => l[i].length)));
  const right = new Set([2, 3, 4, 6, 7, 8, 9, 10, 11]);
  const text = lines.map((l) =>
    l.length < header.length
      ? l.join("  ")
      : l.map((c, i) => (right.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join("  ").trimEnd()
  );
  text.splice(1, 0, widths.map((w) => "-".repeat(w)).join("  "));
  const notes = [
    "",
    "result: delivered messages/s (connrate: CONNACKs/s; idle: broker RSS growth per connection).",
    "vs mosq: against the better of mosquitto and mosquitto-nodelay in this run; vs aedes: against aedes in this run",
    "(idle: lower is better). target (this project): rate >= Mosquitto's best and >= 2x aedes, p99 <= Mosquitto's,",
    `no loss at QoS 1, <= ${MAX_KB_PER_CONN} kB per idle connection. loss: sequence gaps + messages missing after the drain`,
    "(QoS 0 may drop). CPU: % of one core in the measured window; gen CPU: all load generator processes (N p);",
    "near 100% per process means the generator, not the broker, may be the limit.",
    "Scenarios: " + SCENARIO_NAMES.map((s) => `${s} = ${SCENARIO_TITLES[s]}`).join("; ") + ".",
    "Issue's reference (Mosquitto best / aedes): " +
    SCENARIO_NAMES.map((s) =>
      `${s} ${num(REFERENCE[s].mosquittoBest, s === "idle" ? 1 : 0)} / ${num(REFERENCE[s].aedes)} ${
        REFERENCE[s].unit
      }`
    ).join("; ") + ".",
  ];
  return text.join("\n") + "\n" + notes.join("\n") + "\n";
}
