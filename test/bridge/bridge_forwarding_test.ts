/**
 * Bridge forwarding against real remotes: Mosquitto (v5 and 3.1.1 bridge connections) and a second instance of
 * this broker. Both directions with prefix rewrite, QoS 1 and 2, and no echo of a message back to where it came
 * from (v5 No Local; the echo filter for 3.1.1).
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { MqttClient } from "mqtt";
import mqtt from "mqtt";
import { tcpBroker, until } from "../_helpers/broker.ts";
import { createWsListener } from "../../adapters/mod.ts";
import { type Mosquitto, startMosquitto } from "../_helpers/mosquitto.ts";
import type { Broker } from "../../src/broker.ts";
import type { Bridge } from "../../src/bridge/bridge.ts";
import { bridgeConfig, collector, startBridge } from "./_bridge_setup.ts";

interface Remote {
  port: number;
  /** The URL the bridge connects to, when not mqtt://127.0.0.1:port. */
  url?: string;
  stop(): Promise<void>;
}

const REMOTES: Array<{ label: string; protocolVersion: 3 | 4 | 5; start(): Promise<Remote> }> = [
  {
    label: "Mosquitto, v5 bridge",
    protocolVersion: 5,
    start: async () => {
      const m: Mosquitto = await startMosquitto({ persistence: false });
      return { port: m.port, stop: () => m.cleanup() };
    },
  },
  {
    label: "Mosquitto, 3.1.1 bridge",
    protocolVersion: 4,
    start: async () => {
      const m = await startMosquitto({ persistence: false });
      return { port: m.port, stop: () => m.cleanup() };
    },
  },
  {
    label: "Mosquitto, 3.1 bridge",
    protocolVersion: 3,
    start: async () => {
      const m = await startMosquitto({ persistence: false });
      return { port: m.port, stop: () => m.cleanup() };
    },
  },
  {
    label: "comqtt-ts, v5 bridge",
    protocolVersion: 5,
    start: async () => {
      const { broker, port } = await tcpBroker();
      return { port, stop: () => broker.close() };
    },
  },
  {
    label: "comqtt-ts over WebSocket, v5 bridge",
    protocolVersion: 5,
    start: async () => {
      // TCP for the test's own clients, WebSocket for the bridge.
      const { broker, port } = await tcpBroker();
      const ws = await createWsListener({ id: "ws", host: "127.0.0.1", port: 0, path: "/mqtt" });
      await broker.addListener(ws);
      return { port, url: `ws://127.0.0.1:${ws.port}/mqtt`, stop: () => broker.close() };
    },
  },
];

for (const r of REMOTES) {
  describe(`bridge forwarding: ${r.label}`, () => {
    let remote: Remote;
    let local: Broker;
    let localPort: number;
    let bridge: Bridge;
    const clients: MqttClient[] = [];

    before(async () => {
      remote = await r.start();
      ({ broker: local, port: localPort } = await tcpBroker());
      const url = remote.url ?? `mqtt://127.0.0.1:${remote.port}`;
      bridge = await startBridge(
        local,
        bridgeConfig("cloud", url, {
          remote: {
            url,
            clientId: "edge-1",
            protocolVersion: r.protocolVersion,
            keepalive: 30,
          },
          out: [
            { from: "sensors/#", to: "site1/sensors/#", qos: 1 },
            { from: "exact/q2/+", to: "site1/q2/+", qos: 2 },
          ],
          in: [
            { from: "site1/cmd/#", to: "cmd/#", qos: 2 },
            // Covers what goes out too: without No Local / the echo filter this would loop.
            { from: "site1/sensors/#", to: "sensors/#", qos: 1 },
          ],
        }),
      );
    });

    after(async () => {
      for (const c of clients) c.end(true);
      await local.close();
      await remote.stop();
    });

    it("local -> remote with prefix rewrite at QoS 1 and 2; no echo back into the local broker", async () => {
      const far = await collector(remote.port, { "site1/#": { qos: 2 } });
      const near = await collector(localPort, { "sensors/#": { qos: 1 } });
      clients.push(far.client, near.client);
      const pub = await mqtt.connectAsync(`mqtt://127.0.0.1:${localPort}`, { reconnectPeriod: 0 });
      clients.push(pub);
      await pub.publishAsync("sensors/t1", "21.5", { qos: 1 });
      await pub.publishAsync("exact/q2/a", "two", { qos: 2 });
      await pub.publishAsync("other/x", "not bridged", { qos: 1 });
      await until(() => far.got.length >= 2, 5000, "two messages at the remote");
      await new Promise((res) => setTimeout(res, 300)); // room for an echo or a stray message to show up
      assert.deepEqual(far.got.sort((a, b) => a.topic.localeCompare(b.topic)), [
        { topic: "site1/q2/a", payload: "two", qos: 2, retain: false },
        { topic: "site1/sensors/t1", payload: "21.5", qos: 1, retain: false },
      ]);
      assert.deepEqual(
        near.got.map((g) => g.topic),
        ["sensors/t1"],
        "delivered locally once, not echoed back",
      );
      await until(() => bridge.status().queued === 0, 3000, "the queue to drain");
      assert.equal(bridge.status().forwardedOut, 2);
    });

    it("remote -> local with prefix rewrite at QoS 1 and 2", async () => {
      const near = await collector(localPort, { "cmd/#": { qos: 2 } });
      clients.push(near.client);
      const pub = await mqtt.connectAsync(`mqtt://127.0.0.1:${remote.port}`, { reconnectPeriod: 0 });
      clients.push(pub);
      await pub.publishAsync("site1/cmd/reboot", "now", { qos: 2 });
      await pub.publishAsync("site1/cmd/led", "on", { qos: 1 });
      await pub.publishAsync("site2/cmd/led", "not ours", { qos: 1 });
      await until(() => near.got.length >= 2, 5000, "two commands locally");
      await new Promise((res) => setTimeout(res, 200));
      // Different topics and QoS flows: no order between them.
      assert.deepEqual(near.got.sort((a, b) => a.topic.localeCompare(b.topic)), [
        { topic: "cmd/led", payload: "on", qos: 1, retain: false },
        { topic: "cmd/reboot", payload: "now", qos: 2, retain: false },
      ]);
    });
  });
}
