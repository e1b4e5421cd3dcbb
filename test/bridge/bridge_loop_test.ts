/**
 * No loop with a bridge each way between two brokers (two instances of this broker, v5 bridges that both forward
 * `sensors/#`): every subscriber gets each message once, and the forwarding counters settle.
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import mqtt from "mqtt";
import type { MqttClient } from "mqtt";
import { tcpBroker, until } from "../_helpers/broker.ts";
import type { Broker } from "../../src/broker.ts";
import type { Bridge } from "../../src/bridge/bridge.ts";
import { bridgeConfig, collector, type Got, startBridge } from "./_bridge_setup.ts";

describe("bridge loop prevention: a bridge each way between two brokers", () => {
  let a: { broker: Broker; port: number };
  let b: { broker: Broker; port: number };
  let toB: Bridge;
  let toA: Bridge;
  const clients: MqttClient[] = [];

  before(async () => {
    a = await tcpBroker();
    b = await tcpBroker();
    const out = [{ from: "sensors/#", to: "sensors/#", qos: 1 as const }];
    toB = await startBridge(a.broker, bridgeConfig("to-b", `mqtt://127.0.0.1:${b.port}`, { out }), "node-a");
    toA = await startBridge(b.broker, bridgeConfig("to-a", `mqtt://127.0.0.1:${a.port}`, { out }), "node-b");
  });

  after(async () => {
    for (const c of clients) c.end(true);
    await a.broker.close();
    await b.broker.close();
  });

  it("a message published on either side reaches each side's subscriber once, and forwarding stops", async () => {
    const atA = await collector(a.port, { "sensors/#": { qos: 1 } });
    const atB = await collector(b.port, { "sensors/#": { qos: 1 } });
    const pubA = await mqtt.connectAsync(`mqtt://127.0.0.1:${a.port}`, { reconnectPeriod: 0 });
    const pubB = await mqtt.connectAsync(`mqtt://127.0.0.1:${b.port}`, { reconnectPeriod: 0 });
    clients.push(atA.client, atB.client, pubA, pubB);
    await pubA.publishAsync("sensors/from-a", "1", { qos: 1 });
    await pubB.publishAsync("sensors/from-b", "2", { qos: 1 });
    await until(() => atA.got.length >= 2 && atB.got.length >= 2, 5000, "both messages on both sides");
    // A loop would keep the counters climbing and deliver copies: give it time to show.
    await new Promise((r) => setTimeout(r, 1000));
    const settled = [toB.status().forwardedOut, toA.status().forwardedOut];
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual([toB.status().forwardedOut, toA.status().forwardedOut], settled, "forwarding stopped");
    const topics = (got: Got[]) => got.map((g) => g.topic).sort();
    assert.deepEqual(topics(atA.got), ["sensors/from-a", "sensors/from-b"]);
    assert.deepEqual(topics(atB.got), ["sensors/from-a", "sensors/from-b"]);
    // Each message crosses at most twice (the second crossing is dropped on arrival by the broker it started from).
    assert.ok(settled[0]! <= 2 && settled[1]! <= 2, `forwarded ${settled}`);
  });
});
