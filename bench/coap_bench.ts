/**
 * CoAP publish rate and latency next to MQTT's, through the same broker.
 *
 *   node bench/coap_bench.ts                        # broker on Node, 5 s per phase, 32 requests in flight
 *   node bench/coap_bench.ts --runtime deno --seconds 3 --window 8
 *
 * The broker (main.ts) runs as a child process with a tcp and a coap listener on free 127.0.0.1 ports and is
 * stopped by its pid. One MQTT subscriber (MQTT.js) takes every message and measures the end-to-end latency; then
 * one CoAP client (CON PUT /ps/bench/coap, one UDP socket, `--window` requests in flight) and one MQTT.js client
 * (QoS 1 publishes, same window) each publish for `--seconds`. "ack" is request to 2.04 (CoAP) or to PUBACK (MQTT).
 * @module
 */

import { spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import mqtt from "mqtt";
import { binary, ROOT } from "./_brokers.ts";
import { Histogram } from "./_mqtt.ts";
import { parse, serialize } from "../src/coap/codec.ts";
import { CON, OPT, PUT, RESPONSE, stringOpt } from "../src/coap/message.ts";

const { values } = parseArgs({
  options: {
    runtime: { type: "string", default: "node" },
    seconds: { type: "string", default: "5" },
    window: { type: "string", default: "32" },
    qos: { type: "string", default: "1" },
  },
});
const seconds = Math.min(20, Number(values.seconds));
const window = Number(values.window);
const qos = Number(values.qos) as 0 | 1 | 2;

const dir = mkdtempSync(join(tmpdir(), "coap-bench-"));
const config = join(dir, "config.yaml");
writeFileSync(
  config,
  `listeners:\n  - { type: tcp, address: "127.0.0.1:0" }\n  - { type: coap, address: "127.0.0.1:0" }\n` +
    `auth: { type: allow }\nsys: { interval: 0 }\n`,
);
const runtime = values.runtime!;
const exe = binary(runtime) ?? runtime;
const child = spawn(exe, [
  ...(runtime === "deno" ? ["run", "-A"] : []),
  join(ROOT, "main.ts"),
  "--config",
  config,
], {
  stdio: ["ignore", "pipe", "pipe"],
});
const stop = () => {
  if (child.exitCode === null) child.kill("SIGTERM");
  rmSync(dir, { recursive: true, force: true });
};
process.on("exit", stop);

function waitForPorts(): Promise<{ tcp: number; coap: number }> {
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`broker did not start:\n${out}`)), 20_000);
    const onData = (c: Buffer) => {
      out += c.toString();
      const tcp = out.match(/protocol=tcp address=127\.0\.0\.1:(\d+)/);
      const coap = out.match(/protocol=coap address=127\.0\.0\.1:(\d+)/);
      if (tcp && coap && out.includes("broker started")) {
        clearTimeout(timer);
        resolve({ tcp: Number(tcp[1]), coap: Number(coap[1]) });
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
  });
}

interface Result {
  name: string;
  sent: number;
  ack: Histogram;
  e2e: Histogram;
}

const ports = await waitForPorts();
const e2e = { current: new Histogram() };
const sub = await mqtt.connectAsync(`mqtt://127.0.0.1:${ports.tcp}`);
sub.on("message", (_topic, payload) => e2e.current.add(performance.now() - payload.readDoubleLE(0)));
await sub.subscribeAsync("bench/#", { qos });

function stamped(): Uint8Array {
  const b = new Uint8Array(64);
  new DataView(b.buffer).setFloat64(0, performance.now(), true);
  return b;
}

async function coapPhase(): Promise<Result> {
  const socket = createSocket("udp4");
  await new Promise<void>((r) => socket.bind(0, "127.0.0.1", () => r()));
  const ack = new Histogram();
  e2e.current = new Histogram();
  const started = new Map<number, number>();
  const options = [
    stringOpt(OPT.uriPath, "ps"),
    stringOpt(OPT.uriPath, "bench"),
    stringOpt(OPT.uriPath, "coap"),
    stringOpt(OPT.uriQuery, `qos=${qos}`),
  ];
  let mid = 0;
  let sent = 0;
  let done = 0;
  let errors = 0;
  const end = performance.now() + seconds * 1000;
  let finish: () => void = () => {};
  const finished = new Promise<void>((r) => (finish = r));
  const send = () => {
    if (performance.now() > end) {
      if (started.size === 0) finish();
      return;
    }
    const id = ++mid & 0xffff;
    started.set(id, performance.now());
    sent++;
    const token = Uint8Array.of(id >> 8, id & 0xff);
    socket.send(
      serialize({ type: CON, code: PUT, messageId: id, token, options, payload: stamped() }),
      ports.coap,
      "127.0.0.1",
    );
  };
  socket.on("message", (msg) => {
    const r = parse(new Uint8Array(msg));
    if (!r.ok) return;
    const t = started.get(r.message.messageId);
    if (t === undefined) return;
    started.delete(r.message.messageId);
    if (r.message.code !== RESPONSE.changed) errors++;
    ack.add(performance.now() - t);
    done++;
    send();
  });
  for (let i = 0; i < window; i++) send();
  // Lost datagrams are not retransmitted here: the phase ends at its deadline plus 2 s whatever is outstanding.
  await Promise.race([finished, new Promise((r) => setTimeout(r, seconds * 1000 + 2000))]);
  socket.close();
  if (errors > 0) console.error(`coap: ${errors} responses other than 2.04`);
  return { name: `CoAP CON PUT, qos=${qos}`, sent: done, ack, e2e: e2e.current };
}

async function mqttPhase(): Promise<Result> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${ports.tcp}`);
  const ack = new Histogram();
  e2e.current = new Histogram();
  const end = performance.now() + seconds * 1000;
  let sent = 0;
  const worker = async () => {
    while (performance.now() < end) {
      const t = performance.now();
      await client.publishAsync("bench/mqtt", Buffer.from(stamped()), { qos });
      ack.add(performance.now() - t);
      sent++;
    }
  };
  await Promise.all(Array.from({ length: window }, worker));
  await client.endAsync();
  return { name: `MQTT.js PUBLISH, QoS ${qos}`, sent, ack, e2e: e2e.current };
}

try {
  const results = [await coapPhase(), await mqttPhase()];
  await new Promise((r) => setTimeout(r, 300));
  const f = (n: number) => n.toFixed(2);
  console.log(`broker on ${runtime}, ${seconds} s per phase, ${window} in flight`);
  console.log("| publisher | msg/s | ack p50 ms | ack p99 ms | end-to-end p50 ms | end-to-end p99 ms |");
  console.log("| --- | ---: | ---: | ---: | ---: | ---: |");
  for (const r of results) {
    console.log(
      `| ${r.name} | ${Math.round(r.sent / seconds)} | ${f(r.ack.quantile(0.5))} | ${
        f(r.ack.quantile(0.99))
      } | ${f(r.e2e.quantile(0.5))} | ${f(r.e2e.quantile(0.99))} |`,
    );
  }
} finally {
  await sub.endAsync();
  stop();
}
process.exit(0);
