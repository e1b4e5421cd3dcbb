/**
 * Store-and-forward through an outage of the remote (a real Mosquitto, killed for 10 s): 1,000 QoS 1 messages
 * published locally meanwhile all arrive, in order, once it is back; and when our own broker (the CLI, Deno KV
 * storage) is kill -9'ed during the outage and restarted, nothing it acknowledged is lost.
 *
 * Runs on Deno and Bun, as the issue asks: each case takes 10 s of outage by design, and the code path (bridge,
 * MQTT.js link, KV storage) is shared with Node, whose storage and MQTT.js paths other suites cover.
 */

import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import type { MqttClient } from "mqtt";
import { tcpBroker, until } from "../_helpers/broker.ts";
import { freePort, type Mosquitto, startMosquitto, waitForPort } from "../_helpers/mosquitto.ts";
import { killLeftovers, type Run, signalProcess, startCli } from "../_helpers/cli_process.ts";
import { runsOn } from "../_helpers/runtime.ts";
import { bridgeConfig, collector, type Got, startBridge } from "./_bridge_setup.ts";

const COUNT = 1000;
const OUTAGE_MS = 10_000;

/** Mosquitto with a persistent session subscribed to the bridged topics, then SIGKILLed (after its autosave). */
async function remoteWithSubscriber(): Promise<{ m: Mosquitto; far: { client: MqttClient; got: Got[] } }> {
  const m = await startMosquitto({ persistence: true });
  // clean: false and reconnecting: the session (and what is queued for it) outlives Mosquitto's restart.
  const far = await collector(m.port, { "site1/sensors/#": { qos: 1 } }, {
    clientId: "cloud-app",
    clean: false,
    reconnectPeriod: 300,
  });
  return { m, far };
}

/**
 * Kill Mosquitto once its 1 s autosave has written the subscriber's session: the database file must have been
 * written after the subscription (bounded wait: on a busy machine one autosave may come late).
 */
async function killRemote(m: Mosquitto): Promise<number> {
  const subscribedAt = Date.now();
  const db = join(m.dir, "mosquitto.db");
  const savedAfter = () => {
    try {
      return statSync(db).mtimeMs > subscribedAt;
    } catch {
      return false;
    }
  };
  await until(savedAfter, 10_000, "Mosquitto's autosave of the subscriber's session");
  await m.stop("SIGKILL");
  return Date.now();
}

function assertAllInOrder(got: Got[]): void {
  const seqs = got.map((g) => Number(g.payload));
  assert.equal(seqs.length, COUNT, `received ${seqs.length} messages`);
  assert.deepEqual(seqs, Array.from({ length: COUNT }, (_, i) => i), "every message, once, in order");
  assert.ok(got.every((g) => g.topic === "site1/sensors/dev1" && g.qos === 1));
}

if (runsOn("deno", "bun")) {
  describe("bridge outage: store and forward", () => {
    const cleanups: Array<() => Promise<unknown>> = [];
    after(async () => {
      killLeftovers();
      for (const c of cleanups.reverse()) await c().catch(() => {});
    });

    it("the remote is down for 10 s while 1,000 QoS 1 messages are published: all arrive in order", async () => {
      const { m, far } = await remoteWithSubscriber();
      cleanups.push(() => m.cleanup(), () => far.client.endAsync(true));
      const { broker, port } = await tcpBroker();
      cleanups.push(() => broker.close());
      const bridge = await startBridge(
        broker,
        bridgeConfig("cloud", `mqtt://127.0.0.1:${m.port}`, {
          out: [{ from: "sensors/#", to: "site1/sensors/#", qos: 1 }],
          reconnect: { minDelay: 200, maxDelay: 2000 },
        }),
      );
      const killedAt = await killRemote(m);
      await until(() => !bridge.connected, 5000, "the bridge to notice");
      const pub = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
      cleanups.push(() => pub.endAsync(true));
      for (let i = 0; i < COUNT; i++) await pub.publishAsync("sensors/dev1", String(i), { qos: 1 });
      assert.equal(bridge.status().queued, COUNT);
      assert.equal(far.got.length, 0);
      await new Promise((r) => setTimeout(r, Math.max(0, killedAt + OUTAGE_MS - Date.now())));
      await m.restart();
      await until(() => far.got.length >= COUNT, 30_000, "1,000 messages at the remote");
      await new Promise((r) => setTimeout(r, 300)); // a duplicate would show up here
      assertAllInOrder(far.got);
      await until(() => bridge.status().queued === 0, 5000, "the queue to empty");
      assert.ok(bridge.status().failedAttempts >= 1, "it retried while the remote was down");
    });

    it("our broker is kill -9'ed during the outage and restarted: nothing it acknowledged is lost", async () => {
      const { m, far } = await remoteWithSubscriber();
      cleanups.push(() => m.cleanup(), () => far.client.endAsync(true));
      const dir = await mkdtemp(join(tmpdir(), "comqtt-bridge-"));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      const port = await freePort();
      const config = join(dir, "edge.yaml");
      await writeFile(
        config,
        [
          `listeners: [ { type: tcp, address: "127.0.0.1:${port}" } ]`,
          "auth: { type: allow }",
          "storage: { type: denokv, path: ./state.db }",
          "bridges:",
          "  - name: cloud",
          `    remote: { url: "mqtt://127.0.0.1:${m.port}", clientId: edge-1, protocolVersion: 5 }`,
          '    out: [ { local: "sensors/#", remote: "site1/sensors/#", qos: 1 } ]',
          "    reconnect: { minDelay: 200, maxDelay: 2000 }",
        ].join("\n") + "\n",
      );
      const start = async (): Promise<Run> => {
        const run = startCli(["--config", config]);
        await run.waitFor(/broker started/);
        await waitForPort(port);
        return run;
      };
      const first = await start();
      await first.waitFor(/bridge connected/);
      const killedAt = await killRemote(m);
      await first.waitFor(/bridge connection lost/, 5000);

      const pub = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
      let acknowledged = 0;
      for (let i = 0; i < COUNT; i++) {
        await pub.publishAsync("sensors/dev1", String(i), { qos: 1 });
        acknowledged++;
      }
      pub.end(true);
      assert.equal(acknowledged, COUNT);
      signalProcess(first, "SIGKILL");
      const ended = await first.exited;
      assert.equal(ended.signal, "SIGKILL");

      const second = await start();
      // The restarted broker took the queue back from storage, and keeps trying the remote.
      await second.waitFor(/bridge queue restored bridge=cloud queued=1000/, 1000);
      await second.waitFor(/bridge cannot connect: retrying/, 10_000);
      await new Promise((r) => setTimeout(r, Math.max(0, killedAt + OUTAGE_MS - Date.now())));
      await m.restart();
      await until(() => far.got.length >= COUNT, 30_000, "1,000 messages at the remote");
      await new Promise((r) => setTimeout(r, 300));
      assertAllInOrder(far.got);
      signalProcess(second, "SIGTERM");
      await second.exited;
    });
  });
}
