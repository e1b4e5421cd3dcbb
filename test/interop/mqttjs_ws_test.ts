/**
 * Interop over WebSocket: MQTT.js (npm `mqtt`) over ws:// and wss://, a raw `ws` client that splits and joins
 * packets, and messages crossing between TCP and WebSocket clients. The broker uses the running runtime's own
 * adapters (adapters/mod.ts).
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import mqtt from "mqtt";
import WebSocket from "ws";
import { createTcpListener, createWsListener } from "../../adapters/mod.ts";
import type { Broker } from "../../src/broker.ts";
import type { ClientInfo, Hook } from "../../src/hooks/hook.ts";
import { testBroker, until } from "../_helpers/broker.ts";
import { makeTestPki, type TestPki } from "../_helpers/certs.ts";

type MqttClient = Awaited<ReturnType<typeof mqtt.connectAsync>>;

const decoder = new TextDecoder();

/** `promise`, or a rejection naming `what` after `ms` (the timer is cleared either way). */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms waiting for ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

describe("interop: MQTT over WebSocket", () => {
  let broker: Broker;
  let pki: TestPki;
  let tcpUrl: string;
  let wsUrl: string;
  let wssUrl: string;
  const connected: ClientInfo[] = [];
  const clients: MqttClient[] = [];

  async function client(url: string, options: Record<string, unknown> = {}): Promise<MqttClient> {
    const c = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 3000, ...options });
    clients.push(c);
    return c;
  }

  function nextMessage(c: MqttClient, ms = 3000): Promise<{ topic: string; payload: string; packet: any }> {
    return within(
      new Promise((resolve) => {
        c.once("message", (topic: string, payload: Uint8Array, packet: unknown) => {
          resolve({ topic, payload: decoder.decode(payload), packet });
        });
      }),
      ms,
      "a message",
    );
  }

  before(async () => {
    pki = await makeTestPki();
    const recorder: Hook = {
      id: "recorder",
      onConnected: (info) => void connected.push({ ...info }),
    };
    broker = testBroker({ hooks: [recorder] });
    const tcp = await createTcpListener({ id: "tcp", host: "127.0.0.1", port: 0 });
    const ws = await createWsListener({ id: "ws", host: "127.0.0.1", port: 0 });
    const wss = await createWsListener({
      id: "wss",
      host: "127.0.0.1",
      port: 0,
      tls: { cert: pki.pem.serverCert, key: pki.pem.serverKey },
    });
    for (const l of [tcp, ws, wss]) await broker.addListener(l);
    await broker.listen();
    tcpUrl = `mqtt://127.0.0.1:${tcp.port}`;
    wsUrl = `ws://127.0.0.1:${ws.port}/mqtt`;
    wssUrl = `wss://127.0.0.1:${wss.port}/mqtt`;
  });

  after(async () => {
    for (const c of clients) await c.endAsync(true).catch(() => {});
    await broker?.close();
    await pki?.remove();
  });

  for (const [version, protocolVersion] of [["3.1.1", 4], ["5.0", 5]] as const) {
    for (const qos of [0, 1, 2] as const) {
      it(`MQTT.js over ws:// publishes and receives at QoS ${qos} (MQTT ${version})`, async () => {
        const sub = await client(wsUrl, { protocolVersion });
        await sub.subscribeAsync(`ws/${protocolVersion}/${qos}`, { qos });
        const pub = await client(wsUrl, { protocolVersion });
        const got = nextMessage(sub);
        await pub.publishAsync(`ws/${protocolVersion}/${qos}`, `over ws ${qos}`, { qos });
        const m = await got;
        assert.equal(m.payload, `over ws ${qos}`);
        assert.equal(m.packet.qos, qos);
      });
    }
  }

  it("MQTT.js over wss:// (trusting the test CA) exchanges messages, MQTT 5", async () => {
    const sub = await client(wssUrl, { protocolVersion: 5, ca: pki.pem.ca, clientId: "wss-sub" });
    await sub.subscribeAsync("wss/t", { qos: 1 });
    const pub = await client(wssUrl, { protocolVersion: 5, ca: pki.pem.ca });
    const got = nextMessage(sub);
    await pub.publishAsync("wss/t", "secure", { qos: 1, properties: { userProperties: { k: "v" } } });
    const m = await got;
    assert.equal(m.payload, "secure");
    assert.deepEqual({ ...m.packet.properties.userProperties }, { k: "v" });
    assert.equal(connected.find((c) => c.id === "wss-sub")?.listener, "wss");
  });

  it('an MQTT 3.1 client negotiates the legacy "mqttv3.1" subprotocol', async () => {
    const old = await client(wsUrl, { protocolVersion: 3, protocolId: "MQIsdp", clientId: "legacy" });
    await old.subscribeAsync("ws/legacy", { qos: 1 });
    const pub = await client(wsUrl);
    const got = nextMessage(old);
    await pub.publishAsync("ws/legacy", "from 3.1.1", { qos: 1 });
    assert.equal((await got).payload, "from 3.1.1");
    assert.equal(connected.find((c) => c.id === "legacy")?.protocolVersion, 3);
  });

  it("a message crosses from a TCP client to a WebSocket client and back", async () => {
    const tcp = await client(tcpUrl, { clientId: "cross-tcp" });
    const ws = await client(wsUrl, { clientId: "cross-ws", protocolVersion: 5 });
    await tcp.subscribeAsync("cross/to-tcp", { qos: 1 });
    await ws.subscribeAsync("cross/to-ws", { qos: 1 });
    const toWs = nextMessage(ws);
    await tcp.publishAsync("cross/to-ws", "from tcp", { qos: 1 });
    assert.equal((await toWs).payload, "from tcp");
    const toTcp = nextMessage(tcp);
    await ws.publishAsync("cross/to-tcp", "from ws", { qos: 1 });
    assert.equal((await toTcp).payload, "from ws");
    assert.equal(connected.find((c) => c.id === "cross-ws")?.listener, "ws");
    assert.equal(connected.find((c) => c.id === "cross-tcp")?.listener, "tcp");
  });

  it("closing the WebSocket ends the MQTT connection (the will goes out); ending it closes the WebSocket", async () => {
    const watcher = await client(tcpUrl);
    await watcher.subscribeAsync("wills/#", { qos: 1 });
    const doomed = await client(wsUrl, {
      clientId: "doomed",
      will: { topic: "wills/doomed", payload: "gone", qos: 1, retain: false },
    });
    const will = nextMessage(watcher);
    (doomed.stream as unknown as { destroy(): void }).destroy(); // the WebSocket drops, no DISCONNECT
    assert.equal((await will).payload, "gone");
    await until(() => broker.getClient("doomed") === undefined, 3000, "the broker to drop the client");

    const first = await client(wsUrl, { clientId: "taken-over", clean: false });
    const closed = new Promise<void>((resolve) => first.once("close", () => resolve()));
    await client(tcpUrl, { clientId: "taken-over", clean: false });
    // The broker ends the old MQTT connection; its WebSocket closes with it.
    await within(closed, 3000, "the old WebSocket to close");
  });

  it("MQTT-6.0.0-2 packets split and joined: CONNECT one byte per frame, then three packets in one frame", async () => {
    const ws = await within(
      new Promise<WebSocket>((resolve, reject) => {
        const s = new WebSocket(wsUrl, ["mqtt"]);
        s.once("open", () => resolve(s));
        s.once("error", reject);
      }),
      3000,
      "the WebSocket to open",
    );
    try {
      assert.equal(ws.protocol, "mqtt"); // [MQTT-6.0.0-4]
      const received: number[] = [];
      const binary: boolean[] = [];
      ws.on("message", (data: Uint8Array, isBinary: boolean) => {
        received.push(...data);
        binary.push(isBinary);
      });
      const connect = [0x10, 0x0f, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 2, 0, 60, 0, 3, 0x77, 0x73, 0x31]; // "ws1"
      for (const byte of connect) ws.send(new Uint8Array([byte]));
      const subscribe = [0x82, 0x08, 0, 1, 0, 3, 0x74, 0x2f, 0x78, 0]; // id 1, "t/x" QoS 0
      const publish = [0x30, 0x07, 0, 3, 0x74, 0x2f, 0x78, 0x68, 0x69]; // "t/x" "hi"
      const pingreq = [0xc0, 0];
      ws.send(new Uint8Array([...subscribe, ...publish, ...pingreq]));
      const expected = [0x20, 2, 0, 0, 0x90, 3, 0, 1, 0, ...publish, 0xd0, 0];
      await until(() => received.length >= expected.length, 3000, `${expected.length} bytes back`);
      assert.deepEqual(received.slice(0, 9), expected.slice(0, 9)); // CONNACK, then SUBACK
      const rest = received.slice(9);
      assert.equal(rest.length, publish.length + 2);
      assert.ok(
        JSON.stringify(rest) === JSON.stringify([...publish, 0xd0, 0]) ||
          JSON.stringify(rest) === JSON.stringify([0xd0, 0, ...publish]),
        `the delivery and PINGRESP, received ${JSON.stringify(rest)}`,
      );
      // [MQTT-6.0.0-1] everything came in binary messages.
      assert.ok(binary.length > 0 && binary.every((b) => b));
    } finally {
      ws.terminate();
    }
  });

  it("MQTT-6.0.0-1 binary frames only: a text frame closes the MQTT connection", async () => {
    const ws = await within(
      new Promise<WebSocket>((resolve, reject) => {
        const s = new WebSocket(wsUrl, ["mqtt"]);
        s.once("open", () => resolve(s));
        s.once("error", reject);
      }),
      3000,
      "the WebSocket to open",
    );
    const closed = new Promise<void>((resolve) => ws.once("close", () => resolve()));
    ws.on("error", () => {});
    ws.send("\u0010\u000f\u0000\u0004MQTT");
    await within(closed, 3000, "the WebSocket to close");
  });
});
