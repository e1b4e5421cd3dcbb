/**
 * Bridge throughput: comqtt-ts's bridge against Mosquitto's own bridge, in one run, to the same remote Mosquitto.
 * Each edge broker is a separate process (our CLI under the runtime running this file; /usr/sbin/mosquitto); an
 * MQTT.js publisher sends N QoS 1 messages to the edge as fast as its window allows, an MQTT.js subscriber on the
 * remote counts them. The figure is messages per second from the first publish to the last arrival.
 *
 *   deno run -A bench/bridge_bench.ts [messages = 20000]
 *   bun run bench/bridge_bench.ts
 *   node bench/bridge_bench.ts
 * @module
 */

import process from "node:process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { freePort, startMosquitto, waitForPort } from "../test/_helpers/mosquitto.ts";
import { signalProcess, startCli } from "../test/_helpers/cli_process.ts";

const N = Math.min(200_000, Math.max(1000, Number(process.argv[2] ?? 20_000) || 20_000));
const BUDGET_MS = 25_000;
const PAYLOAD = "x".repeat(64);

function runtime(): string {
  const g = globalThis as unknown as { Deno?: { version: { deno: string } }; Bun?: { version: string } };
  if (g.Deno) return `deno ${g.Deno.version.deno}`;
  if (g.Bun) return `bun ${g.Bun.version}`;
  return `node ${process.versions.node}`;
}

/** Publish N messages to the edge on `edgePort`, wait until the remote subscriber has them all (or the budget). */
async function measure(edgePort: number, remotePort: number): Promise<{ rate: number; received: number }> {
  const sub = await mqtt.connectAsync(`mqtt://127.0.0.1:${remotePort}`, { reconnectPeriod: 0 });
  let received = 0;
  let last = 0;
  sub.on("message", () => {
    received++;
    last = performance.now();
  });
  await sub.subscribeAsync("site/bench/#", { qos: 1 });
  const pub = await mqtt.connectAsync(`mqtt://127.0.0.1:${edgePort}`, { reconnectPeriod: 0 });
  // Warm-up: the bridge is connected and forwarding.
  await pub.publishAsync("bench/warm", PAYLOAD, { qos: 1 });
  const warmEnd = Date.now() + 10_000;
  while (received < 1 && Date.now() < warmEnd) await new Promise((r) => setTimeout(r, 20));
  received = 0;
  const started = performance.now();
  const window = 1000;
  let sent = 0;
  const inflight = new Set<Promise<unknown>>();
  while (sent < N && performance.now() - started < BUDGET_MS) {
    const p = pub.publishAsync(`bench/t${sent % 16}`, PAYLOAD, { qos: 1 });
    inflight.add(p);
    p.finally(() => inflight.delete(p));
    sent++;
    if (inflight.size >= window) await Promise.race(inflight);
  }
  await Promise.all(inflight);
  const end = Date.now() + BUDGET_MS;
  while (received < sent && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  await pub.endAsync(true);
  await sub.endAsync(true);
  return { rate: received / ((last - started) / 1000), received };
}

const dir = await mkdtemp(join(tmpdir(), "comqtt-bridge-bench-"));
const remote = await startMosquitto({ persistence: false });
const results: string[] = [];
try {
  for (const protocol of [5, 4] as const) {
    // comqtt-ts edge (the CLI, in-memory storage) with a bridge to the remote.
    const ourPort = await freePort();
    const config = join(dir, `edge${protocol}.yaml`);
    await writeFile(
      config,
      [
        `listeners: [ { type: tcp, address: "127.0.0.1:${ourPort}" } ]`,
        "auth: { type: allow }",
        "log: { level: warn }",
        "bridges:",
        "  - name: cloud",
        `    remote: { url: "mqtt://127.0.0.1:${remote.port}", clientId: comqtt-edge-${protocol}, protocolVersion: ${protocol} }`,
        '    out: [ { local: "bench/#", remote: "site/bench/#", qos: 1 } ]',
      ].join("\n") + "\n",
    );
    const ours = startCli(["--config", config]);
    await waitForPort(ourPort, 30_000);
    const a = await measure(ourPort, remote.port);
    signalProcess(ours, "SIGTERM");
    await ours.exited;

    // Mosquitto edge with its own bridge to the same remote.
    const edge = await startMosquitto({
      persistence: false,
      extra: [
        "connection cloud",
        `address 127.0.0.1:${remote.port}`,
        'topic bench/# out 1 "" site/',
        `bridge_protocol_version ${protocol === 5 ? "mqttv50" : "mqttv311"}`,
        "cleansession true",
        `remote_clientid mosquitto-edge-${protocol}`,
      ],
    });
    const b = await measure(edge.port, remote.port);
    await edge.cleanup();
    const v = protocol === 5 ? "v5" : "3.1.1";
    results.push(
      `QoS 1, ${v} bridge: comqtt-ts ${
        Math.round(a.rate).toLocaleString("en")
      } msg/s (${a.received}/${N}), ` +
        `Mosquitto ${Math.round(b.rate).toLocaleString("en")} msg/s (${b.received}/${N})`,
    );
  }
} finally {
  await remote.cleanup();
  await rm(dir, { recursive: true, force: true });
}
console.log(`bridge bench, comqtt-ts edge on ${runtime()}, ${N} messages of 64 bytes, remote Mosquitto`);
for (const r of results) console.log(r);
process.exit(0);
