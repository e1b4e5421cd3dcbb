/**
 * The CoAP gateway under loss and bad input: a UDP proxy that drops 20% of the datagrams each way (seeded), and a
 * bounded, seeded loop of malformed datagrams after which the broker still serves.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import mqtt from "mqtt";
import type { Broker } from "../../src/broker.ts";
import { serialize } from "../../src/coap/codec.ts";
import { CON, GET, NON, OPT, PUT, RESPONSE, RST, stringOpt, uintOpt } from "../../src/coap/message.ts";
import { until } from "../_helpers/broker.ts";
import { coapBroker, lossyProxy, RawCoapClient, seeded } from "../_helpers/coap.ts";

const text = new TextEncoder();
const decode = (b: Uint8Array) => new TextDecoder().decode(b);
const path = (p: string) => p.split("/").map((s) => stringOpt(OPT.uriPath, s));

describe("CoAP through a proxy that drops 20% of datagrams", () => {
  let broker: Broker;
  let coap: number;
  let mqttPort: number;
  let proxy: Awaited<ReturnType<typeof lossyProxy>>;
  let client: RawCoapClient;
  before(async () => {
    // Short timeouts keep the test quick; more retransmissions keep a 20% loss from ending an observation.
    ({ broker, coapPort: coap, mqttPort } = await coapBroker({
      coap: { endpoint: { ackTimeoutMs: 80, maxRetransmit: 10 }, random: seeded(7) },
    }));
    proxy = await lossyProxy(coap, 0.2, 20_26);
    client = await RawCoapClient.open(proxy.port);
  });
  after(async () => {
    await client.close();
    await proxy.close();
    await broker.close();
  });

  it("every CON PUT reaches the MQTT subscriber exactly once", async () => {
    const sub = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`);
    const seen = new Map<string, number>();
    sub.on("message", (_t, payload) => seen.set(payload.toString(), (seen.get(payload.toString()) ?? 0) + 1));
    await sub.subscribeAsync("lossy/in", { qos: 1 });
    const n = 40;
    try {
      for (let i = 0; i < n; i++) {
        const res = await client.request(
          PUT,
          [...path("ps/lossy/in"), stringOpt(OPT.uriQuery, "qos=1")],
          text.encode(`m${i}`),
          { retryMs: 120 },
        );
        assert.equal(res.code, RESPONSE.changed);
      }
      await until(() => seen.size === n, 5000, "every message");
      await new Promise((r) => setTimeout(r, 300)); // a late duplicate would show up here
      assert.deepEqual([...seen.values()].filter((c) => c !== 1), []);
      assert.ok(proxy.dropped() > 0, "the proxy dropped datagrams");
    } finally {
      await sub.endAsync();
    }
  });

  it("every QoS 1 message reaches the CoAP observer exactly once", async () => {
    const token = Uint8Array.of(0x0b, 0x5e);
    const res = await client.request(GET, [uintOpt(OPT.observe, 0), ...path("ps/lossy/out")], undefined, {
      token,
      retryMs: 120,
    });
    assert.equal(res.code, RESPONSE.content);
    const n = 25;
    const pub = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`);
    try {
      for (let i = 0; i < n; i++) await pub.publishAsync("lossy/out", `n${i}`, { qos: 1 });
      await until(() => client.received.length >= n, 20_000, "every notification");
      await new Promise((r) => setTimeout(r, 300));
      const payloads = client.received.map((m) => decode(m.payload));
      assert.deepEqual(payloads.sort(), Array.from({ length: n }, (_, i) => `n${i}`).sort());
      assert.ok(client.received.every((m) => m.type === CON), "QoS 1 notifications are confirmable");
    } finally {
      await pub.endAsync();
    }
  });
});

describe("CoAP fuzz: malformed datagrams", () => {
  let broker: Broker;
  let coap: number;
  before(async () => {
    ({ broker, coapPort: coap } = await coapBroker({ coap: { gateway: { maxClients: 200 } } }));
  });
  after(async () => {
    await broker.close();
  });

  it("3000 seeded bad datagrams are answered with RST or an error, or dropped; the broker still serves", async () => {
    const random = seeded(1234);
    const byte = () => Math.floor(random() * 256);
    const valid = [
      serialize({
        type: CON,
        code: PUT,
        messageId: 1,
        token: Uint8Array.of(1),
        options: path("ps/fuzz/a"),
        payload: text.encode("x"),
      }),
      serialize({
        type: NON,
        code: GET,
        messageId: 2,
        token: Uint8Array.of(2, 3),
        options: [uintOpt(OPT.observe, 0), ...path("ps/fuzz/%2B")],
        payload: new Uint8Array(),
      }),
      serialize({
        type: CON,
        code: 2,
        messageId: 3,
        token: new Uint8Array(),
        options: [...path("mqtt/connection"), stringOpt(OPT.uriQuery, "clientid=f")],
        payload: new Uint8Array(),
      }),
    ];
    const senders = await Promise.all([1, 2, 3].map(() => RawCoapClient.open(coap)));
    try {
      for (let i = 0; i < 3000; i++) {
        let bytes: Uint8Array;
        const kind = random();
        if (kind < 0.3) {
          bytes = Uint8Array.from({ length: Math.floor(random() * 64) }, byte);
        } else if (kind < 0.8) {
          // A valid message with a few bytes changed, cut short, or with bytes added.
          bytes = valid[Math.floor(random() * valid.length)].slice();
          for (let k = 0; k < 1 + Math.floor(random() * 3); k++) {
            bytes[Math.floor(random() * bytes.length)] = byte();
          }
          if (random() < 0.3) bytes = bytes.subarray(0, Math.floor(random() * bytes.length));
        } else {
          // A well-formed header over garbage options.
          bytes = Uint8Array.from([
            0x40 | Math.floor(random() * 9),
            byte() & 0x1f,
            byte(),
            byte(),
            ...Array.from({ length: Math.floor(random() * 20) }, byte),
          ]);
        }
        senders[i % senders.length].sendRaw(bytes);
        if (i % 100 === 99) await new Promise((r) => setTimeout(r, 5)); // stay within the socket buffers
      }
      await new Promise((r) => setTimeout(r, 200));
      const probe = await RawCoapClient.open(coap);
      try {
        // Still serving: a ping gets RST, a publish gets 2.04 and is routed.
        const rst = new Promise<number>((resolve) =>
          probe.socket.once("message", (m) => resolve(m[0] >> 4 & 3))
        );
        probe.sendRaw(Uint8Array.of(0x40, 0, 0x77, 0x77));
        assert.equal(await rst, RST);
        const before = broker.stats.messagesReceived;
        const res = await probe.request(PUT, path("ps/fuzz/after"), text.encode("alive"));
        assert.equal(res.code, RESPONSE.changed);
        assert.ok(broker.stats.messagesReceived > before);
      } finally {
        await probe.close();
      }
      const listener = broker.listeners.find((l) => l.id === "coap") as unknown as {
        stats: { malformed: number };
        clientCount: number;
      };
      assert.ok(listener.stats.malformed > 500, `malformed count ${listener.stats.malformed}`);
      assert.ok(listener.clientCount <= 200);
    } finally {
      await Promise.all(senders.map((s) => s.close()));
    }
  });
});
