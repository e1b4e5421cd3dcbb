/**
 * Persistent QoS 1 throughput: the storage operations of a stream of QoS 1 messages to persistent sessions
 * ("queued", then "queuedDelete" + "inflight" when sent, then "inflightDelete" when acknowledged), pushed through
 * the write-behind into MemoryStorage, into Deno KV and into the SQLite backend (temporary files), in one run.
 *
 *   node bench/storage_bench.ts [seconds=2]
 *   deno run -A bench/storage_bench.ts [seconds]
 *   bun run bench/storage_bench.ts [seconds]
 *
 * Two shapes of traffic per backend:
 * - "acked late": each step comes 2000 messages after the previous one, so every put reaches the store before
 *   its delete (the worst case: 4 writes per message, 2 with a payload);
 * - "acked in window": the three steps follow each other within one write-behind batch, so the write-behind
 *   coalesces each message to two deletes.
 * A figure is operations pushed per second until all of them are durable (and messages per second). Each run is
 * bounded by its time budget and a message count.
 * @module
 */

import process from "node:process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openKvStorage, openSqliteStorage, runtimeName, runtimeVersion } from "../adapters/mod.ts";
import { systemClock } from "../src/clock.ts";
import { silentLogger } from "../src/logger.ts";
import { MemoryStorage } from "../src/storage/memory_storage.ts";
import type { Storage, StorageOp, StoredMessage } from "../src/storage/storage.ts";
import { WriteBehind } from "../src/storage/write_behind.ts";

const SECONDS = Math.min(30, Math.max(0.2, Number(process.argv[2] ?? 2) || 2));
const MAX_MESSAGES = 2_000_000;
const CLIENTS = 10;
const LAG = 2000;
const MAX_BACKLOG = 20_000;

function payloadMessage(i: number): StoredMessage {
  const payload = new Uint8Array(64);
  payload[0] = i & 0xff;
  return { topic: `bench/${i % 100}`, payload, qos: 1, retain: false, receivedAt: Date.now() };
}

/** The three steps of message `i` (client `i % CLIENTS`, packet id cycling within 1..65535). */
function steps(i: number): [StorageOp, StorageOp[], StorageOp] {
  const clientId = `client-${i % CLIENTS}`;
  const seq = Math.floor(i / CLIENTS);
  const packetId = (seq % 65_535) + 1;
  const message = payloadMessage(i);
  return [
    { type: "queued", clientId, entry: { seq, message, qos: 1, retain: false } },
    [
      { type: "queuedDelete", clientId, seq },
      { type: "inflight", clientId, entry: { packetId, message, qos: 1, retain: false, state: "publish" } },
    ],
    { type: "inflightDelete", clientId, packetId },
  ];
}

const macrotask = () => new Promise((resolve) => setTimeout(resolve, 0));

async function run(storage: Storage, lag: number): Promise<{ ops: number; messages: number; ms: number }> {
  await storage.load();
  const sessions: StorageOp[] = Array.from({ length: CLIENTS }, (_, c) => ({
    type: "session",
    session: { clientId: `client-${c}`, expiryInterval: 3600, subscriptions: [] },
  }));
  await storage.apply(sessions);
  const writer = new WriteBehind(storage, { clock: systemClock, logger: silentLogger, maxDelayMs: 5 });
  let ops = 0;
  let messages = 0;
  const push = (list: StorageOp[]) => {
    for (const op of list) writer.push(op);
    ops += list.length;
  };
  const start = performance.now();
  const deadline = start + SECONDS * 1000;
  while (messages < MAX_MESSAGES && performance.now() < deadline) {
    for (let k = 0; k < 1000; k++, messages++) {
      // Message i is queued now, sent `lag` messages later and acknowledged `2 * lag` later (lag 0: all now).
      push([steps(messages)[0]]);
      if (messages - lag >= 0) push(steps(messages - lag)[1]);
      if (messages - 2 * lag >= 0) push([steps(messages - 2 * lag)[2]]);
    }
    if (writer.backlog > MAX_BACKLOG) await writer.flushed();
    else await macrotask();
  }
  // Finish the messages still under way so the store ends empty, as after a drained broker.
  for (let i = Math.max(0, messages - lag); i < messages && lag > 0; i++) push(steps(i)[1]);
  for (let i = Math.max(0, messages - 2 * lag); i < messages && lag > 0; i++) push([steps(i)[2]]);
  await writer.close();
  const ms = performance.now() - start;
  const state = await storage.load();
  const left = state.sessions.reduce((n, s) => n + s.queued.length + s.inflight.length, 0);
  if (left !== 0) throw new Error(`Bench bug: ${left} records left in ${storage.name}`);
  return { ops, messages, ms };
}

function line(name: string, shape: string, r: { ops: number; messages: number; ms: number }): string {
  const opsPerS = (r.ops / r.ms) * 1000;
  const msgPerS = (r.messages / r.ms) * 1000;
  return `${name.padEnd(8)} ${shape.padEnd(16)} ${
    Math.round(opsPerS).toLocaleString("en-US").padStart(11)
  } ops/s` +
    `  ${Math.round(msgPerS).toLocaleString("en-US").padStart(10)} msg/s  (${r.ops} ops, ${
      (r.ms / 1000).toFixed(2)
    } s)`;
}

const dir = mkdtempSync(join(tmpdir(), "comqtt-bench-"));
try {
  console.log(
    `storage bench on ${runtimeName()} ${runtimeVersion()}: QoS 1, ${CLIENTS} sessions, 64-byte payloads`,
  );
  for (const [shape, lag] of [["acked late", LAG], ["acked in window", 0]] as const) {
    const memory = new MemoryStorage();
    console.log(line("memory", shape, await run(memory, lag)));
    await memory.close();
    const kv = await openKvStorage(join(dir, `bench-${lag}.db`));
    console.log(line("denokv", shape, await run(kv, lag)));
    await kv.close();
    const sqlite = await openSqliteStorage(join(dir, `bench-${lag}.sqlite`));
    console.log(line("sqlite", shape, await run(sqlite, lag)));
    await sqlite.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
