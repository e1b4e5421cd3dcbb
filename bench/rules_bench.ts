/**
 * Rule engine cost on the publish path: messages routed per second with 0 rules (no hook installed), 10 rules and
 * 1000 rules (distinct filters, so the topic trie picks one rule per message), and 10 rules that all match.
 * In process, through `broker.publish()` (hooks, routing; no subscriber, so delivery costs nothing and the rule
 * engine's share shows), JSON payloads, no actions (selection and evaluation only).
 *
 *   deno run -A bench/rules_bench.ts [seconds per case = 2]
 *   bun run bench/rules_bench.ts
 *   node bench/rules_bench.ts
 * @module
 */

import process from "node:process";
import { Broker } from "../src/broker.ts";
import { AllowHook } from "../src/hooks/auth/allow_hook.ts";
import { compileRule } from "../src/rules/rule.ts";
import { RuleEngine } from "../src/rules/rule_engine.ts";

const SECONDS = Math.min(10, Math.max(0.5, Number(process.argv[2] ?? 2) || 2));
const DEVICES = 1000;

function runtime(): string {
  const g = globalThis as unknown as { Deno?: { version: { deno: string } }; Bun?: { version: string } };
  if (g.Deno) return `deno ${g.Deno.version.deno}`;
  if (g.Bun) return `bun ${g.Bun.version}`;
  return `node ${process.versions.node}`;
}

interface Case {
  name: string;
  sql: (i: number) => string;
  count: number;
}

const CASES: Case[] = [
  { name: "0 rules (no hook)", sql: () => "", count: 0 },
  {
    name: "10 rules, 1 matches",
    sql: (i) => `SELECT payload.temp AS t, clientid FROM "sensors/group${i}/+/data" WHERE payload.temp > 30`,
    count: 10,
  },
  {
    name: "1000 rules, 1 matches",
    sql: (i) => `SELECT payload.temp AS t, clientid FROM "sensors/dev${i}/data" WHERE payload.temp > 30`,
    count: 1000,
  },
  {
    name: "10 rules, all match",
    sql: (i) => `SELECT payload.temp AS t, topic(2) AS dev FROM "sensors/#" WHERE payload.temp > ${i}`,
    count: 10,
  },
];

async function run(c: Case): Promise<{ rate: number; evaluated: number }> {
  const broker = new Broker({ hooks: [new AllowHook()], sysInterval: 0 });
  let engine: RuleEngine | undefined;
  if (c.count > 0) {
    const rules = Array.from(
      { length: c.count },
      (_, i) => compileRule({ id: `r${i}`, sql: c.sql(i), actions: [] }),
    );
    engine = new RuleEngine({ rules, host: broker });
    broker.addHook(engine);
  }
  await broker.listen();
  const payloads = Array.from(
    { length: 16 },
    (_, i) => new TextEncoder().encode(`{"temp": ${20 + i}, "hum": 40}`),
  );
  const topics = Array.from(
    { length: DEVICES },
    (_, i) =>
      c.name.startsWith("10 rules, 1") ? `sensors/group${i % 10}/dev${i}/data` : `sensors/dev${i}/data`,
  );
  let n = 0;
  const end = performance.now() + SECONDS * 1000;
  const started = performance.now();
  while (performance.now() < end && n < 50_000_000) {
    for (let k = 0; k < 1000; k++, n++) {
      await broker.publish(topics[n % DEVICES]!, payloads[n & 15]!);
    }
    await new Promise((r) => setTimeout(r, 0));
  }
  const elapsed = (performance.now() - started) / 1000;
  const evaluated = engine?.status().reduce((s, r) => s + r.matched, 0) ?? 0;
  await broker.close();
  return { rate: n / elapsed, evaluated };
}

console.log(`rules bench, ${runtime()}, ${SECONDS} s per case, QoS 0, no subscriber, JSON payloads`);
for (const c of CASES) {
  const { rate, evaluated } = await run(c);
  console.log(
    `${c.name.padEnd(24)} ${
      Math.round(rate).toLocaleString("en").padStart(10)
    } msg/s  (rule evaluations: ${evaluated})`,
  );
}
