/**
 * Persistent QoS 1 throughput: the same broker with no storage, with the in-memory storage, with Deno KV and with
 * SQLite (synchronous=FULL, the default, and NORMAL for comparison), in one run. 4 persistent subscribers (clean session 0) and 4 publishers over real TCP on 127.0.0.1, QoS 1,
 * 64-byte payloads, 64 unacknowledged messages per publisher; each configuration runs for a bounded time.
 *
 * Run: `node bench/persistence_bench.ts [seconds] [none,memory,kv,sqlite,normal]`, `deno run -A bench/persistence_bench.ts`, `bun bench/persistence_bench.ts`.
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { Broker } from "../src/broker.ts";
import { AllowHook } from "../src/hooks/auth/allow_hook.ts";
import { MemoryStorage } from "../src/storage/memory_storage.ts";
import type { Storage } from "../src/storage/storage.ts";
import {
  createTcpListener,
  openKvStorage,
  openSqliteStorage,
  runtimeName,
  runtimeVersion,
} from "../adapters/mod.ts";
import { RawClient } from "../test/_helpers/raw_client.ts";

const SECONDS = Number(process.argv[2] ?? 3);
const PAIRS = 4;
const WINDOW = 64;
const PAYLOAD = "x".repeat(64);

async function measure(label: string, storage: Storage | undefined): Promise<number> {
  const broker = new Broker({ hooks: [new AllowHook()], storage, sysInterval: 0 });
  const listener = await createTcpListener({ host: "127.0.0.1", port: 0 });
  await broker.addListener(listener);
  await broker.listen();
  const port = listener.port;
  let delivered = 0;
  let stop = false;
  const subs: RawClient[] = [];
  for (let i = 0; i < PAIRS; i++) {
    const sub = await RawClient.tcp(port);
    await sub.connect({ clientId: `bench-sub-${i}`, clean: false });
    await sub.subscribe(`bench/${i}`, 1);
    subs.push(sub);
    void (async () => {
      while (!stop) {
        const p = await sub.next(2000).catch(() => undefined);
        if (p?.cmd !== "publish") continue;
        delivered++;
        sub.send({ cmd: "puback", messageId: p.messageId });
      }
    })();
  }
  const pubs: RawClient[] = [];
  const started = Date.now();
  const runs = [];
  for (let i = 0; i < PAIRS; i++) {
    const pub = await RawClient.tcp(port);
    await pub.connect({ clientId: `bench-pub-${i}` });
    pubs.push(pub);
    runs.push((async () => {
      let id = 0;
      let inFlight = 0;
      const send = () => {
        id = id === 65_535 ? 1 : id + 1;
        pub.publish(`bench/${i}`, PAYLOAD, { qos: 1, messageId: id });
        inFlight++;
      };
      while (inFlight < WINDOW) send();
      while (Date.now() - started < SECONDS * 1000) {
        const p = await pub.next(5000);
        if (p.cmd !== "puback") continue;
        inFlight--;
        while (inFlight < WINDOW) send();
      }
    })());
  }
  await Promise.all(runs);
  const elapsed = (Date.now() - started) / 1000;
  const rate = delivered / elapsed;
  stop = true;
  for (const c of [...pubs, ...subs]) c.destroy();
  await broker.close();
  console.log(`${label.padEnd(22)} ${Math.round(rate).toLocaleString("en-US").padStart(9)} msg/s delivered`);
  return rate;
}

/** Configurations to run, by name (the second argument, comma-separated; default all). */
const CONFIGS = ["none", "memory", "kv", "sqlite", "normal"] as const;
const only = (process.argv[3] ?? CONFIGS.join(",")).split(",");
for (const c of only) {
  if (!(CONFIGS as readonly string[]).includes(c)) {
    console.error(`Unknown configuration "${c}": expected some of ${CONFIGS.join(",")}`);
    process.exit(2);
  }
}
const want = (c: typeof CONFIGS[number]) => only.includes(c);
const ratio = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined ? undefined : (a / b).toFixed(2);

const dir = mkdtempSync(join(tmpdir(), "comqtt-bench-"));
try {
  console.log(`persistent QoS 1, ${PAIRS} pairs, ${SECONDS} s each, ${runtimeName()} ${runtimeVersion()}`);
  const none = want("none") ? await measure("no storage", undefined) : undefined;
  const memory = want("memory") ? await measure("memory storage", new MemoryStorage()) : undefined;
  const kv = want("kv")
    ? await measure("Deno KV storage", await openKvStorage(join(dir, "bench.kv")))
    : undefined;
  const sqlite = want("sqlite")
    ? await measure("SQLite storage", await openSqliteStorage(join(dir, "bench.sqlite")))
    : undefined;
  const normal = want("normal")
    ? await measure(
      "SQLite sync=NORMAL",
      await openSqliteStorage(join(dir, "normal.sqlite"), { synchronous: "normal" }),
    )
    : undefined;
  // One "name: ratio" per line, for bench/run.ts (scenario persist) to read.
  const ratios = {
    "Deno KV / memory storage": ratio(kv, memory),
    "Deno KV / no storage": ratio(kv, none),
    "SQLite / memory storage": ratio(sqlite, memory),
    "SQLite / Deno KV": ratio(sqlite, kv),
    "SQLite NORMAL / FULL": ratio(normal, sqlite),
  };
  for (const [name, r] of Object.entries(ratios)) if (r !== undefined) console.log(`${name}: ${r}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
