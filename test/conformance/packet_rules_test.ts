/**
 * Conformance: rules that hold for every packet (MQTT 3.1.1 sections 1.5.3 UTF-8 strings, 2.2.2 fixed header
 * flags, 2.3.1 packet identifiers) and the PUBREL fixed header (3.6.1). One test per normative statement.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Broker } from "../../src/broker.ts";
import type { PublishPacket } from "../../src/packets/types.ts";
import { PACKET_FIXTURES } from "../fixtures/packets.ts";
import { RawClient } from "../_helpers/raw_client.ts";
import { testBroker, until } from "../_helpers/broker.ts";
import { decodeFrame, mqttString, publishBytes, WireTap } from "./_wire_tap.ts";

/** What testBroker takes: broker options plus the auth hook to put first. */
type TestBrokerOptions = NonNullable<Parameters<typeof testBroker>[0]>;

/** Run `body` against a fresh in-memory broker that is closed afterwards, pass or fail. */
async function withBroker(
  body: (broker: Broker) => Promise<void>,
  options: TestBrokerOptions = {},
): Promise<void> {
  const broker = testBroker(options);
  try {
    await body(broker);
  } finally {
    await broker.close();
  }
}

/** A connected client plus a subscriber on `#` that must see nothing of what the client's bad packet carried. */
async function clientAndWitness(broker: Broker): Promise<{ c: RawClient; witness: RawClient }> {
  const witness = RawClient.memory(broker);
  await witness.connect({ clientId: "witness" });
  await witness.subscribe("#", 2);
  const c = RawClient.memory(broker);
  await c.connect({ clientId: "offender" });
  return { c, witness };
}

/** The connection is closed by the broker and nothing came back for the bad packet. */
async function assertClosedSilently(c: RawClient, what: string): Promise<void> {
  assert.equal(await c.waitClosed(), true, `${what}: the broker kept the connection open`);
  assert.deepEqual(c.packets.map((p) => p.cmd), [], `${what}: the broker answered`);
}

const SURROGATE_D800 = [0x61, 0xed, 0xa0, 0x80]; // "a" + U+D800 encoded as if it were a scalar value
const BAD_CONTINUATION = [0x61, 0xc3, 0x28];
const OVERLONG_SLASH = [0x61, 0xc0, 0xaf, 0x62]; // "/" as an overlong two-byte form
const OVERLONG_NUL = [0x61, 0xc0, 0x80]; // U+0000 as an overlong two-byte form (Modified UTF-8)
const TRUNCATED = [0x61, 0xe2, 0x82]; // first two bytes of a three-byte sequence

describe("conformance 1.5.3 UTF-8 encoded strings", () => {
  for (
    const [name, topic] of [
      ["an encoded surrogate U+D800", SURROGATE_D800],
      ["a bad continuation byte", BAD_CONTINUATION],
      ["an overlong '/'", OVERLONG_SLASH],
      ["a truncated sequence", TRUNCATED],
    ] as const
  ) {
    it(`MQTT-1.5.3-1 a PUBLISH topic with ${name} closes the connection and is not forwarded`, async () => {
      await withBroker(async (broker) => {
        const { c, witness } = await clientAndWitness(broker);
        c.sendBytes(publishBytes({ topic: [...topic], payload: "x", qos: 1, id: 7 }));
        await assertClosedSilently(c, name);
        assert.deepEqual(await witness.collect(50), []);
      });
    });
  }

  it("MQTT-1.5.3-1 a SUBSCRIBE topic filter with ill-formed UTF-8 closes the connection without SUBACK", async () => {
    await withBroker(async (broker) => {
      const c = RawClient.memory(broker);
      await c.connect();
      const body = [0, 5, ...mqttString(SURROGATE_D800), 1];
      c.sendBytes([0x82, body.length, ...body]);
      await assertClosedSilently(c, "SUBSCRIBE");
    });
  });

  it("MQTT-1.5.3-1 an UNSUBSCRIBE topic filter with ill-formed UTF-8 closes the connection without UNSUBACK", async () => {
    await withBroker(async (broker) => {
      const c = RawClient.memory(broker);
      await c.connect();
      const body = [0, 6, ...mqttString(BAD_CONTINUATION)];
      c.sendBytes([0xa2, body.length, ...body]);
      await assertClosedSilently(c, "UNSUBSCRIBE");
    });
  });

  it("MQTT-1.5.3-1 a will topic with ill-formed UTF-8 closes the connection without CONNACK", async () => {
    await withBroker(async (broker) => {
      const c = RawClient.memory(broker);
      const body = [
        ...mqttString("MQTT"),
        4,
        0x06, // will flag + clean session
        0,
        0,
        ...mqttString("w1"),
        ...mqttString(SURROGATE_D800),
        ...mqttString("msg"),
      ];
      c.sendBytes([0x10, body.length, ...body]);
      await assertClosedSilently(c, "CONNECT");
    });
  });

  it("MQTT-1.5.3-2 a PUBLISH topic holding U+0000 closes the connection and is not forwarded", async () => {
    await withBroker(async (broker) => {
      const { c, witness } = await clientAndWitness(broker);
      c.sendBytes(publishBytes({ topic: [0x61, 0x00, 0x62], payload: "x", qos: 0 }));
      await assertClosedSilently(c, "PUBLISH");
      assert.deepEqual(await witness.collect(50), []);
    });
  });

  it("MQTT-1.5.3-2 U+0000 in its overlong form (C0 80) is refused as well", async () => {
    await withBroker(async (broker) => {
      const { c, witness } = await clientAndWitness(broker);
      c.sendBytes(publishBytes({ topic: OVERLONG_NUL, payload: "x", qos: 1, id: 3 }));
      await assertClosedSilently(c, "PUBLISH");
      assert.deepEqual(await witness.collect(50), []);
    });
  });

  it("MQTT-1.5.3-2 a SUBSCRIBE topic filter holding U+0000 closes the connection without SUBACK", async () => {
    await withBroker(async (broker) => {
      const c = RawClient.memory(broker);
      await c.connect();
      const body = [0, 9, ...mqttString([0x61, 0x2f, 0x00]), 0];
      c.sendBytes([0x82, body.length, ...body]);
      await assertClosedSilently(c, "SUBSCRIBE");
    });
  });

  it("MQTT-1.5.3-2 a user name holding U+0000 closes the connection without CONNACK", async () => {
    await withBroker(async (broker) => {
      const c = RawClient.memory(broker);
      const body = [...mqttString("MQTT"), 4, 0x82, 0, 0, ...mqttString("u0"), ...mqttString([0x75, 0x00])];
      c.sendBytes([0x10, body.length, ...body]);
      await assertClosedSilently(c, "CONNECT");
    });
  });

  it("MQTT-1.5.3-1 the embedding API refuses a topic with a lone surrogate instead of sending it altered", async () => {
    await withBroker(async (broker) => {
      const sub = RawClient.memory(broker);
      await sub.connect();
      await sub.subscribe("#", 0);
      // A lone surrogate has no UTF-8 form: encoding it would emit U+FFFD, a topic nobody published.
      await assert.rejects(broker.publish("lone/\uD800", "x"), TypeError);
      await assert.rejects(broker.publish("lone/\uDFFF/x", "x", { qos: 1, retain: true }), TypeError);
      assert.deepEqual(await sub.collect(50), []);
      assert.equal(broker.retainedCount, 0);
    });
  });

  for (
    const [where, topic] of [
      ["inside", "bom/\uFEFF/x"],
      ["at the start of", "\uFEFFbom/start"],
    ] as const
  ) {
    it(`MQTT-1.5.3-3 a U+FEFF ${where} a topic survives byte for byte to the subscriber`, async () => {
      await withBroker(async (broker) => {
        const sub = new WireTap(broker);
        await sub.connect("bom-sub");
        // Subscribe to the exact name: a stripped BOM would also fail to match here.
        sub.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic, qos: 0 }] });
        await sub.waitFor(9);
        const pub = RawClient.memory(broker);
        await pub.connect();
        pub.sendBytes(publishBytes({ topic, payload: "p", qos: 1, id: 2 }));
        await pub.expect("puback");
        const frame = await sub.waitFor(3);
        const expected = mqttString(topic);
        assert.deepEqual([...frame.body.subarray(0, expected.length)], expected);
        assert.ok(expected.includes(0xef) && expected.includes(0xbb) && expected.includes(0xbf));
      });
    });
  }

  it("MQTT-1.5.3-3 a retained message under a topic with U+FEFF is found by that exact topic", async () => {
    await withBroker(async (broker) => {
      const topic = "\uFEFF";
      const pub = RawClient.memory(broker);
      await pub.connect();
      pub.publish(topic, "kept", { qos: 1, messageId: 1, retain: true });
      await pub.expect("puback");
      assert.equal(broker.getRetained(topic)?.topic, topic);
      assert.equal(broker.getRetained(""), undefined);
    });
  });
});

describe("conformance 2.2.2 fixed header flags", () => {
  it("MQTT-2.2.2-1 every packet the server sends carries the reserved flags of the flag table", async () => {
    await withBroker(async (broker) => {
      const tap = new WireTap(broker);
      const connack = await tap.connect("flags", true);
      assert.deepEqual([...connack.bytes], [0x20, 0x02, 0x00, 0x00]);

      tap.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "f/#", qos: 2 }] });
      assert.equal((await tap.waitFor(9)).flags, 0x0, "SUBACK");

      tap.send({ cmd: "pingreq" });
      assert.deepEqual([...(await tap.waitFor(13)).bytes], [0xd0, 0x00], "PINGRESP");

      // QoS 1 in: PUBACK out; the echo to our own subscription is a QoS 1 PUBLISH.
      tap.sendBytes(publishBytes({ topic: "f/1", payload: "a", qos: 1, id: 11 }));
      assert.deepEqual([...(await tap.waitFor(4)).bytes], [0x40, 0x02, 0x00, 11], "PUBACK");
      const pub1 = await tap.waitFor(3);
      assert.equal(pub1.flags, 0x2, "PUBLISH QoS 1, DUP 0, RETAIN 0");
      tap.sendBytes([0x40, 0x02, pub1.body[5]!, pub1.body[6]!]);

      // QoS 2 in: PUBREC out, then PUBREL in and PUBCOMP out.
      tap.sendBytes(publishBytes({ topic: "f/2", payload: "b", qos: 2, id: 12 }));
      assert.deepEqual([...(await tap.waitFor(5)).bytes], [0x50, 0x02, 0x00, 12], "PUBREC");
      tap.sendBytes([0x62, 0x02, 0x00, 12]);
      assert.deepEqual([...(await tap.waitFor(7)).bytes], [0x70, 0x02, 0x00, 12], "PUBCOMP");

      // QoS 2 out: the PUBREL the server sends after our PUBREC must use flags 0010.
      const pub2 = await tap.waitFor(3);
      assert.equal(pub2.flags, 0x4, "PUBLISH QoS 2, DUP 0, RETAIN 0");
      const id = [pub2.body[5]!, pub2.body[6]!];
      tap.sendBytes([0x50, 0x02, ...id]);
      assert.deepEqual([...(await tap.waitFor(6)).bytes], [0x62, 0x02, ...id], "PUBREL");
      tap.sendBytes([0x70, 0x02, ...id]);

      tap.sendBytes(publishBytes({ topic: "f/0", payload: "c", qos: 0 }));
      assert.equal((await tap.waitFor(3)).flags, 0x0, "PUBLISH QoS 0");

      tap.send({ cmd: "unsubscribe", messageId: 2, unsubscriptions: ["f/#"] });
      assert.deepEqual([...(await tap.waitFor(11)).bytes], [0xb0, 0x02, 0x00, 0x02], "UNSUBACK");
      assert.deepEqual(await tap.collect(30), []);
    });
  });

  for (
    const [name, bytes] of [
      ["PUBACK with flags 0001", [0x41, 0x02, 0x00, 0x01]],
      ["PUBREC with flags 0010", [0x52, 0x02, 0x00, 0x01]],
      ["PUBCOMP with flags 1000", [0x78, 0x02, 0x00, 0x01]],
      ["SUBSCRIBE with flags 0000", [0x80, 0x06, 0x00, 0x01, 0x00, 0x01, 0x61, 0x00]],
      ["SUBSCRIBE with flags 0011", [0x83, 0x06, 0x00, 0x01, 0x00, 0x01, 0x61, 0x00]],
      ["UNSUBSCRIBE with flags 0000", [0xa0, 0x05, 0x00, 0x01, 0x00, 0x01, 0x61]],
      ["UNSUBSCRIBE with flags 1010", [0xaa, 0x05, 0x00, 0x01, 0x00, 0x01, 0x61]],
      ["PINGREQ with flags 0001", [0xc1, 0x00]],
      ["PINGREQ with flags 1000", [0xc8, 0x00]],
    ] as const
  ) {
    it(`MQTT-2.2.2-2 a ${name} closes the connection`, async () => {
      await withBroker(async (broker) => {
        const c = RawClient.memory(broker);
        await c.connect();
        c.sendBytes([...bytes]);
        await assertClosedSilently(c, name);
      });
    });
  }

  it("MQTT-2.2.2-2 a CONNECT with flags 0001 closes the connection without CONNACK", async () => {
    await withBroker(async (broker) => {
      const c = RawClient.memory(broker);
      const body = [...mqttString("MQTT"), 4, 0x02, 0, 0, ...mqttString("cf")];
      c.sendBytes([0x11, body.length, ...body]);
      await assertClosedSilently(c, "CONNECT");
    });
  });

  it("MQTT-2.2.2-2 a DISCONNECT with flags 0010 closes the connection as an error: the will is published", async () => {
    await withBroker(async (broker) => {
      const sub = RawClient.memory(broker);
      await sub.connect();
      await sub.subscribe("bad-disconnect/#", 0);
      const c = RawClient.memory(broker);
      await c.connect({ will: { topic: "bad-disconnect/will", payload: "w", qos: 0, retain: false } });
      c.sendBytes([0xe2, 0x00]);
      await assertClosedSilently(c, "DISCONNECT");
      const will = await sub.expect("publish");
      assert.equal(will.topic, "bad-disconnect/will");
    });
  });

  it("MQTT-2.2.2-2 bad flags after valid packets in the same chunk: the valid ones are served, then close", async () => {
    await withBroker(async (broker) => {
      const c = RawClient.memory(broker);
      await c.connect();
      c.sendBytes([0xc0, 0x00, 0xc1, 0x00, 0xc0, 0x00]);
      await c.expect("pingresp");
      assert.equal(await c.waitClosed(), true);
      assert.deepEqual(c.packets, [], "nothing is processed after the malformed packet");
    });
  });
});

describe("conformance 2.3.1 packet identifier", () => {
  it("MQTT-2.3.1-1 every QoS 1 and QoS 2 PUBLISH the server sends has a non-zero packet identifier", async () => {
    await withBroker(async (broker) => {
      const sub = RawClient.memory(broker);
      await sub.connect();
      await sub.subscribe("nz/#", 2);
      const ids: number[] = [];
      for (let i = 0; i < 6; i++) {
        await broker.publish(`nz/${i}`, `m${i}`, { qos: i % 2 === 0 ? 1 : 2 });
        const p = await sub.expect("publish");
        assert.equal(p.qos, i % 2 === 0 ? 1 : 2);
        ids.push(p.messageId);
        sub.send({ cmd: p.qos === 1 ? "puback" : "pubrec", messageId: p.messageId });
        if (p.qos === 2) {
          await sub.expect("pubrel");
          sub.send({ cmd: "pubcomp", messageId: p.messageId });
        }
      }
      assert.ok(ids.every((id) => Number.isInteger(id) && id > 0 && id <= 65535), `ids ${ids}`);
    });
  });

  it("MQTT-2.3.1-1 a QoS 1 PUBLISH with packet identifier 0 closes the connection and is not forwarded", async () => {
    await withBroker(async (broker) => {
      const { c, witness } = await clientAndWitness(broker);
      c.sendBytes(publishBytes({ topic: "zero/1", payload: "x", qos: 1, id: 0 }));
      await assertClosedSilently(c, "PUBLISH QoS 1 id 0");
      assert.deepEqual(await witness.collect(50), []);
    });
  });

  it("MQTT-2.3.1-1 a QoS 2 PUBLISH with packet identifier 0 closes the connection and is not forwarded", async () => {
    await withBroker(async (broker) => {
      const { c, witness } = await clientAndWitness(broker);
      c.sendBytes(publishBytes({ topic: "zero/2", payload: "x", qos: 2, id: 0 }));
      await assertClosedSilently(c, "PUBLISH QoS 2 id 0");
      assert.deepEqual(await witness.collect(50), []);
    });
  });

  it("MQTT-2.3.1-1 a SUBSCRIBE with packet identifier 0 closes the connection without SUBACK", async () => {
    await withBroker(async (broker) => {
      const c = RawClient.memory(broker);
      await c.connect();
      c.sendBytes([0x82, 0x06, 0x00, 0x00, 0x00, 0x01, 0x61, 0x00]);
      await assertClosedSilently(c, "SUBSCRIBE id 0");
    });
  });

  it("MQTT-2.3.1-1 an UNSUBSCRIBE with packet identifier 0 closes the connection without UNSUBACK", async () => {
    await withBroker(async (broker) => {
      const c = RawClient.memory(broker);
      await c.connect();
      c.sendBytes([0xa2, 0x05, 0x00, 0x00, 0x00, 0x01, 0x61]);
      await assertClosedSilently(c, "UNSUBSCRIBE id 0");
    });
  });

  it("MQTT-2.3.1-5 a QoS 0 PUBLISH the server sends has no packet identifier", async () => {
    await withBroker(async (broker) => {
      const tap = new WireTap(broker);
      await tap.connect("q0-sub");
      tap.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "q0/t", qos: 2 }] });
      await tap.waitFor(9);
      const pub = RawClient.memory(broker);
      await pub.connect();
      pub.publish("q0/t", "xy", { qos: 0 });
      const frame = await tap.waitFor(3);
      // Topic, then the payload at once: no two identifier bytes in between.
      assert.deepEqual([...frame.bytes], [0x30, 8, ...mqttString("q0/t"), 0x78, 0x79]);
      // Also when the QoS was lowered from 1 to 0 by a QoS 0 subscription.
      const tap0 = new WireTap(broker);
      await tap0.connect("q0-sub-b");
      tap0.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "q0/t", qos: 0 }] });
      await tap0.waitFor(9);
      pub.publish("q0/t", "z", { qos: 1, messageId: 9 });
      await pub.expect("puback");
      assert.deepEqual([...(await tap0.waitFor(3)).bytes], [0x30, 7, ...mqttString("q0/t"), 0x7a]);
    });
  });

  it("MQTT-2.3.1-5 the first two payload bytes of an inbound QoS 0 PUBLISH are payload, not an identifier", async () => {
    await withBroker(async (broker) => {
      const sub = RawClient.memory(broker);
      await sub.connect();
      await sub.subscribe("q0/in", 0);
      const pub = RawClient.memory(broker);
      await pub.connect();
      pub.sendBytes(publishBytes({ topic: "q0/in", payload: [0x00, 0x07, 0x68, 0x69], qos: 0 }));
      const m = await sub.expect("publish");
      assert.deepEqual([...m.payload], [0x00, 0x07, 0x68, 0x69]);
      assert.deepEqual(pub.packets, [], "no acknowledgement for QoS 0");
    });
  });

  it("MQTT-2.3.1-6 PUBACK and PUBREC carry the identifier of the PUBLISH they answer", async () => {
    await withBroker(async (broker) => {
      const c = RawClient.memory(broker);
      await c.connect();
      for (const id of [1, 0x1234, 0xff00, 65535]) {
        c.publish("ids/1", "a", { qos: 1, messageId: id });
        assert.equal((await c.expect("puback")).messageId, id);
        c.publish("ids/2", "b", { qos: 2, messageId: id });
        assert.equal((await c.expect("pubrec")).messageId, id);
        c.send({ cmd: "pubrel", messageId: id });
        assert.equal((await c.expect("pubcomp")).messageId, id);
      }
    });
  });

  it("MQTT-2.3.1-6 the PUBREL the server sends carries the identifier of its QoS 2 PUBLISH", async () => {
    await withBroker(async (broker) => {
      const sub = RawClient.memory(broker);
      await sub.connect();
      await sub.subscribe("ids/rel", 2);
      for (let i = 0; i < 3; i++) await broker.publish("ids/rel", `m${i}`, { qos: 2 });
      const pubs = [await sub.expect("publish"), await sub.expect("publish"), await sub.expect("publish")];
      // Answer out of order: each PUBREL must still pair with its own PUBLISH.
      for (const p of [pubs[2], pubs[0], pubs[1]]) {
        sub.send({ cmd: "pubrec", messageId: p.messageId });
        assert.equal((await sub.expect("pubrel")).messageId, p.messageId);
        sub.send({ cmd: "pubcomp", messageId: p.messageId });
      }
      await until(() => broker.inflightCount === 0, 1000, "PUBCOMPs to release every id");
    });
  });

  it("MQTT-2.3.1-7 SUBACK and UNSUBACK carry the identifier of the SUBSCRIBE and UNSUBSCRIBE", async () => {
    await withBroker(async (broker) => {
      const c = RawClient.memory(broker);
      await c.connect();
      for (const id of [1, 0xabcd, 65535]) {
        assert.equal((await c.subscribe("s/a", 1, id)).messageId, id);
        c.send({ cmd: "unsubscribe", messageId: id, unsubscriptions: ["s/a"] });
        assert.equal((await c.expect("unsuback")).messageId, id);
      }
      // An UNSUBSCRIBE for a filter never subscribed is still answered with its id.
      c.send({ cmd: "unsubscribe", messageId: 77, unsubscriptions: ["never/subscribed"] });
      assert.equal((await c.expect("unsuback")).messageId, 77);
    });
  });
});

describe("conformance 3.6.1 PUBREL fixed header", () => {
  for (const first of [0x60, 0x61, 0x63, 0x6a]) {
    it(`MQTT-3.6.1-1 a PUBREL with flags ${(first & 0x0f).toString(2).padStart(4, "0")} is malformed: close`, async () => {
      await withBroker(async (broker) => {
        const c = RawClient.memory(broker);
        await c.connect();
        c.publish("rel/t", "x", { qos: 2, messageId: 5 });
        await c.expect("pubrec");
        c.sendBytes([first, 0x02, 0x00, 0x05]);
        await assertClosedSilently(c, "PUBREL");
      });
    });
  }

  it("MQTT-3.6.1-1 a PUBREL with flags 0010 is accepted and answered with PUBCOMP", async () => {
    await withBroker(async (broker) => {
      const tap = new WireTap(broker);
      await tap.connect("rel-ok");
      tap.sendBytes(publishBytes({ topic: "rel/t", payload: "x", qos: 2, id: 5 }));
      await tap.waitFor(5);
      tap.sendBytes([0x62, 0x02, 0x00, 0x05]);
      const comp = await tap.waitFor(7);
      assert.deepEqual(decodeFrame(comp).messageId, 5);
      assert.equal(tap.closed, false);
    });
  });
});

/** The statement sections this file and publish_test.ts / qos_flows_test.ts cover. */
const OWN_SECTIONS = /^MQTT-(1\.5\.3|2\.2\.2|2\.3\.1|3\.3\.\d|3\.6\.1)-\d+$/;

describe("fixture catalogue cases of these sections against a live broker", () => {
  const cases = PACKET_FIXTURES.filter((f) =>
    f.version !== 5 && f.spec !== undefined && OWN_SECTIONS.test(f.spec)
  );

  for (const f of cases.filter((f) => f.error !== undefined)) {
    it(`${f.spec} fixture ${f.name} (${f.description}) closes the connection`, async () => {
      await withBroker(async (broker) => {
        const witness = RawClient.memory(broker);
        await witness.connect({ clientId: "witness" });
        await witness.subscribe("#", 2);
        const c = RawClient.memory(broker, f.version);
        if (f.bytes[0]! >> 4 !== 1) await c.connect();
        c.sendBytes(f.bytes);
        await assertClosedSilently(c, f.name);
        assert.deepEqual(await witness.collect(30), [], "nothing of it is forwarded");
      });
    });
  }

  for (const f of cases.filter((f) => f.error === undefined && f.packet?.type === "publish")) {
    it(`${f.spec} fixture ${f.name} (${f.description}) is forwarded with the same topic and payload`, async () => {
      const sent = f.packet as PublishPacket;
      await withBroker(async (broker) => {
        const tap = new WireTap(broker);
        await tap.connect("fixture-sub");
        tap.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "#", qos: 2 }] });
        await tap.waitFor(9);
        const c = RawClient.memory(broker, f.version);
        await c.connect();
        c.sendBytes(f.bytes);
        const frame = await tap.waitFor(3);
        const topic = mqttString(sent.topic);
        assert.deepEqual([...frame.body.subarray(0, topic.length)], topic, "topic bytes");
        const got = decodeFrame(frame);
        assert.deepEqual([...got.payload], [...sent.payload], "payload bytes");
        assert.equal(got.qos, sent.qos);
        assert.equal(got.retain, false, "live delivery through an established subscription [MQTT-3.3.1-9]");
      });
    });
  }
});
