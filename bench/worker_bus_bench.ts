/**
 * How routed messages should cross between worker threads: structured clone of the message objects, or packed
 * into one buffer per batch (src/cluster/worker_frames.ts) that is transferred. Batches of 256 messages with
 * 64-byte payloads that are views into an 8 KiB read buffer, as a socket read hands them to the broker; the
 * receiving thread turns each batch back into messages and acknowledges it.
 *
 *   node bench/worker_bus_bench.ts        (also: bun bench/worker_bus_bench.ts, deno run -A bench/...)
 * @module
 */

import { isMainThread, parentPort, Worker } from "node:worker_threads";
import type { Message } from "../src/message.ts";
import { FrameReader, FrameWriter } from "../src/cluster/worker_frames.ts";

const BATCH = 256;
const SECONDS = 2;

if (isMainThread) {
  const worker = new Worker(new URL(import.meta.url));
  const read = new Uint8Array(8192);
  const batch: Message[] = Array.from({ length: BATCH }, (_, i) => ({
    topic: `bench/${i % 16}/x`,
    payload: read.subarray((i * 64) % 8128, ((i * 64) % 8128) + 64),
    qos: 0,
    retain: false,
    receivedAt: Date.now(),
    origin: `pub-${i % 16}`,
  }));
  for (const mode of ["clone", "frames", "clone", "frames"] as const) {
    let acked = 0;
    const end = Date.now() + SECONDS * 1000;
    const writer = new FrameWriter();
    await new Promise<void>((resolve) => {
      const send = () => {
        if (Date.now() > end) return resolve();
        if (mode === "clone") worker.postMessage({ mode, batch });
        else {
          for (const m of batch) writer.write(m);
          const frames = writer.take();
          worker.postMessage({ mode, frames }, [frames.buffer as ArrayBuffer]);
        }
      };
      worker.removeAllListeners("message");
      worker.on("message", () => {
        acked++;
        send();
      });
      // A few batches in flight, as several sockets' reads would keep.
      for (let i = 0; i < 4; i++) send();
    });
    console.log(`${mode.padEnd(6)} ${Math.round((acked * BATCH) / SECONDS).toLocaleString("en")} msg/s`);
  }
  await worker.terminate();
} else {
  parentPort!.on("message", (data: { mode: string; batch?: Message[]; frames?: Uint8Array }) => {
    let n = 0;
    if (data.batch !== undefined) { for (const m of data.batch) n += m.payload.byteLength; }
    else {
      const reader = new FrameReader(data.frames!);
      while (reader.more) n += reader.next().payload.byteLength;
    }
    parentPort!.postMessage(n);
  });
}
