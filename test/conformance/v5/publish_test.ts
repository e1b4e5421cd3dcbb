/**
 * Conformance, MQTT 5.0: PUBLISH (section 3.3): flags, retained messages and subscription options, topic names and
 * aliases, message expiry, the properties a subscriber receives, and the PUBLISH actions (QoS, Subscription
 * Identifiers, Receive Maximum). Test names carry "(5.0)" after the id.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../../../src/clock.ts";
import { packetFixture } from "../../fixtures/packets.ts";
import { RawClient } from "../../_helpers/raw_client.ts";
import {
  client5,
  drop,
  expectDisconnect,
  propertyValues,
  props,
  publish5Bytes,
  publishParts,
  str,
  subscribe5,
  subscriber5,
  Tap5,
  tapSubscriber,
  u16,
  userProp,
  withBroker,
  withTcpBroker,
} from "./_v5.ts";

const utf8 = new TextDecoder();

describe("conformance 5.0 3.3.1 PUBLISH fixed header", () => {
  it("MQTT-3.3.1-1 (5.0) a re-delivered PUBLISH has DUP 1 and its original packet id", async () => {
    await withBroker(async (broker) => {
      const a = await subscriber5(broker, "dup/#", 2, {
        clientId: "dup1",
        properties: { sessionExpiryInterval: 60 },
      });
      await broker.publish("dup/1", "one", { qos: 1 });
      await broker.publish("dup/2", "two", { qos: 2 });
      const m1 = await a.expect("publish");
      const m2 = await a.expect("publish");
      assert.deepEqual([m1.dup, m2.dup], [false, false]);
      await drop(broker, a, "dup1");
      const b = RawClient.memory(broker, 5);
      await b.connect({ clientId: "dup1", clean: false });
      const r1 = await b.expect("publish");
      const r2 = await b.expect("publish");
      assert.deepEqual([r1.dup, r1.messageId, r1.topic], [true, m1.messageId, "dup/1"]);
      assert.deepEqual([r2.dup, r2.messageId, r2.topic], [true, m2.messageId, "dup/2"]);
    });
  });

  it("MQTT-3.3.1-2 (5.0) every QoS 0 PUBLISH goes out with DUP 0", async () => {
    await withBroker(async (broker) => {
      const tap = await tapSubscriber(broker, "d0/#", 0);
      const pub = await client5(broker);
      pub.publish("d0/t", "x", { qos: 2, messageId: 3, dup: true });
      await pub.expect("pubrec");
      pub.publish("d0/r", "kept", { qos: 1, messageId: 4, dup: true, retain: true });
      await pub.expect("puback");
      const f1 = await tap.waitFor(3);
      const f2 = await tap.waitFor(3);
      assert.equal(f1.flags & 0x08, 0);
      assert.equal(f2.flags & 0x08, 0);
      // A retained QoS 0 copy sent at subscribe time as well.
      tap.send({
        cmd: "subscribe",
        messageId: 2,
        subscriptions: [{ topic: "d0/r", qos: 0, nl: false, rap: false, rh: 0 }],
      });
      await tap.waitFor(9);
      const f3 = await tap.waitFor(3);
      assert.equal(f3.flags, 0x01, "QoS 0, RETAIN 1, DUP 0");
    });
  });

  it("MQTT-3.3.1-3 (5.0) the outgoing DUP is the broker's own: a DUP=1 PUBLISH is forwarded with DUP 0", async () => {
    await withBroker(async (broker) => {
      const tap = await tapSubscriber(broker, "d1/#", 1);
      const pub = await client5(broker);
      pub.publish("d1/t", "x", { qos: 1, messageId: 9, dup: true });
      await pub.expect("puback");
      const f = await tap.waitFor(3);
      assert.equal(f.flags, 0x02, "QoS 1, DUP 0, RETAIN 0");
    });
  });

  it("MQTT-3.3.1-2 (5.0) a QoS 0 PUBLISH with DUP 1 from a client is a Protocol Error: DISCONNECT 0x82", async () => {
    await withBroker(async (broker) => {
      const watcher = await subscriber5(broker, "a/#", 0);
      const c = await client5(broker);
      c.sendBytes([0x38, 0x06, 0x00, 0x03, 0x61, 0x2f, 0x62, 0x00]); // QoS 0, DUP 1, "a/b", no properties
      await expectDisconnect(c, 0x82);
      assert.deepEqual(await watcher.collect(30), []);
    });
  });

  it("MQTT-3.3.1-4 (5.0) a PUBLISH with both QoS bits set is malformed: DISCONNECT 0x81", async () => {
    await withBroker(async (broker) => {
      const watcher = await subscriber5(broker, "a/#", 0);
      const c = await client5(broker);
      c.sendBytes(packetFixture("publish.v5.qos3").bytes);
      await expectDisconnect(c, 0x81);
      assert.deepEqual(await watcher.collect(30), []);
    });
  });

  it("MQTT-3.3.1-5 (5.0) RETAIN=1 replaces the topic's retained message and its QoS", async () => {
    await withBroker(async (broker) => {
      const pub = await client5(broker);
      pub.publish("rr/t", "one", { qos: 2, messageId: 1, retain: true });
      await pub.expect("pubrec");
      pub.publish("rr/t", "two", { qos: 1, messageId: 2, retain: true });
      await pub.expect("puback");
      const late = await client5(broker);
      await subscribe5(late, [["rr/t", 2]]);
      const m = await late.expect("publish");
      assert.deepEqual([m.payload.toString(), m.qos, m.retain], ["two", 1, true]);
      assert.deepEqual(await late.collect(30), [], "only the newest one");
    });
  });

  it("MQTT-3.3.1-6 (5.0) RETAIN=1 with an empty payload is delivered normally and deletes the retained message", async () => {
    await withBroker(async (broker) => {
      const pub = await client5(broker);
      pub.publish("re/t", "old", { qos: 1, messageId: 1, retain: true });
      await pub.expect("puback");
      const live = await subscriber5(broker, "re/#", 1, {}, { rh: 2 });
      pub.publish("re/t", "", { qos: 1, messageId: 2, retain: true });
      await pub.expect("puback");
      const m = await live.expect("publish");
      assert.equal(m.payload.length, 0);
      assert.equal(broker.getRetained("re/t"), undefined);
      const late = await client5(broker);
      await subscribe5(late, [["re/t", 1]]);
      assert.deepEqual(await late.collect(30), []);
    });
  });

  it("MQTT-3.3.1-7 (5.0) a zero-byte retained payload is never stored", async () => {
    await withBroker(async (broker) => {
      const pub = await client5(broker);
      const before = broker.retainedCount;
      pub.publish("rz/t", "", { qos: 1, messageId: 1, retain: true });
      await pub.expect("puback");
      assert.equal(broker.getRetained("rz/t"), undefined);
      assert.equal(broker.retainedCount, before);
      const late = await client5(broker);
      await subscribe5(late, [["rz/#", 1]]);
      assert.deepEqual(await late.collect(30), []);
    });
  });

  it("MQTT-3.3.1-8 (5.0) RETAIN=0 is not retained and leaves the existing retained message as it is", async () => {
    await withBroker(async (broker) => {
      const pub = await client5(broker);
      pub.publish("rn/t", "kept", { qos: 1, messageId: 1, retain: true });
      await pub.expect("puback");
      pub.publish("rn/t", "passing", { qos: 1, messageId: 2, retain: false });
      await pub.expect("puback");
      pub.publish("rn/u", "never", { qos: 1, messageId: 3, retain: false });
      await pub.expect("puback");
      const late = await client5(broker);
      await subscribe5(late, [["rn/#", 1]]);
      const m = await late.expect("publish");
      assert.equal(m.payload.toString(), "kept");
      assert.deepEqual(await late.collect(30), []);
    });
  });

  it("MQTT-3.3.1-9 (5.0) Retain Handling 0 sends the retained messages at every subscribe", async () => {
    await withBroker(async (broker) => {
      await broker.publish("h0/t", "r", { qos: 0, retain: true });
      const c = await client5(broker);
      await subscribe5(c, [["h0/#", 0, { rh: 0 }]]);
      assert.equal((await c.expect("publish")).payload.toString(), "r");
      await subscribe5(c, [["h0/#", 0, { rh: 0 }]], { messageId: 2 });
      assert.equal(
        (await c.expect("publish")).payload.toString(),
        "r",
        "again for the replaced subscription",
      );
    });
  });

  it("MQTT-3.3.1-10 (5.0) Retain Handling 1 sends retained messages only when the subscription is new", async () => {
    await withBroker(async (broker) => {
      await broker.publish("h1/t", "r", { qos: 0, retain: true });
      const c = await client5(broker);
      await subscribe5(c, [["h1/#", 0, { rh: 1 }]]);
      assert.equal((await c.expect("publish")).payload.toString(), "r");
      await subscribe5(c, [["h1/#", 1, { rh: 1 }]], { messageId: 2 });
      assert.deepEqual(await c.collect(40), [], "not for an existing subscription");
    });
  });

  it("MQTT-3.3.1-11 (5.0) Retain Handling 2 sends no retained messages at subscribe time", async () => {
    await withBroker(async (broker) => {
      await broker.publish("h2/t", "r", { qos: 0, retain: true });
      const c = await client5(broker);
      await subscribe5(c, [["h2/#", 0, { rh: 2 }]]);
      assert.deepEqual(await c.collect(40), []);
      await broker.publish("h2/t", "live", { qos: 0 });
      assert.equal((await c.expect("publish")).payload.toString(), "live", "the subscription works");
    });
  });

  it("MQTT-3.3.1-12 (5.0) Retain As Published 0 forwards with RETAIN 0", async () => {
    await withBroker(async (broker) => {
      const tap = await tapSubscriber(broker, "ra0/#", 0);
      const pub = await client5(broker);
      pub.publish("ra0/t", "x", { qos: 0, retain: true });
      const f = await tap.waitFor(3);
      assert.equal(f.flags & 0x01, 0);
    });
  });

  it("MQTT-3.3.1-13 (5.0) Retain As Published 1 forwards the RETAIN flag as received", async () => {
    await withBroker(async (broker) => {
      const c = await subscriber5(broker, "ra1/#", 0, {}, { rap: true });
      const pub = await client5(broker);
      pub.publish("ra1/t", "kept", { qos: 0, retain: true });
      pub.publish("ra1/t", "plain", { qos: 0, retain: false });
      const m1 = await c.expect("publish");
      const m2 = await c.expect("publish");
      assert.deepEqual([m1.payload.toString(), m1.retain], ["kept", true]);
      assert.deepEqual([m2.payload.toString(), m2.retain], ["plain", false]);
    });
  });
});

describe("conformance 5.0 3.3.2 PUBLISH variable header", () => {
  it("MQTT-3.3.2-1 (5.0) a Topic Name that is not valid UTF-8 is malformed: DISCONNECT 0x81", async () => {
    await withBroker(async (broker) => {
      const c = await client5(broker);
      c.sendBytes(publish5Bytes({ topic: [0x61, 0x2f, 0xc3], payload: "x" }));
      await expectDisconnect(c, 0x81);
    });
  });

  it("MQTT-3.3.2-1 (5.0) the forwarded Topic Name comes first, as a UTF-8 Encoded String", async () => {
    await withBroker(async (broker) => {
      const tap = await tapSubscriber(broker, "#", 0);
      const pub = await client5(broker);
      const topic = "température/ü/€/😀";
      pub.publish(topic, "x", { qos: 0 });
      const f = await tap.waitFor(3);
      const expected = [...str(topic)];
      assert.deepEqual([...f.body.subarray(0, expected.length)], expected);
    });
  });

  for (const topic of ["wc/+", "wc/#", "+", "wc/a+b"]) {
    it(`MQTT-3.3.2-2 (5.0) a Topic Name with a wildcard ("${topic}") is refused: DISCONNECT 0x90, not delivered`, async () => {
      await withBroker(async (broker) => {
        const watcher = await subscriber5(broker, "#", 0);
        const c = await client5(broker);
        c.publish(topic, "x", { qos: 1, messageId: 1 });
        await expectDisconnect(c, 0x90);
        assert.deepEqual(await watcher.collect(30), []);
      });
    });
  }

  it("MQTT-3.3.2-3 (5.0) the forwarded Topic Name matches the filter, also when the publisher used a Topic Alias", async () => {
    await withBroker(async (broker) => {
      const s = await subscriber5(broker, "m/+/c", 0);
      const pub = await client5(broker);
      pub.publish("m/b/c", "1", { qos: 0, properties: { topicAlias: 1 } });
      pub.publish("", "2", { qos: 0, properties: { topicAlias: 1 } });
      const a = await s.expect("publish");
      const b = await s.expect("publish");
      assert.deepEqual([a.topic, b.topic], ["m/b/c", "m/b/c"]);
      assert.equal(b.properties?.topicAlias, undefined, "the publisher's alias is not forwarded");
    });
  });

  it("MQTT-3.3.2-4 (5.0) the Payload Format Indicator is forwarded unchanged (1 and 0)", async () => {
    await withBroker(async (broker) => {
      const tap = await tapSubscriber(broker, "pf/#", 0);
      const pub = await client5(broker);
      pub.sendBytes(publish5Bytes({ topic: "pf/1", payload: "text", properties: props([0x01, 1]) }));
      pub.sendBytes(publish5Bytes({ topic: "pf/0", payload: [0xff, 0x00], properties: props([0x01, 0]) }));
      const p1 = publishParts(await tap.waitFor(3));
      const p0 = publishParts(await tap.waitFor(3));
      assert.deepEqual(propertyValues(p1.properties, 0x01), [1]);
      assert.deepEqual(propertyValues(p0.properties, 0x01), [0]);
      assert.deepEqual([...p0.payload], [0xff, 0x00]);
    });
  });

  it("MQTT-3.3.2-5 (5.0) a copy whose Message Expiry Interval ran out while queued is not delivered", async () => {
    const clock = new FakeClock();
    await withBroker(async (broker) => {
      const s = await subscriber5(broker, "ex/#", 1, {
        clientId: "ex5",
        properties: { sessionExpiryInterval: 600 },
      });
      await drop(broker, s, "ex5");
      const pub = await client5(broker);
      pub.publish("ex/short", "gone", { qos: 1, messageId: 1, properties: { messageExpiryInterval: 2 } });
      await pub.expect("puback");
      pub.publish("ex/long", "kept", { qos: 1, messageId: 2, properties: { messageExpiryInterval: 100 } });
      await pub.expect("puback");
      const dropped = broker.stats.dropped.expired;
      clock.advance(3_000);
      const back = RawClient.memory(broker, 5);
      await back.connect({ clientId: "ex5", clean: false, properties: { sessionExpiryInterval: 600 } });
      const m = await back.expect("publish");
      assert.equal(m.topic, "ex/long");
      assert.deepEqual(await back.collect(40), []);
      assert.equal(broker.stats.dropped.expired, dropped + 1);
    }, { clock });
  });

  it("MQTT-3.3.2-5 (5.0) a copy that expires while waiting for the client's Receive Maximum window is not delivered", async () => {
    const clock = new FakeClock();
    await withBroker(async (broker) => {
      const s = await subscriber5(broker, "ew/#", 1, { properties: { receiveMaximum: 1 } });
      const pub = await client5(broker);
      pub.publish("ew/1", "first", { qos: 1, messageId: 1 });
      pub.publish("ew/2", "expires", { qos: 1, messageId: 2, properties: { messageExpiryInterval: 1 } });
      pub.publish("ew/3", "third", { qos: 1, messageId: 3 });
      for (let i = 0; i < 3; i++) await pub.expect("puback");
      const m1 = await s.expect("publish");
      assert.equal(m1.topic, "ew/1");
      clock.advance(2_000);
      s.send({ cmd: "puback", messageId: m1.messageId });
      const next = await s.expect("publish");
      assert.equal(next.topic, "ew/3");
    }, { clock });
  });

  it("MQTT-3.3.2-5 (5.0) an expired retained message is not sent to a new subscriber", async () => {
    const clock = new FakeClock();
    await withBroker(async (broker) => {
      const pub = await client5(broker);
      pub.publish("er/t", "r", {
        qos: 1,
        messageId: 1,
        retain: true,
        properties: { messageExpiryInterval: 2 },
      });
      await pub.expect("puback");
      clock.advance(2_500);
      const late = await client5(broker);
      await subscribe5(late, [["er/#", 1]]);
      assert.deepEqual(await late.collect(40), []);
    }, { clock });
  });

  it("MQTT-3.3.2-6 (5.0) the Message Expiry Interval is reduced by the time spent in the broker", async () => {
    const clock = new FakeClock();
    await withBroker(async (broker) => {
      const live = await subscriber5(broker, "mx/#", 1);
      const s = await subscriber5(broker, "mx/#", 1, {
        clientId: "mx",
        properties: { sessionExpiryInterval: 600 },
      });
      await drop(broker, s, "mx");
      const pub = await client5(broker);
      pub.publish("mx/t", "x", { qos: 1, messageId: 1, properties: { messageExpiryInterval: 10 } });
      await pub.expect("puback");
      const now = await live.expect("publish");
      assert.equal(now.properties?.messageExpiryInterval, 10, "no time spent yet");
      clock.advance(4_000);
      const back = RawClient.memory(broker, 5);
      await back.connect({ clientId: "mx", clean: false, properties: { sessionExpiryInterval: 600 } });
      const m = await back.expect("publish");
      assert.equal(m.properties?.messageExpiryInterval, 6);
    }, { clock });
  });

  it("MQTT-3.3.2-6 (5.0) a retained message carries its remaining Message Expiry Interval", async () => {
    const clock = new FakeClock();
    await withBroker(async (broker) => {
      const pub = await client5(broker);
      pub.publish("mr/t", "r", { qos: 0, retain: true, properties: { messageExpiryInterval: 30 } });
      await new Promise((r) => setTimeout(r, 10));
      clock.advance(12_000);
      const late = await client5(broker);
      await subscribe5(late, [["mr/t", 0]]);
      const m = await late.expect("publish");
      assert.equal(m.properties?.messageExpiryInterval, 18);
    }, { clock });
  });

  it("MQTT-3.3.2-7 (5.0) inbound Topic Alias mappings end with the network connection", async () => {
    await withBroker(async (broker) => {
      const watcher = await subscriber5(broker, "al/#", 0);
      const a = await client5(broker, { clientId: "alias7", properties: { sessionExpiryInterval: 60 } });
      a.publish("al/t", "1", { qos: 0, properties: { topicAlias: 1 } });
      assert.equal((await watcher.expect("publish")).topic, "al/t");
      await drop(broker, a, "alias7");
      const b = await client5(broker, { clientId: "alias7", clean: false });
      b.publish("", "2", { qos: 0, properties: { topicAlias: 1 } });
      await expectDisconnect(b, 0x82);
      assert.deepEqual(await watcher.collect(30), []);
    });
  });

  it("MQTT-3.3.2-7 (5.0) outbound Topic Alias mappings are set up again on a new connection", async () => {
    await withBroker(async (broker) => {
      const a = await subscriber5(broker, "ao/#", 0, {
        clientId: "alias7o",
        properties: { sessionExpiryInterval: 60, topicAliasMaximum: 5 },
      });
      await broker.publish("ao/t", "1");
      await broker.publish("ao/t", "2");
      const m1 = await a.expect("publish");
      const m2 = await a.expect("publish");
      assert.equal(m1.topic, "ao/t");
      assert.equal(m2.topic, "", "the alias is used on the same connection");
      await drop(broker, a, "alias7o");
      const b = await client5(broker, {
        clientId: "alias7o",
        clean: false,
        properties: { topicAliasMaximum: 5 },
      });
      await broker.publish("ao/t", "3");
      const m3 = await b.expect("publish");
      assert.equal(m3.topic, "ao/t", "the new connection gets the topic name again");
    });
  });

  it("MQTT-3.3.2-8 (5.0) an inbound Topic Alias of 0 is a Protocol Error: DISCONNECT (0x82 or 0x94)", async () => {
    await withBroker(async (broker) => {
      const c = await client5(broker);
      c.sendBytes(packetFixture("publish.v5.protocolError.topicAliasZero").bytes);
      const d = await c.expect("disconnect");
      assert.ok([0x82, 0x94].includes(d.reasonCode), `0x${d.reasonCode.toString(16)}`);
      assert.equal(await c.waitClosed(), true);
    });
  });

  it("MQTT-3.3.2-8 (5.0) the broker never sends Topic Alias 0", async () => {
    await withBroker(async (broker) => {
      const tap = await tapSubscriber(broker, "az/#", 0, { properties: { topicAliasMaximum: 3 } });
      for (let i = 0; i < 6; i++) await broker.publish(`az/${i % 4}`, "x");
      let used = 0;
      for (let i = 0; i < 6; i++) {
        const aliases = propertyValues(publishParts(await tap.waitFor(3)).properties, 0x23) as number[];
        assert.ok(aliases.length <= 1, `message ${i}: at most one alias`);
        for (const a of aliases) assert.ok(a !== 0, `message ${i}: alias 0`);
        used += aliases.length;
      }
      assert.ok(used > 0, "precondition: the broker uses aliases toward this client");
    });
  });

  it("MQTT-3.3.2-9 (5.0) a Topic Alias above the server's Topic Alias Maximum: DISCONNECT 0x94", async () => {
    await withBroker(async (broker) => {
      const c = await client5(broker);
      c.publish("big/alias", "x", { qos: 1, messageId: 1, properties: { topicAlias: 3 } });
      await expectDisconnect(c, 0x94);
    }, { limits: { topicAliasMaximum: 2 } });
  });

  it("MQTT-3.3.2-11 (5.0) with Topic Alias Maximum 1 only alias 1 is ever sent", async () => {
    await withBroker(async (broker) => {
      const tap = await tapSubscriber(broker, "a1/#", 0, { properties: { topicAliasMaximum: 1 } });
      const topics = ["a1/x", "a1/y", "a1/x", "a1/z", "a1/x"];
      for (const t of topics) await broker.publish(t, t);
      for (const t of topics) {
        const p = publishParts(await tap.waitFor(3));
        const aliases = propertyValues(p.properties, 0x23) as number[];
        assert.ok(aliases.every((a) => a === 1), `aliases ${aliases}`);
        assert.equal(utf8.decode(p.payload), t);
        if (p.topic !== "") assert.equal(p.topic, t);
        else assert.deepEqual(aliases, [1], "an empty topic comes with the alias");
      }
    });
  });

  it("MQTT-3.3.2-12 (5.0) every Topic Alias from 1 to the announced maximum is accepted", async () => {
    await withBroker(async (broker) => {
      const s = await subscriber5(broker, "am/#", 0);
      const c = RawClient.memory(broker, 5);
      const ack = await c.connect();
      const max = ack.properties?.topicAliasMaximum;
      assert.equal(max, 5);
      for (let a = 1; a <= max; a++) c.publish(`am/${a}`, "set", { qos: 0, properties: { topicAlias: a } });
      for (let a = max; a >= 1; a--) c.publish("", "use", { qos: 0, properties: { topicAlias: a } });
      const got: string[] = [];
      for (let i = 0; i < 2 * max; i++) got.push((await s.expect("publish")).topic);
      assert.deepEqual(got, ["am/1", "am/2", "am/3", "am/4", "am/5", "am/5", "am/4", "am/3", "am/2", "am/1"]);
      assert.equal(c.closed, false);
    }, { limits: { topicAliasMaximum: 5 } });
  });

  it("MQTT-3.3.2-12 MQTT-3.3.2-18 (5.0) over TCP: topic aliases in, properties out in order", async () => {
    await withTcpBroker(async (_broker, open) => {
      const s = await open();
      await s.connect();
      await subscribe5(s, [["tcp/#", 1]]);
      const c = await open();
      await c.connect();
      const userProperties = { b: "2", a: "1" };
      c.publish("tcp/t", "one", { qos: 1, messageId: 1, properties: { topicAlias: 1, userProperties } });
      c.publish("", "two", { qos: 1, messageId: 2, properties: { topicAlias: 1, contentType: "c/t" } });
      await c.expect("puback");
      await c.expect("puback");
      const m1 = await s.expect("publish");
      const m2 = await s.expect("publish");
      assert.deepEqual([m1.topic, m2.topic], ["tcp/t", "tcp/t"]);
      assert.deepEqual(Object.entries(m1.properties?.userProperties ?? {}), [["b", "2"], ["a", "1"]]);
      assert.equal(m2.properties?.contentType, "c/t");
    });
  });

  it("MQTT-3.3.2-13 (5.0) a Response Topic that is not valid UTF-8 is malformed: DISCONNECT 0x81", async () => {
    await withBroker(async (broker) => {
      const c = await client5(broker);
      c.sendBytes(packetFixture("publish.v5.utf8.responseTopic").bytes);
      await expectDisconnect(c, 0x81);
    });
  });

  it("MQTT-3.3.2-14 (5.0) a Response Topic with a wildcard is refused: DISCONNECT 0x82, not delivered", async () => {
    await withBroker(async (broker) => {
      const watcher = await subscriber5(broker, "rt/#", 0);
      const c = await client5(broker);
      c.publish("rt/t", "x", { qos: 1, messageId: 1, properties: { responseTopic: "reply/+" } });
      await expectDisconnect(c, 0x82);
      assert.deepEqual(await watcher.collect(30), []);
    });
  });

  it("MQTT-3.3.2-15 MQTT-3.3.2-16 MQTT-3.3.2-20 (5.0) Response Topic, Correlation Data and Content Type are forwarded unchanged", async () => {
    await withBroker(async (broker) => {
      const tap = await tapSubscriber(broker, "rr/#", 1);
      const other = await subscriber5(broker, "rr/#", 0);
      const pub = await client5(broker);
      const correlation = [0x00, 0xff, 0x10, 0x80, 0x00];
      pub.sendBytes(publish5Bytes({
        topic: "rr/q",
        qos: 1,
        packetId: 5,
        payload: "ask",
        properties: props([0x08, ...str("reply/é/1")], [0x09, ...u16(correlation.length), ...correlation], [
          0x03,
          ...str("application/x-thing; v=1"),
        ]),
      }));
      await pub.expect("puback");
      const p = publishParts(await tap.waitFor(3));
      assert.deepEqual(propertyValues(p.properties, 0x08), ["reply/é/1"]);
      assert.deepEqual((propertyValues(p.properties, 0x09) as Uint8Array[]).map((b) => [...b]), [
        correlation,
      ]);
      assert.deepEqual(propertyValues(p.properties, 0x03), ["application/x-thing; v=1"]);
      const m = await other.expect("publish");
      assert.equal(m.properties?.responseTopic, "reply/é/1");
      assert.deepEqual([...m.properties?.correlationData], correlation);
      assert.equal(m.properties?.contentType, "application/x-thing; v=1");
    });
  });

  it("MQTT-3.3.2-17 (5.0) every User Property is forwarded, repeated names and empty strings included", async () => {
    await withBroker(async (broker) => {
      const tap = await tapSubscriber(broker, "up/#", 0);
      const pub = await client5(broker);
      pub.sendBytes(publish5Bytes({
        topic: "up/t",
        payload: "x",
        properties: props(
          userProp("k", "v"),
          userProp("k", "v"),
          userProp("", ""),
          userProp("ключ", "значение"),
        ),
      }));
      const p = publishParts(await tap.waitFor(3));
      assert.deepEqual(propertyValues(p.properties, 0x26), [["k", "v"], ["k", "v"], ["", ""], [
        "ключ",
        "значение",
      ]]);
    });
  });

  it("MQTT-3.3.2-18 (5.0) User Properties keep their original order, interleaved names included", async () => {
    await withBroker(async (broker) => {
      const tap = await tapSubscriber(broker, "uo/#", 0);
      const tap2 = await tapSubscriber(broker, "uo/#", 1, { properties: { topicAliasMaximum: 4 } });
      const pub = await client5(broker);
      pub.sendBytes(publish5Bytes({
        topic: "uo/t",
        qos: 1,
        packetId: 1,
        payload: "x",
        properties: props(userProp("b", "2"), userProp("a", "1"), userProp("b", "3"), userProp("a", "0")),
      }));
      await pub.expect("puback");
      const expected = [["b", "2"], ["a", "1"], ["b", "3"], ["a", "0"]];
      assert.deepEqual(propertyValues(publishParts(await tap.waitFor(3)).properties, 0x26), expected);
      assert.deepEqual(propertyValues(publishParts(await tap2.waitFor(3)).properties, 0x26), expected);
    });
  });

  it("MQTT-3.3.2-19 (5.0) a Content Type that is not valid UTF-8 is malformed: DISCONNECT 0x81", async () => {
    await withBroker(async (broker) => {
      const c = await client5(broker);
      c.sendBytes(packetFixture("publish.v5.utf8.contentType").bytes);
      await expectDisconnect(c, 0x81);
    });
  });
});

describe("conformance 5.0 3.3.4 PUBLISH actions", () => {
  it("MQTT-3.3.4-1 (5.0) QoS 0 gets no answer, QoS 1 a PUBACK, QoS 2 a PUBREC", async () => {
    await withBroker(async (broker) => {
      await subscriber5(broker, "an/#", 2);
      const c = await client5(broker);
      c.publish("an/0", "x", { qos: 0 });
      c.send({ cmd: "pingreq" });
      assert.equal((await c.next()).cmd, "pingresp", "nothing answers QoS 0");
      c.publish("an/1", "x", { qos: 1, messageId: 11 });
      const a1 = await c.expect("puback");
      assert.deepEqual([a1.messageId, a1.reasonCode], [11, 0]);
      c.publish("an/2", "x", { qos: 2, messageId: 12 });
      const a2 = await c.expect("pubrec");
      assert.deepEqual([a2.messageId, a2.reasonCode], [12, 0]);
    });
  });

  it("MQTT-3.3.4-2 (5.0) overlapping subscriptions: one delivery at the highest granted QoS", async () => {
    await withBroker(async (broker) => {
      const c = await client5(broker);
      await subscribe5(c, [["ov/#", 0], ["ov/+", 2], ["ov/t", 1]]);
      await broker.publish("ov/t", "x", { qos: 2 });
      const m = await c.expect("publish");
      assert.equal(m.qos, 2);
      assert.deepEqual(await c.collect(30), [], "one copy");
    });
  });

  it("MQTT-3.3.4-3 (5.0) the delivered message carries the Subscription Identifiers of the overlapping subscriptions", async () => {
    await withBroker(async (broker) => {
      const c = await client5(broker);
      await subscribe5(c, [["si/#", 1]], { id: 1 });
      await subscribe5(c, [["si/+", 1]], { id: 2, messageId: 2 });
      await broker.publish("si/t", "x", { qos: 1 });
      const m = await c.expect("publish");
      const ids = [m.properties?.subscriptionIdentifier].flat().sort();
      assert.deepEqual(ids, [1, 2]);
    });
  });

  it("MQTT-3.3.4-4 (5.0) one copy carries the identifiers of every matching subscription that has one", async () => {
    await withBroker(async (broker) => {
      const tap = new Tap5(broker);
      await tap.connect();
      const sub = (messageId: number, topic: string, id?: number) =>
        tap.send({
          cmd: "subscribe",
          messageId,
          properties: id === undefined ? undefined : { subscriptionIdentifier: id },
          subscriptions: [{ topic, qos: 1, nl: false, rap: false, rh: 0 }],
        });
      sub(1, "s4/#", 20_000);
      sub(2, "s4/t");
      sub(3, "+/t", 7);
      for (let i = 0; i < 3; i++) await tap.waitFor(9);
      await broker.publish("s4/t", "x", { qos: 1 });
      const p = publishParts(await tap.waitFor(3));
      const ids = (propertyValues(p.properties, 0x0b) as number[]).sort((a, b) => a - b);
      assert.deepEqual(ids, [7, 20_000]);
      assert.deepEqual((await tap.collect(30)).filter((f) => f.type === 3), [], "one copy");
    });
  });

  it("MQTT-3.3.4-5 (5.0) separate copies (shared and non-shared match) each carry their own subscription's identifier", async () => {
    await withBroker(async (broker) => {
      const c = await client5(broker);
      await subscribe5(c, [["s5/t", 1]], { id: 1 });
      await subscribe5(c, [["$share/g/s5/t", 1]], { id: 2, messageId: 2 });
      await subscribe5(c, [["s5/none", 1]], { messageId: 3 });
      await broker.publish("s5/t", "x", { qos: 1 });
      const a = await c.expect("publish");
      const b = await c.expect("publish");
      const ids = [a, b].map((m) => [m.properties?.subscriptionIdentifier].flat()).sort();
      assert.deepEqual(ids, [[1], [2]]);
    });
  });

  it("MQTT-3.3.4-6 (5.0) a PUBLISH from a client carrying a Subscription Identifier: DISCONNECT 0x82", async () => {
    await withBroker(async (broker) => {
      const watcher = await subscriber5(broker, "a/#", 0);
      const c = await client5(broker);
      c.sendBytes(packetFixture("publish.v5.protocolError.subscriptionIdentifier").bytes);
      await expectDisconnect(c, 0x82);
      assert.deepEqual(await watcher.collect(30), []);
    });
  });

  it("MQTT-3.3.4-7 (5.0) more unacknowledged QoS 2 PUBLISH than the server's Receive Maximum: DISCONNECT 0x93", async () => {
    await withBroker(async (broker) => {
      const c = RawClient.memory(broker, 5);
      assert.equal((await c.connect()).properties?.receiveMaximum, 2);
      c.publish("rm/t", "1", { qos: 2, messageId: 1 });
      c.publish("rm/t", "2", { qos: 2, messageId: 2 });
      await c.expect("pubrec");
      await c.expect("pubrec");
      c.publish("rm/t", "3", { qos: 2, messageId: 3 });
      await expectDisconnect(c, 0x93);
    }, { limits: { receiveMaximum: 2 } });
  });

  it("MQTT-3.3.4-7 (5.0) within the server's Receive Maximum the flow goes on: a PUBCOMP frees a slot", async () => {
    await withBroker(async (broker) => {
      const c = await client5(broker);
      c.publish("rm/t", "1", { qos: 2, messageId: 1 });
      c.publish("rm/t", "2", { qos: 2, messageId: 2 });
      await c.expect("pubrec");
      await c.expect("pubrec");
      c.send({ cmd: "pubrel", messageId: 1 });
      await c.expect("pubcomp");
      c.publish("rm/t", "3", { qos: 2, messageId: 3 });
      assert.equal((await c.expect("pubrec")).messageId, 3);
    }, { limits: { receiveMaximum: 2 } });
  });

  it("MQTT-3.3.4-9 (5.0) never more unacknowledged QoS 1/2 PUBLISH toward a client than its Receive Maximum", async () => {
    await withBroker(async (broker) => {
      const s = await subscriber5(broker, "w/#", 2, { properties: { receiveMaximum: 2 } });
      for (let i = 0; i < 5; i++) await broker.publish(`w/${i}`, `${i}`, { qos: (1 + (i % 2)) as 1 | 2 });
      const first = [await s.expect("publish"), await s.expect("publish")];
      assert.deepEqual(await s.collect(40), [], "the window is full");
      s.send({ cmd: "puback", messageId: first[0].messageId });
      const third = await s.expect("publish");
      assert.equal(third.topic, "w/2");
      assert.deepEqual(await s.collect(40), []);
      s.send({ cmd: "pubrec", messageId: first[1].messageId });
      await s.expect("pubrel");
      assert.deepEqual(await s.collect(40), [], "a PUBREC does not free the slot, PUBCOMP does");
      s.send({ cmd: "pubcomp", messageId: first[1].messageId });
      assert.equal((await s.expect("publish")).topic, "w/3");
    });
  });

  it("MQTT-3.3.4-10 (5.0) with the Receive Maximum window full other packets still flow", async () => {
    await withBroker(async (broker) => {
      const s = await subscriber5(broker, "f/#", 1, { properties: { receiveMaximum: 1 } });
      await broker.publish("f/1", "1", { qos: 1 });
      await broker.publish("f/2", "2", { qos: 1 });
      const m1 = await s.expect("publish");
      s.send({ cmd: "pingreq" });
      await s.expect("pingresp");
      const ack = await subscribe5(s, [["g/#", 0]], { messageId: 7 });
      assert.equal(ack.messageId, 7);
      s.publish("h/x", "mine", { qos: 1, messageId: 3 });
      assert.equal((await s.expect("puback")).messageId, 3);
      s.publish("h/y", "mine", { qos: 2, messageId: 4 });
      assert.equal((await s.expect("pubrec")).messageId, 4);
      s.send({ cmd: "pubrel", messageId: 4 });
      assert.equal((await s.expect("pubcomp")).messageId, 4);
      s.send({ cmd: "unsubscribe", messageId: 8, unsubscriptions: ["g/#"] });
      assert.equal((await s.expect("unsuback")).messageId, 8);
      s.send({ cmd: "puback", messageId: m1.messageId });
      assert.equal((await s.expect("publish")).topic, "f/2");
    });
  });
});
