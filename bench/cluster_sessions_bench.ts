/**
 * What the cluster keeps per persistent session in JetStream, at scale: N sessions (default 100,000), each with
 * its owner record in the `{prefix}_sessions` KV bucket and one queued QoS 1 message (64-byte payload) in the
 * node's queue stream, written the way a node writes them (batches of 500, as the write-behind does). Prints
 * the time taken, the stream and bucket sizes, the node's memory for what it tracks, and how long reading one
 * session's queue back (a takeover after the node died) takes.
 *
 *   node bench/cluster_sessions_bench.ts [--sessions 100000]
 *
 * Starts its own nats-server on a free port with its store in a temp dir, and stops it by pid.
 * @module
 */

import process from "node:process";
import { parseArgs } from "node:util";
import { connect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { startNats } from "../test/_helpers/nats.ts";
import { NatsQueues } from "../adapters/cluster/_nats_queues.ts";
import { silentLogger } from "../src/logger.ts";
import { kvKey } from "../src/cluster/subjects.ts";
import type { StorageOp } from "../src/storage/storage.ts";

const { values } = parseArgs({ args: process.argv.slice(2), options: { sessions: { type: "string" } } });
const sessions = Number(values.sessions ?? 100_000);
const BATCH = 500;

const nats = await startNats(1);
const nc = await connect({ servers: nats.urls });
try {
  const queues = new NatsQueues({ nc, prefix: "b", node: "n1", replicas: 1, logger: silentLogger });
  await queues.start();
  const kv = await new Kvm(jetstream(nc)).create("b_sessions", { history: 1 });
  const heapBefore = process.memoryUsage().heapUsed;
  const payload = new Uint8Array(64).fill(120);
  let started = performance.now();
  for (let at = 0; at < sessions; at += BATCH) {
    const ops: StorageOp[] = [];
    const records: Promise<unknown>[] = [];
    for (let i = at; i < Math.min(sessions, at + BATCH); i++) {
      const clientId = `device-${i}`;
      ops.push({
        type: "queued",
        clientId,
        entry: {
          seq: 0,
          message: { topic: `devices/${i}/cmd`, payload, qos: 1, retain: false, receivedAt: Date.now() },
          qos: 1,
          retain: false,
        },
      });
      const record = {
        b: "n1-0123456789ab",
        e: 3600,
        s: [{ filter: `devices/${i}/cmd`, qos: 1 }],
        d: Date.now(),
      };
      records.push(kv.put(kvKey(clientId), new TextEncoder().encode(JSON.stringify(record))));
    }
    await Promise.all([queues.apply(ops), ...records]);
  }
  const writeMs = performance.now() - started;
  const heapAfter = process.memoryUsage().heapUsed;
  const jsm = await jetstreamManager(nc);
  const stream = (await jsm.streams.info("b_q_n1")).state;
  const bucket = (await jsm.streams.info("KV_b_sessions")).state;
  started = performance.now();
  const back = await queues.read("n1", `device-${sessions >> 1}`);
  const readMs = performance.now() - started;
  const mb = (n: number) => (n / 1_048_576).toFixed(1) + " MB";
  console.log(`sessions: ${sessions.toLocaleString()} (one queued 64-byte message each)`);
  console.log(`written in ${(writeMs / 1000).toFixed(1)} s (${Math.round(sessions / (writeMs / 1000))}/s)`);
  console.log(
    `queue stream b_q_n1: ${stream.messages} messages, ${stream.num_subjects ?? "?"} subjects, ${
      mb(stream.bytes)
    }` +
      ` (${Math.round(stream.bytes / sessions)} B/session)`,
  );
  console.log(
    `sessions bucket: ${bucket.messages} records, ${mb(bucket.bytes)} (${
      Math.round(bucket.bytes / sessions)
    } B/session)`,
  );
  console.log(`node heap for tracked queues: ~${mb(heapAfter - heapBefore)}`);
  console.log(`one session's queue read back in ${readMs.toFixed(1)} ms (${back.queued.length} message)`);
  await queues.close();
} finally {
  await nc.close();
  await nats.stop();
}
