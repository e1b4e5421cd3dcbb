/**
 * Conformance, MQTT 5.0: topic names and filters (4.7), flow control (4.9) and handling errors (4.13), one test or
 * more per normative statement, named `MQTT-x.y.z-n (5.0)`.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { RawClient } from "../../_helpers/raw_client.ts";
import { testBroker, until } from "../../_helpers/broker.ts";
import { bystanders } from "../_wire.ts";
import {
  expectDisconnect,
  publishFrameV5,
  sleep,
  subscribeFrameV5,
  subscribeV5,
  unsubscribeV5,
  v5Client,
} from "./_v5_kit.ts";

/** Publish at QoS 1 and wait for the PUBACK; returns its reason code (0 when left out). */
async function publish1(c: RawClient, topic: string, payload: string, id: number): Promise<number> {
  c.publish(topic, payload, { qos: 1, messageId: id });
  const ack = await c.expect("puback");
  assert.equal(ack.messageId, id);
  return ack.reasonCode ?? 0;
}

describe("conformance 5.0 4.7 topic names and filters", () => {
  for (const topic of ["a/+/c", "a/#", "+", "#", "a+"]) {
    it(`MQTT-4.7.0-1 (5.0) a PUBLISH to "${topic}" (wildcard in a Topic Name) is refused: DISCONNECT, close`, async () => {
      const broker = testBroker();
      const watcher = await v5Client(broker);
      await subscribeV5(watcher, [["#", { qos: 1 }]]);
      const c = await v5Client(broker);
      c.publish(topic, "x", { qos: 1, messageId: 1 });
      const d = await c.expect("disconnect");
      assert.ok(
        [0x82, 0x90].includes(d.reasonCode),
        `0x${d.reasonCode.toString(16)}: Protocol Error or Topic Name invalid`,
      );
      assert.equal(await c.waitClosed(), true);
      assert.deepEqual(await watcher.collect(50), [], "not delivered");
      await broker.close();
    });
  }

  for (const filter of ["a/#/b", "a#", "#a", "a/b#", "##", "#/", "a/#/"]) {
    it(`MQTT-4.7.1-1 (5.0) "${filter}": '#' not alone in the last level is refused: SUBACK and UNSUBACK 0x8F`, async () => {
      const broker = testBroker();
      const c = await v5Client(broker);
      const ack = await subscribeV5(c, [["ok/#", { qos: 1 }], [filter, { qos: 1 }]]);
      assert.deepEqual(ack.granted, [1, 0x8f]);
      assert.deepEqual((await unsubscribeV5(c, [filter])).granted, [0x8f]);
      await broker.close();
    });
  }

  it("MQTT-4.7.1-1 (5.0) '#' alone or after '/' as the last level is accepted and matches the parent and all children", async () => {
    const broker = testBroker();
    const c = await v5Client(broker);
    const ack = await subscribeV5(c, [["#", {}], ["sp/#", {}], ["/#", {}]]);
    assert.deepEqual(ack.granted, [0, 0, 0]);
    await unsubscribeV5(c, ["#"]);
    const p = await v5Client(broker);
    for (const t of ["sp", "sp/a", "sp/a/b", "/x", "other"]) p.publish(t, t);
    const got: string[] = [];
    for (let i = 0; i < 4; i++) got.push((await c.expect("publish")).topic);
    assert.deepEqual(got, ["sp", "sp/a", "sp/a/b", "/x"]);
    assert.deepEqual(await c.collect(50), []);
    await broker.close();
  });

  for (const filter of ["a+", "+a", "a/+b", "++", "a/b+/c", "+#"]) {
    it(`MQTT-4.7.1-2 (5.0) "${filter}": '+' not filling a whole level is refused: SUBACK 0x8F`, async () => {
      const broker = testBroker();
      const c = await v5Client(broker);
      const ack = await subscribeV5(c, [[filter, { qos: 1 }]]);
      assert.deepEqual(ack.granted, [0x8f]);
      assert.equal(broker.subscriptionCount, 0);
      await broker.close();
    });
  }

  it("MQTT-4.7.1-2 (5.0) '+' filling whole levels is accepted and matches exactly one level (an empty one too)", async () => {
    const broker = testBroker();
    const c = await v5Client(broker);
    const ack = await subscribeV5(c, [["pl/+", {}], ["+/+/z", {}], ["pl2/+/b", {}]]);
    assert.deepEqual(ack.granted, [0, 0, 0]);
    const p = await v5Client(broker);
    for (const t of ["pl/a", "pl/a/b", "pl/", "y/x/z", "pl2//b", "pl2/a/b/c"]) p.publish(t, t);
    const got: string[] = [];
    for (let i = 0; i < 4; i++) got.push((await c.expect("publish")).topic);
    assert.deepEqual(got, ["pl/a", "pl/", "y/x/z", "pl2//b"]);
    assert.deepEqual(await c.collect(50), []);
    await broker.close();
  });

  it("MQTT-4.7.2-1 (5.0) filters starting with '#' or '+' do not match topics starting with '$'", async () => {
    const broker = testBroker();
    const wild = await v5Client(broker);
    await subscribeV5(wild, [["#", {}], ["+/info", {}], ["+/+", {}], ["+", {}]]);
    const dollar = await v5Client(broker);
    await subscribeV5(dollar, [["$app/#", {}], ["$app/+", {}]]);
    const p = await v5Client(broker);
    p.publish("$app/info", "hidden");
    p.publish("$app", "hidden too");
    p.publish("app/info", "visible");
    const m = await wild.expect("publish");
    assert.equal(m.topic, "app/info", "the first thing '#' gets is the non-$ topic");
    assert.deepEqual(await wild.collect(50), [], "one delivery for overlapping filters, no $ topics");
    const d = [await dollar.expect("publish"), await dollar.expect("publish")];
    assert.deepEqual(d.map((x) => x.topic), ["$app/info", "$app"], "a filter starting with $app matches");
    await broker.close();
  });

  it("MQTT-4.7.3-1 (5.0) a zero-length Topic Name without a Topic Alias is a Protocol Error: DISCONNECT 0x82", async () => {
    const broker = testBroker();
    const c = await v5Client(broker);
    c.sendBytes(publishFrameV5("", "x"));
    await expectDisconnect(c, 0x82);
    await broker.close();
  });

  it("MQTT-4.7.3-1 (5.0) a zero-length Topic Filter is refused: SUBACK and UNSUBACK 0x8F", async () => {
    const broker = testBroker();
    const c = await v5Client(broker);
    c.sendBytes(subscribeFrameV5(3, [["", 1], ["ok", 1]]));
    assert.deepEqual((await c.expect("suback")).granted, [0x8f, 1]);
    assert.deepEqual((await unsubscribeV5(c, [""])).granted, [0x8f]);
    assert.equal(broker.subscriptionCount, 1);
    await broker.close();
  });

  it("MQTT-4.7.3-2 (5.0) a Topic Name holding U+0000 is malformed: DISCONNECT 0x81, not delivered", async () => {
    const broker = testBroker();
    const watcher = await v5Client(broker);
    await subscribeV5(watcher, [["#", {}]]);
    const c = await v5Client(broker);
    c.sendBytes(publishFrameV5([0x61, 0x00, 0x62], "x"));
    await expectDisconnect(c, 0x81);
    assert.deepEqual(await watcher.collect(50), []);
    await broker.close();
  });

  it("MQTT-4.7.3-2 (5.0) a Topic Filter holding U+0000 is refused: closed, nothing subscribed", async () => {
    const broker = testBroker();
    const c = await v5Client(broker, {
      clientId: "nul",
      clean: false,
      properties: { sessionExpiryInterval: 60 },
    });
    c.sendBytes(subscribeFrameV5(3, [["ok", 0], [[0x61, 0x00], 0]]));
    await expectDisconnect(c, 0x81);
    assert.equal(broker.getSession("nul")!.subscriptions.size, 0);
    await broker.close();
  });

  it("MQTT-4.7.3-3 (5.0) a Topic Name and Filter of 65,535 bytes (the most a length prefix allows) are accepted and matched", async () => {
    const broker = testBroker();
    const topic = "L/" + "x".repeat(65_533);
    const c = await v5Client(broker);
    const ack = await subscribeV5(c, [[topic, { qos: 1 }]]);
    assert.deepEqual(ack.granted, [1]);
    const p = await v5Client(broker);
    assert.equal(await publish1(p, topic, "long", 1), 0);
    const m = await c.expect("publish");
    assert.equal(m.topic.length, 65_535);
    assert.equal(m.topic, topic);
    await broker.close();
  });

  it("MQTT-4.7.3-4 (5.0) matching is by raw characters: no Unicode normalisation, case folding or trimming", async () => {
    const broker = testBroker();
    const c = await v5Client(broker);
    const nfc = "caf\u00e9";
    const nfd = "cafe\u0301";
    await subscribeV5(c, [[`n/${nfc}`, {}], ["n/Case", {}], ["n/sp ace", {}]]);
    const p = await v5Client(broker);
    for (
      const t of [`n/${nfd}`, "n/case", "n/CASE", "n/sp  ace", "n/sp ace ", `n/${nfc}`, "n/Case", "n/sp ace"]
    ) p.publish(t, t);
    const got: string[] = [];
    for (let i = 0; i < 3; i++) got.push((await c.expect("publish")).topic);
    assert.deepEqual(got, [`n/${nfc}`, "n/Case", "n/sp ace"]);
    assert.deepEqual(await c.collect(50), []);
    await broker.close();
  });
});

describe("conformance 5.0 4.9 flow control", () => {
  for (const receiveMaximum of [1, 2, 5]) {
    it(`MQTT-4.9.0-1 (5.0) the send quota starts non-zero and at most the client's Receive Maximum (${receiveMaximum})`, async () => {
      const broker = testBroker();
      const c = await v5Client(broker, { properties: { receiveMaximum } });
      await subscribeV5(c, [["fc/t", { qos: 1 }]]);
      const p = await v5Client(broker);
      for (let i = 0; i < 8; i++) await publish1(p, "fc/t", `m${i}`, i + 1);
      const first = await c.collect(80);
      assert.equal(first.length, receiveMaximum, "exactly Receive Maximum unacknowledged QoS 1 messages");
      assert.deepEqual(
        first.map((m) => m.payload.toString()),
        Array.from({ length: receiveMaximum }, (_, i) => `m${i}`),
      );
      await broker.close();
    });
  }

  it("MQTT-4.9.0-2 (5.0) each QoS 1 PUBACK frees one slot; the quota is never exceeded", async () => {
    const broker = testBroker();
    const c = await v5Client(broker, { properties: { receiveMaximum: 3 } });
    await subscribeV5(c, [["fq/t", { qos: 1 }]]);
    const p = await v5Client(broker);
    const n = 30;
    for (let i = 0; i < n; i++) p.publish("fq/t", `m${i}`, { qos: 1, messageId: i + 1 });
    const outstanding: number[] = [];
    const received: string[] = [];
    const end = Date.now() + 5000;
    while (received.length < n && Date.now() < end) {
      const m = await c.expect("publish");
      received.push(m.payload.toString());
      outstanding.push(m.messageId);
      assert.ok(
        outstanding.length <= 3,
        `${outstanding.length} unacknowledged QoS 1 messages, Receive Maximum 3`,
      );
      if (outstanding.length === 3) {
        assert.deepEqual(await c.collect(20), [], "nothing more while the quota is 0");
        c.send({ cmd: "puback", messageId: outstanding.shift() });
      }
    }
    assert.deepEqual(received, Array.from({ length: n }, (_, i) => `m${i}`));
    await broker.close();
  });

  it("MQTT-4.9.0-2 (5.0) QoS 2: the slot is freed by PUBCOMP, not by PUBREC", async () => {
    const broker = testBroker();
    const c = await v5Client(broker, { properties: { receiveMaximum: 1 } });
    await subscribeV5(c, [["f2/t", { qos: 2 }]]);
    const p = await v5Client(broker);
    for (let i = 1; i <= 2; i++) {
      p.publish("f2/t", `m${i}`, { qos: 2, messageId: i });
      await p.expect("pubrec");
    }
    const m1 = await c.expect("publish");
    assert.equal(m1.payload.toString(), "m1");
    c.send({ cmd: "pubrec", messageId: m1.messageId });
    await c.expect("pubrel");
    assert.deepEqual(await c.collect(60), [], "still in flight until PUBCOMP");
    c.send({ cmd: "pubcomp", messageId: m1.messageId });
    assert.equal((await c.expect("publish")).payload.toString(), "m2");
    await broker.close();
  });

  it("MQTT-4.9.0-2 (5.0) a PUBREC of 0x80 or above frees the slot", async () => {
    const broker = testBroker();
    const c = await v5Client(broker, { properties: { receiveMaximum: 1 } });
    await subscribeV5(c, [["f3/t", { qos: 2 }]]);
    const p = await v5Client(broker);
    for (let i = 1; i <= 2; i++) {
      p.publish("f3/t", `m${i}`, { qos: 2, messageId: i });
      await p.expect("pubrec");
    }
    const m1 = await c.expect("publish");
    c.send({ cmd: "pubrec", messageId: m1.messageId, reasonCode: 0x80 });
    const m2 = await c.expect("publish");
    assert.equal(m2.payload.toString(), "m2", "no PUBREL for the refused one; the next message follows");
    await broker.close();
  });

  it("MQTT-4.9.0-3 (5.0) with the quota at 0 every other packet is still handled and answered", async () => {
    const broker = testBroker();
    const c = await v5Client(broker, { properties: { receiveMaximum: 1 } });
    await subscribeV5(c, [["fz/t", { qos: 1 }]]);
    const p = await v5Client(broker);
    await publish1(p, "fz/t", "held", 1);
    await publish1(p, "fz/t", "waiting", 2);
    const m = await c.expect("publish");
    assert.equal(m.payload.toString(), "held");
    c.send({ cmd: "pingreq" });
    await c.expect("pingresp");
    const sub = await subscribeV5(c, [["fz/other", { qos: 0 }]], { id: 20 });
    assert.deepEqual(sub.granted, [0]);
    assert.deepEqual((await unsubscribeV5(c, ["fz/other"], 21)).granted, [0]);
    assert.equal(await publish1(c, "fz/self", "out", 22), 0x10);
    c.publish("fz/self", "q2", { qos: 2, messageId: 23 });
    await c.expect("pubrec");
    c.send({ cmd: "pubrel", messageId: 23 });
    await c.expect("pubcomp");
    c.send({ cmd: "puback", messageId: m.messageId });
    assert.equal(
      (await c.expect("publish")).payload.toString(),
      "waiting",
      "and the queue moves on after PUBACK",
    );
    await broker.close();
  });
});

describe("conformance 5.0 4.13 handling errors", () => {
  const violations: Array<[string, number[], number]> = [
    ["Retain Handling 3 (Protocol Error)", subscribeFrameV5(1, [["t", 0x30]]), 0x82],
    ["Maximum QoS 3 in the Subscription Options (Protocol Error)", subscribeFrameV5(1, [["t", 0x03]]), 0x82],
    [
      "a Subscription Identifier of 0 (Protocol Error)",
      subscribeFrameV5(1, [["t", 0]], { properties: [0x0b, 0x00] }),
      0x82,
    ],
    [
      "two Subscription Identifiers in a SUBSCRIBE (Protocol Error)",
      subscribeFrameV5(1, [["t", 0]], { properties: [0x0b, 1, 0x0b, 2] }),
      0x82,
    ],
    [
      "a Subscription Identifier in a client's PUBLISH (Protocol Error)",
      publishFrameV5("t", "x", { properties: [0x0b, 1] }),
      0x82,
    ],
    [
      "a Message Expiry Interval twice (Protocol Error)",
      publishFrameV5("t", "x", { properties: [0x02, 0, 0, 0, 9, 0x02, 0, 0, 0, 9] }),
      0x82,
    ],
    [
      "a Content Type twice (Protocol Error)",
      publishFrameV5("t", "x", { properties: [0x03, 0, 1, 0x61, 0x03, 0, 1, 0x62] }),
      0x82,
    ],
    [
      "a property identifier not defined (Malformed)",
      publishFrameV5("t", "x", { properties: [0x7f, 0] }),
      0x81,
    ],
    [
      "a Will Delay Interval in PUBLISH (not valid for the packet: Malformed)",
      publishFrameV5("t", "x", { properties: [0x18, 0, 0, 0, 1] }),
      0x81,
    ],
    [
      "a property length past the end of the packet (Malformed)",
      [0x30, 0x05, 0x00, 0x01, 0x74, 0x09, 0x02],
      0x81,
    ],
    [
      "a Content Type of ill-formed UTF-8 (Malformed)",
      publishFrameV5("t", "x", { properties: [0x03, 0, 2, 0xc3, 0x28] }),
      0x81,
    ],
    ["a PUBLISH with both QoS bits set (Malformed)", [0x36, 0x05, 0x00, 0x01, 0x74, 0x00, 0x00], 0x81],
    [
      "a second CONNECT (Protocol Error)",
      [0x10, 13, 0, 4, 0x4d, 0x51, 0x54, 0x54, 5, 2, 0, 0, 0, 0, 0],
      0x82,
    ],
    [
      "an unknown Topic Alias with an empty topic (Protocol Error)",
      publishFrameV5("", "x", { properties: [0x23, 0, 1] }),
      0x82,
    ],
  ];

  for (const [what, bytes, code] of violations) {
    it(`MQTT-4.13.1-1 (5.0) ${what}: DISCONNECT 0x${code.toString(16)} and close; others are served`, async () => {
      const broker = testBroker();
      const others = await bystanders(broker);
      const watcher = await v5Client(broker);
      await subscribeV5(watcher, [["t", { qos: 0 }]]);
      const c = await v5Client(broker);
      c.sendBytes(bytes);
      await expectDisconnect(c, code);
      assert.deepEqual(await watcher.collect(30), [], "nothing of the bad packet was delivered");
      await others.check(what);
      await broker.close();
    });
  }

  it("MQTT-4.13.1-1 (5.0) raising the Session Expiry Interval on DISCONNECT after CONNECT set 0 is a Protocol Error: DISCONNECT 0x82", async () => {
    const broker = testBroker();
    const c = await v5Client(broker, { clientId: "sei0" });
    c.send({ cmd: "disconnect", reasonCode: 0, properties: { sessionExpiryInterval: 60 } });
    await expectDisconnect(c, 0x82);
    assert.equal(broker.getSession("sei0"), undefined, "the session still ended with the connection");
    await broker.close();
  });

  const refusals: Array<[string, Parameters<typeof testBroker>[0], Record<string, unknown>, number]> = [
    ["an Authentication Method nobody supports", {}, { properties: { authenticationMethod: "NOPE" } }, 0x8c],
    ["more connections than maxConnections", { limits: { maxConnections: 1 } }, {}, 0x97],
    ["a will QoS above Maximum QoS", { capabilities: { maximumQoS: 0 } }, {
      will: { topic: "w", payload: Buffer.from("x"), qos: 1, retain: false },
    }, 0x9b],
    ["a retained will without Retain Available", { capabilities: { retainAvailable: false } }, {
      will: { topic: "w", payload: Buffer.from("x"), qos: 0, retain: true },
    }, 0x9a],
    ["a client identifier over maxClientIdLength", { limits: { maxClientIdLength: 4 } }, {
      clientId: "much-too-long",
    }, 0x85],
  ];

  for (const [why, options, connect, code] of refusals) {
    it(`MQTT-4.13.2-1 (5.0) CONNACK 0x${code.toString(16)} (${why}) closes the connection; nothing sent after it is acted on`, async () => {
      const broker = testBroker(options);
      const others = await v5Client(broker, { clientId: "o" });
      await subscribeV5(others, [["after/#", { qos: 0 }]]);
      const c = RawClient.memory(broker, 5);
      c.send({
        cmd: "connect",
        protocolId: "MQTT",
        protocolVersion: 5,
        clean: true,
        clientId: "r",
        keepalive: 0,
        ...connect,
      });
      c.publish("after/refused", "must not arrive");
      const ack = await c.expect("connack");
      assert.equal(ack.reasonCode, code);
      assert.equal(await c.waitClosed(), true, "closed");
      assert.deepEqual(c.packets, []);
      assert.deepEqual(await others.collect(40), [], "the PUBLISH after the CONNECT was not routed");
      await broker.close();
    });
  }

  it("MQTT-4.13.2-1 (5.0) a keep-alive timeout closes the connection after DISCONNECT 0x8D", async () => {
    const broker = testBroker({ sweepInterval: 20 });
    const c = await v5Client(broker, { keepalive: 1 });
    const d = await c.expect("disconnect", 3000);
    assert.equal(d.reasonCode, 0x8d);
    assert.equal(await c.waitClosed(), true);
    await broker.close();
  });

  it("MQTT-4.13.2-1 (5.0) after DISCONNECT 0x93 (Receive Maximum exceeded) the connection is closed and the message dropped", async () => {
    const broker = testBroker({ limits: { receiveMaximum: 2 } });
    const watcher = await v5Client(broker);
    await subscribeV5(watcher, [["rm/#", { qos: 0 }]]);
    const c = await v5Client(broker);
    for (let i = 1; i <= 3; i++) c.publish(`rm/${i}`, `m${i}`, { qos: 2, messageId: i });
    await c.expect("pubrec");
    await c.expect("pubrec");
    await expectDisconnect(c, 0x93);
    await until(() => watcher.packets.length >= 2, 1000, "the first two");
    await sleep(30);
    assert.deepEqual(
      watcher.packets.map((m) => m.payload.toString()),
      ["m1", "m2"],
      "the third was not delivered",
    );
    await broker.close();
  });
});
