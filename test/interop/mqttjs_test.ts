/**
 * Interop with MQTT.js (npm `mqtt`), the client most Node and browser IoT code uses, over real TCP.
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import mqtt from "mqtt";
import type { Broker } from "../../src/broker.ts";
import { tcpBroker, until } from "../_helpers/broker.ts";

type MqttClient = Awaited<ReturnType<typeof mqtt.connectAsync>>;

describe("interop: MQTT.js over TCP", () => {
  let broker: Broker;
  let url: string;
  const clients: MqttClient[] = [];

  async function client(options: Record<string, unknown> = {}): Promise<MqttClient> {
    const c = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 3000, ...options });
    clients.push(c);
    return c;
  }

  function nextMessage(c: MqttClient, ms = 3000): Promise<{ topic: string; payload: string; packet: any }> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`No message within ${ms} ms`)), ms);
      c.once("message", (topic: string, payload: Uint8Array, packet: unknown) => {
        clearTimeout(timer);
        resolve({ topic, payload: new TextDecoder().decode(payload), packet });
      });
    });
  }

  before(async () => {
    ({ broker } = await tcpBroker().then((r) => {
      url = `mqtt://127.0.0.1:${r.port}`;
      return r;
    }));
  });

  after(async () => {
    for (const c of clients) await c.endAsync(true).catch(() => {});
    await broker.close();
  });

  for (const qos of [0, 1, 2] as const) {
    it(`publishes and receives at QoS ${qos} (MQTT 3.1.1)`, async () => {
      const sub = await client({ protocolVersion: 4 });
      await sub.subscribeAsync(`js/q${qos}/+`, { qos });
      const pub = await client({ protocolVersion: 4 });
      const got = nextMessage(sub);
      await pub.publishAsync(`js/q${qos}/a`, `hello ${qos}`, { qos });
      const m = await got;
      assert.equal(m.topic, `js/q${qos}/a`);
      assert.equal(m.payload, `hello ${qos}`);
      assert.equal(m.packet.qos, qos);
    });
  }

  it("MQTT 3.1 (protocolVersion 3) clients exchange messages with 3.1.1 clients", async () => {
    const old = await client({ protocolVersion: 3, protocolId: "MQIsdp" });
    await old.subscribeAsync("js/v3", { qos: 1 });
    const pub = await client({ protocolVersion: 4 });
    const got = nextMessage(old);
    await pub.publishAsync("js/v3", "from 3.1.1", { qos: 1 });
    assert.equal((await got).payload, "from 3.1.1");
  });

  it("a retained message reaches a later subscriber with the retain flag", async () => {
    const pub = await client();
    await pub.publishAsync("js/retained", "state", { qos: 1, retain: true });
    const sub = await client();
    const got = nextMessage(sub);
    await sub.subscribeAsync("js/retained", { qos: 1 });
    const m = await got;
    assert.equal(m.payload, "state");
    assert.equal(m.packet.retain, true);
  });

  it("a persistent session receives QoS 1 messages published while it was offline", async () => {
    const first = await client({ clientId: "js-persistent", clean: false });
    await first.subscribeAsync("js/offline", { qos: 1 });
    await first.endAsync();
    const pub = await client();
    await pub.publishAsync("js/offline", "while away", { qos: 1 });
    // Listen before CONNACK: the queued message follows it at once.
    const again = mqtt.connect(url, { clientId: "js-persistent", clean: false, reconnectPeriod: 0 });
    clients.push(again);
    const m = await nextMessage(again);
    assert.equal(m.payload, "while away");
  });

  it("the will of a client that drops is delivered", async () => {
    const sub = await client();
    await sub.subscribeAsync("js/will", { qos: 1 });
    const dying = await client({ will: { topic: "js/will", payload: "lost", qos: 1, retain: false } });
    const got = nextMessage(sub);
    dying.stream.destroy();
    assert.equal((await got).payload, "lost");
  });

  it("many messages arrive in order at QoS 1", async () => {
    const sub = await client();
    await sub.subscribeAsync("js/order", { qos: 1 });
    const pub = await client();
    const received: number[] = [];
    sub.on("message", (_t: string, p: Uint8Array) => received.push(Number(new TextDecoder().decode(p))));
    const n = 500;
    for (let i = 0; i < n; i++) pub.publish("js/order", String(i), { qos: 1 });
    await until(() => received.length === n, 10_000, `${n} messages`);
    assert.deepEqual(received, Array.from({ length: n }, (_, i) => i));
  });
});
