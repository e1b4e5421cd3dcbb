/**
 * Benchmark of the subscription trie and the retained store at a million entries.
 *
 *   node --expose-gc bench/topics_bench.ts [count=1000000]
 *   deno run -A --v8-flags=--expose-gc bench/topics_bench.ts [count]
 *   bun run bench/topics_bench.ts [count]
 *
 * Heap figures need a forced GC (the flags above; Bun has one built in) and are rough otherwise.
 * Every loop is bounded in count and stops early past its time budget.
 * @module
 */

import process from "node:process";
import { SubscriptionIndex } from "../src/topics/subscription_index.ts";
import { RetainedStore } from "../src/topics/retained_store.ts";

const TOTAL = Math.max(100, Number(process.argv[2] ?? 1_000_000) || 1_000_000);
const PER_CLIENT = 10;
const BUILD_BUDGET_MS = 120_000;
const MATCH_BUDGET_MS = 2_000;
const random = makeRandom(1);

function runtime(): string {
  const g = globalThis as unknown as { Deno?: { version: { deno: string } }; Bun?: { version: string } };
  if (g.Deno) return `deno ${g.Deno.version.deno}`;
  if (g.Bun) return `bun ${g.Bun.version}`;
  return `node ${process.versions.node}`;
}

function collect(): boolean {
  const g = globalThis as unknown as { gc?: () => void; Bun?: { gc(force: boolean): void } };
  if (g.Bun) {
    g.Bun.gc(true);
    return true;
  }
  if (g.gc) {
    g.gc();
    g.gc();
    return true;
  }
  return false;
}

function heapMb(): number {
  collect();
  return process.memoryUsage().heapUsed / 1024 / 1024;
}

function mb(bytes: number): string {
  return `${bytes.toFixed(0)} MB`;
}

function rate(count: number, ms: number): string {
  const perSecond = (count / ms) * 1000;
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(2)} M/s`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toFixed(0)} k/s`;
  return `${perSecond.toFixed(1)} /s`;
}

/** A fixed pseudo-random sequence (mulberry32), so every runtime sees the same topics. */
function makeRandom(seed: number): () => number {
  let state = seed >>> 0;
  return function next(): number {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Ten subscriptions of client n: exact, single-level and multi-level wildcards, one popular filter. */
function filtersOf(n: number): string[] {
  const site = n % 100;
  const region = n % 20;
  return [
    `devices/${n}/cmd`,
    `devices/${n}/config`,
    `users/${n}/inbox`,
    `devices/${n}/ota/status`,
    `devices/${n}/+/state`,
    `devices/${n}/+`,
    `sensors/site${site}/${n}/+`,
    `alerts/region${region}/${n}/#`,
    `devices/${n}/logs/#`,
    `fleet/region${region}/+/status`, // one client in 20 shares it: a fan-out of clients/20
  ];
}

/** Run `work` over `items` in whole rounds until the budget is spent (at most `maxRounds`). */
function timeRounds<I>(items: I[], maxRounds: number, work: (item: I) => void): { done: number; ms: number } {
  let done = 0;
  const start = performance.now();
  let ms = 0;
  for (let round = 0; round < maxRounds && ms < MATCH_BUDGET_MS; round++) {
    for (let i = 0; i < items.length; i++) work(items[i]);
    done += items.length;
    ms = performance.now() - start;
  }
  return { done, ms };
}

function benchMatch(index: SubscriptionIndex<number>, name: string, topics: string[]): void {
  let visits = 0;
  const visit = (): void => {
    visits++;
  };
  for (let i = 0; i < Math.min(topics.length, 10_000); i++) index.match(topics[i], visit); // warm-up
  visits = 0;
  const { done, ms } = timeRounds(topics, 50, (topic) => index.match(topic, visit));
  console.log(
    `  match ${name}: ${rate(done, ms)} topics, ${(visits / done).toFixed(1)} subscribers/topic, ` +
      `${rate(visits, ms)} deliveries`,
  );
}

function benchIndex(): void {
  const heapStart = heapMb();
  const filters: string[] = [];
  const clients: string[] = [];
  for (let n = 0; filters.length < TOTAL; n++) {
    const clientId = `client-${n}`;
    for (const f of filtersOf(n)) {
      if (filters.length === TOTAL) break;
      filters.push(f);
      clients.push(clientId);
    }
  }
  const heapStrings = heapMb();

  const index = new SubscriptionIndex<number>();
  const t0 = performance.now();
  let added = 0;
  for (; added < filters.length; added++) {
    index.add(filters[added], clients[added], 1);
    if ((added & 0xffff) === 0 && performance.now() - t0 > BUILD_BUDGET_MS) break;
  }
  const addMs = performance.now() - t0;
  const heapIndex = heapMb();
  const indexMb = heapIndex - heapStrings;
  console.log(`SubscriptionIndex: ${index.size} subscriptions of ${Math.ceil(added / PER_CLIENT)} clients`);
  console.log(`  add: ${added} in ${addMs.toFixed(0)} ms = ${rate(added, addMs)}`);
  console.log(
    `  heap: strings ${mb(heapStrings - heapStart)}, index ${mb(indexMb)} ` +
      `(${((indexMb * 1024 * 1024) / index.size).toFixed(0)} B/subscription), heap used ${mb(heapIndex)}`,
  );

  const clientCount = Math.ceil(added / PER_CLIENT);
  const typical: string[] = [];
  for (let i = 0; i < 100_000; i++) {
    const n = Math.floor(random() * clientCount);
    const topics = [
      `devices/${n}/cmd`, // devices/n/cmd, devices/n/+
      `devices/${n}/temp/state`, // devices/n/+/state
      `sensors/site${n % 100}/${n}/temp`, // sensors/site/n/+
      `alerts/region${n % 20}/${n}/fire/floor2`, // alerts/region/n/#
      `devices/${n}/logs/2026/11/25`, // devices/n/logs/#
      `nobody/${n}/listens/here`, // nothing
    ];
    typical.push(topics[i % topics.length]);
  }
  benchMatch(index, "typical topics", typical);
  const fanOut: string[] = [];
  for (let i = 0; i < 100; i++) fanOut.push(`fleet/region${i % 20}/truck${i}/status`);
  benchMatch(index, "fan-out fleet/region{r}/+/status", fanOut);
  const dollar: string[] = [];
  for (let i = 0; i < 10_000; i++) dollar.push(`$SYS/broker/clients/${i}`);
  benchMatch(index, "$SYS topics (no subscriber)", dollar);

  const r0 = performance.now();
  let removed = 0;
  for (let i = 0; i < added; i += 10) {
    if (index.remove(filters[i], clients[i])) removed++;
  }
  const removeMs = performance.now() - r0;
  console.log(
    `  remove: ${removed} in ${removeMs.toFixed(0)} ms = ${rate(removed, removeMs)}; ${index.size} left`,
  );
}

function benchRetained(store: RetainedStore<number>, name: string, filters: string[]): void {
  let visits = 0;
  const visit = (): void => {
    visits++;
  };
  const { done, ms } = timeRounds(filters, 1_000, (filter) => store.match(filter, visit));
  console.log(
    `  match ${name}: ${rate(done, ms)} filters, ${(visits / done).toFixed(1)} messages/filter, ` +
      `${rate(visits, ms)} messages`,
  );
}

function benchStore(): void {
  const heapStart = heapMb();
  const kinds = ["state", "config", "ota/status", "temp", "hum"];
  const devices = Math.ceil(TOTAL / 10);
  const topics: string[] = [];
  for (let n = 0; n < TOTAL; n++) {
    const k = n % 10;
    topics.push(`devices/${Math.floor(n / 10)}/${kinds[k >> 1]}/${k & 1}`);
  }
  const heapStrings = heapMb();
  const store = new RetainedStore<number>();
  const t0 = performance.now();
  let stored = 0;
  for (; stored < topics.length; stored++) {
    store.set(topics[stored], stored);
    if ((stored & 0xffff) === 0 && performance.now() - t0 > BUILD_BUDGET_MS) break;
  }
  const setMs = performance.now() - t0;
  const heapStore = heapMb();
  const storeMb = heapStore - heapStrings;
  console.log(`RetainedStore: ${store.size} topics of ${devices} devices`);
  console.log(`  set: ${stored} in ${setMs.toFixed(0)} ms = ${rate(stored, setMs)}`);
  console.log(
    `  heap: strings ${mb(heapStrings - heapStart)}, store ${mb(storeMb)} ` +
      `(${((storeMb * 1024 * 1024) / store.size).toFixed(0)} B/topic), heap used ${mb(heapStore)}`,
  );
  const lookups: string[] = [];
  for (let i = 0; i < 10_000; i++) lookups.push(topics[Math.floor(random() * stored)]);
  const got = timeRounds(lookups, 100, (topic) => store.get(topic));
  console.log(`  get: ${rate(got.done, got.ms)}`);
  const few: string[] = [];
  for (let i = 0; i < 10_000; i++) {
    const n = Math.floor(random() * devices);
    few.push(i % 2 === 0 ? `devices/${n}/state/+` : `devices/${n}/#`);
  }
  benchRetained(store, "devices/{n}/state/+ and devices/{n}/#", few);
  benchRetained(store, "devices/+/temp/1", ["devices/+/temp/1"]);
  benchRetained(store, "#", ["#"]);
}

console.log(`topics bench on ${runtime()}, ${TOTAL} entries, forced GC: ${collect()}`);
benchIndex();
benchStore();
