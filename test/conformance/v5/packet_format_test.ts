/**
 * Conformance, MQTT 5.0: data representation and packet format (sections 1.5 and 2): UTF-8 strings and string
 * pairs, Variable Byte Integers, fixed-header flags, Packet Identifiers and Property Length, checked on the raw
 * bytes the broker writes. Test names carry "(5.0)" after the id.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { packetFixture } from "../../fixtures/packets.ts";
import { RawClient } from "../../_helpers/raw_client.ts";
import { until } from "../../_helpers/broker.ts";
import {
  client5,
  decode5,
  expectDisconnect,
  frame,
  props,
  publish5Bytes,
  publishParts,
  readProperties,
  readVarint,
  str,
  subscriber5,
  Tap5,
  tapSubscriber,
  u16,
  userProp,
  withBroker,
} from "./_v5.ts";

describe("conformance 5.0 1.5 data representation", () => {
  for (
    const [what, bytes] of [
      [
        "a Topic Name with an encoded surrogate",
        publish5Bytes({ topic: [0x61, 0xed, 0xa0, 0x80], payload: "x" }),
      ],
      ["a Topic Name with an overlong encoding", publish5Bytes({ topic: [0x61, 0xc0, 0xaf], payload: "x" })],
      [
        "a User Property value cut inside a sequence",
        publish5Bytes({ topic: "a/b", payload: "x", properties: props(userProp("k", [0xe2, 0x82])) }),
      ],
    ] as const
  ) {
    it(`MQTT-1.5.4-1 (5.0) ${what} is malformed: DISCONNECT 0x81, not delivered`, async () => {
      await withBroker(async (broker) => {
        const watcher = await subscriber5(broker, "#", 0);
        const c = await client5(broker);
        c.sendBytes(bytes);
        await expectDisconnect(c, 0x81);
        assert.deepEqual(await watcher.collect(30), []);
      });
    });
  }

  for (
    const [what, bytes] of [
      ["in a Topic Name", publish5Bytes({ topic: [0x61, 0x00, 0x62], payload: "x" })],
      [
        "in a Content Type",
        publish5Bytes({ topic: "a/b", payload: "x", properties: props([0x03, ...str([0x74, 0x00])]) }),
      ],
      [
        "in a Response Topic",
        publish5Bytes({ topic: "a/b", payload: "x", properties: props([0x08, ...str([0x72, 0x00])]) }),
      ],
    ] as const
  ) {
    it(`MQTT-1.5.4-2 (5.0) U+0000 ${what} is malformed: DISCONNECT 0x81`, async () => {
      await withBroker(async (broker) => {
        const c = await client5(broker);
        c.sendBytes(bytes);
        await expectDisconnect(c, 0x81);
      });
    });
  }

  it("MQTT-1.5.4-2 (5.0) U+0000 in a CONNECT User Property is malformed: closed", async () => {
    await withBroker(async (broker) => {
      const c = RawClient.memory(broker, 5);
      c.sendBytes(packetFixture("connect.v5.utf8.userPropertyNul").bytes);
      assert.equal(await c.waitClosed(), true);
      assert.equal(c.packets.some((p) => p.cmd === "connack" && p.reasonCode === 0), false);
    });
  });

  it("MQTT-1.5.4-3 (5.0) U+FEFF (EF BB BF) is kept in topic names and user properties, not stripped", async () => {
    await withBroker(async (broker) => {
      const tap = await tapSubscriber(broker, "#", 0);
      const bomOnly = await subscriber5(broker, "\uFEFFbom/t", 0);
      const plain = await subscriber5(broker, "bom/t", 0);
      const c = await client5(broker);
      c.sendBytes(publish5Bytes({
        topic: [0xef, 0xbb, 0xbf, ...new TextEncoder().encode("bom/t")],
        payload: "x",
        properties: props(userProp([0xef, 0xbb, 0xbf, 0x6b], [0x76, 0xef, 0xbb, 0xbf])),
      }));
      const p = publishParts(await tap.waitFor(3));
      assert.deepEqual([...p.topicBytes.subarray(0, 3)], [0xef, 0xbb, 0xbf]);
      assert.deepEqual(p.properties.map((x) => x.value), [["\uFEFFk", "v\uFEFF"]]);
      assert.equal((await bomOnly.expect("publish")).topic, "\uFEFFbom/t");
      assert.deepEqual(await plain.collect(30), [], "bom/t without the BOM is another topic");
    });
  });

  it("MQTT-1.5.5-1 (5.0) every Variable Byte Integer the broker writes uses the fewest bytes", async () => {
    await withBroker(async (broker) => {
      const tap = new Tap5(broker);
      await tap.connect();
      const ids = [1, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152, 268_435_455];
      for (const [i, id] of ids.entries()) {
        tap.send({
          cmd: "subscribe",
          messageId: i + 1,
          properties: { subscriptionIdentifier: id },
          subscriptions: [{ topic: `vbi/${i}/#`, qos: 0, nl: false, rap: false, rh: 0 }],
        });
      }
      for (let i = 0; i < ids.length; i++) await tap.waitFor(9);
      // Payload sizes around the 1/2/3-byte Remaining Length boundaries.
      const sizes = [0, 100, 117, 118, 127, 200, 16_300, 16_384, 20_000];
      for (const [i, size] of sizes.entries()) {
        await broker.publish(`vbi/${i % ids.length}/t`, new Uint8Array(size), { qos: 0 });
      }
      await broker.publish("vbi/0/t", "m", {
        qos: 0,
        properties: { userProperties: [["k", "v".repeat(200)]] },
      });
      for (let i = 0; i <= sizes.length; i++) {
        const f = await tap.waitFor(3);
        const rl = readVarint(f.bytes, 1);
        assert.equal(rl.minimal, true, `Remaining Length ${rl.value} in ${rl.size} bytes`);
        const p = publishParts(f);
        assert.equal(p.propertyLengthMinimal, true, "Property Length in the fewest bytes");
        for (const prop of p.properties.filter((x) => x.id === 0x0b)) {
          assert.equal(prop.minimal, true, `Subscription Identifier ${prop.value} in the fewest bytes`);
        }
      }
    });
  });

  it("MQTT-1.5.7-1 (5.0) a User Property name or value that is not valid UTF-8 is malformed: DISCONNECT 0x81", async () => {
    await withBroker(async (broker) => {
      const pairs: Array<[string | number[], string | number[]]> = [[[0xff], "v"], ["k", [0xc3, 0x28]]];
      for (const [k, v] of pairs) {
        const c = await client5(broker);
        c.sendBytes(publish5Bytes({ topic: "a/b", payload: "x", properties: props(userProp(k, v)) }));
        await expectDisconnect(c, 0x81);
      }
      const s = await client5(broker);
      s.sendBytes(frame(0x82, u16(1), props(userProp("k", [0xed, 0xbf, 0xbf])), str("f/#"), [0]));
      await expectDisconnect(s, 0x81);
    });
  });

  it("MQTT-1.5.7-1 (5.0) the String Pairs the broker forwards are valid UTF-8", async () => {
    await withBroker(async (broker) => {
      const tap = await tapSubscriber(broker, "sp/#", 0);
      const c = await client5(broker);
      c.sendBytes(
        publish5Bytes({ topic: "sp/t", payload: "x", properties: props(userProp("ключ😀", "€ü")) }),
      );
      const p = publishParts(await tap.waitFor(3)); // readProperties decodes strictly: ill-formed UTF-8 throws
      assert.deepEqual(p.properties.map((x) => x.value), [["ключ😀", "€ü"]]);
    });
  });
});

describe("conformance 5.0 2.1.3 fixed-header flags", () => {
  it("MQTT-2.1.3-1 (5.0) every packet the broker sends has the reserved flags of the table", async () => {
    await withBroker(async (broker) => {
      const tap = new Tap5(broker);
      const seen = new Map<number, number>();
      const note = (f: { type: number; flags: number }) => seen.set(f.type, f.flags);
      note(await tap.connect({ clientId: "flags" }));
      tap.send({
        cmd: "subscribe",
        messageId: 1,
        subscriptions: [{ topic: "fl/#", qos: 2, nl: false, rap: false, rh: 0 }],
      });
      note(await tap.waitFor(9));
      tap.send({ cmd: "publish", topic: "x/1", payload: Buffer.from("x"), qos: 1, messageId: 2 });
      note(await tap.waitFor(4));
      tap.send({ cmd: "publish", topic: "x/2", payload: Buffer.from("x"), qos: 2, messageId: 3 });
      note(await tap.waitFor(5));
      tap.send({ cmd: "pubrel", messageId: 3 });
      note(await tap.waitFor(7));
      await broker.publish("fl/t", "x", { qos: 2 });
      const pub = publishParts(await tap.waitFor(3));
      tap.send({ cmd: "pubrec", messageId: pub.packetId });
      note(await tap.waitFor(6));
      tap.send({ cmd: "unsubscribe", messageId: 4, unsubscriptions: ["fl/#"] });
      note(await tap.waitFor(11));
      tap.send({ cmd: "pingreq" });
      note(await tap.waitFor(13));
      const closing = broker.close();
      note(await tap.waitFor(14));
      await closing;
      assert.deepEqual(
        Object.fromEntries(seen),
        { 2: 0, 4: 0, 5: 0, 6: 2, 7: 0, 9: 0, 11: 0, 13: 0, 14: 0 },
      );
    });
  });

  for (
    const [name, bytes] of [
      ["PUBACK with flags 0001", [0x41, 2, 0, 1]],
      ["PUBCOMP with flags 1000", [0x78, 2, 0, 1]],
      ["SUBSCRIBE with flags 0000", frame(0x80, u16(1), props(), str("a"), [0])],
      ["UNSUBSCRIBE with flags 0011", frame(0xa3, u16(1), props(), str("a"))],
      ["PINGREQ with flags 0100", [0xc4, 0]],
      ["DISCONNECT with flags 0001", [0xe1, 0]],
    ] as const
  ) {
    it(`MQTT-2.1.3-1 (5.0) a ${name} is malformed: DISCONNECT 0x81`, async () => {
      await withBroker(async (broker) => {
        const c = await client5(broker);
        c.sendBytes([...bytes]);
        await expectDisconnect(c, 0x81);
      });
    });
  }
});

describe("conformance 5.0 2.2 packet identifier and properties", () => {
  it("MQTT-2.2.1-2 (5.0) a QoS 0 PUBLISH the broker sends has no Packet Identifier", async () => {
    await withBroker(async (broker) => {
      const tap = await tapSubscriber(broker, "np/#", 0);
      const pub = await client5(broker);
      pub.publish("np/t", "AB", { qos: 2, messageId: 77 });
      await pub.expect("pubrec");
      const f = await tap.waitFor(3);
      // Topic (2 + 4 bytes), Property Length 0, payload "AB": nothing in between.
      assert.deepEqual([...f.body], [...str("np/t"), 0, 0x41, 0x42]);
    });
  });

  for (
    const [name, bytes] of [
      ["a QoS 1 PUBLISH", publish5Bytes({ topic: "z/t", qos: 1, packetId: 0, payload: "x" })],
      ["a QoS 2 PUBLISH", publish5Bytes({ topic: "z/t", qos: 2, packetId: 0, payload: "x" })],
      ["a SUBSCRIBE", frame(0x82, u16(0), props(), str("z/#"), [0])],
      ["an UNSUBSCRIBE", frame(0xa2, u16(0), props(), str("z/#"))],
    ] as const
  ) {
    it(`MQTT-2.2.1-3 (5.0) ${name} with Packet Identifier 0 is refused: DISCONNECT 0x82`, async () => {
      await withBroker(async (broker) => {
        const watcher = await subscriber5(broker, "z/#", 0);
        const c = await client5(broker);
        c.sendBytes([...bytes]);
        await expectDisconnect(c, 0x82);
        assert.deepEqual(await watcher.collect(30), []);
      });
    });
  }

  it("MQTT-2.2.1-4 (5.0) each new QoS 1/2 PUBLISH the broker sends has a non-zero id not in use", async () => {
    await withBroker(async (broker) => {
      const s = await subscriber5(broker, "pid/#", 2);
      const inUse = new Map<number, number>();
      let sent = 0;
      for (let round = 0; round < 5; round++) {
        for (let i = 0; i < 8; i++) {
          await broker.publish("pid/t", `${sent++}`, { qos: (1 + (i % 2)) as 1 | 2 });
        }
        for (let i = 0; i < 8; i++) {
          const m = await s.expect("publish");
          assert.ok(m.messageId > 0 && m.messageId <= 65_535);
          assert.equal(inUse.has(m.messageId), false, `id ${m.messageId} reused while in flight`);
          inUse.set(m.messageId, m.qos);
        }
        // Complete half of them, leave the rest in flight.
        for (const [id, qos] of [...inUse].slice(0, 4)) {
          if (qos === 1) s.send({ cmd: "puback", messageId: id });
          else {
            s.send({ cmd: "pubrec", messageId: id });
            await s.expect("pubrel");
            s.send({ cmd: "pubcomp", messageId: id });
          }
          inUse.delete(id);
        }
        await until(() => broker.inflightCount === inUse.size, 1000, "acks to land");
      }
    });
  });

  it("MQTT-2.2.1-5 (5.0) PUBACK, PUBREC, PUBREL and PUBCOMP carry the Packet Identifier of their PUBLISH", async () => {
    await withBroker(async (broker) => {
      const s = await subscriber5(broker, "ack/#", 2);
      const c = await client5(broker);
      c.publish("ack/1", "x", { qos: 1, messageId: 258 });
      assert.equal((await c.expect("puback")).messageId, 258);
      c.publish("ack/2", "x", { qos: 2, messageId: 65_535 });
      assert.equal((await c.expect("pubrec")).messageId, 65_535);
      c.send({ cmd: "pubrel", messageId: 65_535 });
      assert.equal((await c.expect("pubcomp")).messageId, 65_535);
      await s.expect("publish");
      const m = await s.expect("publish");
      s.send({ cmd: "pubrec", messageId: m.messageId });
      assert.equal((await s.expect("pubrel")).messageId, m.messageId);
    });
  });

  it("MQTT-2.2.1-6 (5.0) SUBACK and UNSUBACK carry the Packet Identifier of their request", async () => {
    await withBroker(async (broker) => {
      const c = await client5(broker);
      for (const id of [1, 256, 65_535]) {
        c.send({
          cmd: "subscribe",
          messageId: id,
          subscriptions: [{ topic: `p/${id}`, qos: 1, nl: false, rap: false, rh: 0 }],
        });
        assert.equal((await c.expect("suback")).messageId, id);
        c.send({ cmd: "unsubscribe", messageId: id, unsubscriptions: [`p/${id}`, "never/subscribed"] });
        assert.equal((await c.expect("unsuback")).messageId, id);
      }
    });
  });

  it("MQTT-2.2.2-1 (5.0) SUBACK, UNSUBACK and PUBLISH without properties still carry Property Length 0", async () => {
    await withBroker(async (broker) => {
      const tap = new Tap5(broker);
      await tap.connect();
      tap.send({
        cmd: "subscribe",
        messageId: 5,
        subscriptions: [{ topic: "pl/#", qos: 1, nl: false, rap: false, rh: 0 }],
      });
      const suback = await tap.waitFor(9);
      assert.deepEqual([...suback.body], [0, 5, 0, 1]);
      await broker.publish("pl/t", "x", { qos: 1 });
      const pub = await tap.waitFor(3);
      const parts = publishParts(pub);
      assert.deepEqual(parts.properties, []);
      assert.equal(pub.body[2 + 4 + 2], 0, "Property Length byte after topic and packet id");
      tap.send({ cmd: "unsubscribe", messageId: 6, unsubscriptions: ["pl/#"] });
      const unsuback = await tap.waitFor(11);
      assert.deepEqual([...unsuback.body], [0, 6, 0, 0]);
      const { properties } = readProperties(suback.body, 2);
      assert.deepEqual(properties, []);
      assert.equal(decode5(unsuback).messageId, 6);
    });
  });
});
