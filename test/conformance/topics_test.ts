/**
 * Conformance: topic names, topic filters and wildcards (MQTT 3.1.1 section 4.7), one test per normative statement.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { RawClient } from "../_helpers/raw_client.ts";
import { testBroker } from "../_helpers/broker.ts";
import { connected, frame, publishFrame, str, subscribeFrame, unsubscribeFrame } from "./_wire.ts";

describe("conformance 4.7 topics", () => {
  for (const topic of ["a/+", "a/#", "+", "#", "a/+/c", "a+b", "a/b#", "+/#"]) {
    it(`MQTT-4.7.1-1 a PUBLISH to the topic name "${topic}" closes the connection and is not delivered`, async () => {
      const broker = testBroker();
      const sub = await connected(broker);
      await sub.subscribe("#", 0);
      const c = await connected(broker);
      c.sendBytes(publishFrame(topic, "wild", { qos: 1, packetId: 1 }));
      assert.equal(await c.waitClosed(), true);
      assert.deepEqual(c.packets, [], "no PUBACK");
      assert.deepEqual(await sub.collect(40), []);
      assert.equal(broker.stats.protocolErrors, 1);
      await broker.close();
    });
  }

  it("MQTT-4.7.1-1 a retained PUBLISH with a wildcard topic stores nothing", async () => {
    const broker = testBroker();
    const c = await connected(broker);
    c.sendBytes(publishFrame("r/#", "x", { retain: true }));
    assert.equal(await c.waitClosed(), true);
    assert.equal(broker.retainedCount, 0);
    await broker.close();
  });

  it("MQTT-4.7.1-1 a will topic with a wildcard is refused at CONNECT", async () => {
    const broker = testBroker();
    for (const topic of ["w/#", "w/+/x"]) {
      const c = RawClient.memory(broker);
      const flags = 0x04 | 0x02; // will flag, clean session
      c.sendBytes(frame(0x10, [...str("MQTT"), 4, flags, 0, 0, ...str("wc"), ...str(topic), ...str("m")]));
      assert.equal(await c.waitClosed(), true, topic);
      assert.deepEqual(c.packets, [], "no CONNACK");
    }
    await broker.close();
  });

  const badHash = ["a/#/b", "a#", "#a", "a/b#", "##", "#/", "a/#/", "/#/", "a/#b"];
  it(`MQTT-4.7.1-2 filters with a misplaced # (${badHash.join(" ")}) are refused with 0x80`, async () => {
    const broker = testBroker();
    const c = await connected(broker, { clientId: "hash" });
    const ack = await c.subscribe(badHash.map((f) => [f, 1] as [string, number]));
    assert.deepEqual(ack.granted, badHash.map(() => 0x80));
    assert.equal(broker.getSession("hash")!.subscriptions.size, 0, "no refused filter was subscribed");
    assert.equal(c.closed, false);
    await broker.close();
  });

  it("MQTT-4.7.1-2 # on its own or after / is the last level and matches the parent and all children", async () => {
    const broker = testBroker();
    const all = await connected(broker);
    const ack = await all.subscribe([["#", 0]]);
    assert.deepEqual(ack.granted, [0]);
    const c = await connected(broker);
    assert.deepEqual((await c.subscribe([["sport/#", 0], ["/#", 0]])).granted, [0, 0]);
    const p = await connected(broker);
    for (const t of ["sport", "sport/", "sport/tennis/player1", "/x", "sports"]) p.publish(t, t);
    const got = [];
    for (let i = 0; i < 4; i++) got.push((await c.expect("publish")).topic);
    assert.deepEqual(got, ["sport", "sport/", "sport/tennis/player1", "/x"]);
    assert.deepEqual(await c.collect(30), [], "sports does not match sport/#");
    for (let i = 0; i < 5; i++) await all.expect("publish");
    await broker.close();
  });

  const badPlus = ["a+", "+a", "a/b+/c", "++", "a/+b", "+#", "a/++/b", "a+/#"];
  it(`MQTT-4.7.1-3 filters whose + does not fill a whole level (${badPlus.join(" ")}) are refused with 0x80`, async () => {
    const broker = testBroker();
    const c = await connected(broker, { clientId: "plus" });
    const ack = await c.subscribe(badPlus.map((f) => [f, 2] as [string, number]));
    assert.deepEqual(ack.granted, badPlus.map(() => 0x80));
    assert.equal(broker.getSession("plus")!.subscriptions.size, 0);
    await broker.close();
  });

  it("MQTT-4.7.1-3 + filling a level is granted and matches exactly one level, empty levels included", async () => {
    const broker = testBroker();
    const c = await connected(broker);
    const ack = await c.subscribe([["+", 0], ["+/+", 0], ["s/+/p", 0], ["/+", 0], ["+/tennis/#", 0]], 0, 3);
    assert.deepEqual(ack.granted, [0, 0, 0, 0, 0]);
    const p = await connected(broker);
    const cases: Array<[string, number]> = [
      ["s", 1], // +
      ["s/x/p", 1], // s/+/p
      ["s//p", 1], // s/+/p with an empty level
      ["/finance", 2], // +/+ and /+
      ["a/b", 1], // +/+
      ["x/tennis", 1], // +/tennis/#
      ["s/x/y/p", 0],
    ];
    for (const [t] of cases) p.publish(t, t);
    const got = new Map<string, number>();
    const expectedTotal = cases.reduce((n, [, k]) => n + (k > 0 ? 1 : 0), 0);
    for (let i = 0; i < expectedTotal; i++) {
      const m = await c.expect("publish");
      got.set(m.topic, (got.get(m.topic) ?? 0) + 1);
    }
    assert.deepEqual(await c.collect(40), [], "each message once, s/x/y/p never");
    for (const [t, k] of cases) assert.equal(got.get(t) ?? 0, k > 0 ? 1 : 0, t);
    await broker.close();
  });

  it("MQTT-4.7.2-1 filters starting with # or + do not match topics starting with $", async () => {
    const broker = testBroker();
    const wild = await connected(broker);
    await wild.subscribe([["#", 0], ["+/info", 0], ["+/+", 0], ["+", 0], ["+/#", 0]]);
    const dollar = await connected(broker);
    await dollar.subscribe([["$app/#", 0], ["$app/+", 0]], 0, 2);
    const p = await connected(broker);
    p.publish("$app/info", "d1");
    p.publish("$app", "d2");
    p.publish("app/info", "plain");
    const seen = [(await dollar.expect("publish")).topic, (await dollar.expect("publish")).topic];
    assert.deepEqual(seen, ["$app/info", "$app"], "filters that name the $ level do match");
    assert.deepEqual(await dollar.collect(20), []);
    const w = await wild.expect("publish");
    assert.equal(w.topic, "app/info", "only the topic without $ reaches wildcard-first filters");
    assert.deepEqual(await wild.collect(40), []);
    await broker.close();
  });

  it("MQTT-4.7.2-1 retained messages on $ topics are not sent to a # subscriber", async () => {
    const broker = testBroker();
    const p = await connected(broker);
    p.publish("$app/status", "up", { retain: true, qos: 1, messageId: 1 });
    await p.expect("puback");
    p.publish("app/status", "up", { retain: true, qos: 1, messageId: 2 });
    await p.expect("puback");
    const wild = await connected(broker);
    await wild.subscribe([["#", 0], ["+/status", 0]]);
    // Each new subscription gets its retained messages, so app/status may come once per filter.
    const got = [(await wild.expect("publish")).topic, ...(await wild.collect(40)).map((p) => p.topic)];
    assert.ok(got.length >= 1 && got.length <= 2);
    assert.deepEqual(new Set(got), new Set(["app/status"]), "never $app/status");
    const explicit = await connected(broker);
    await explicit.subscribe("$app/#", 0);
    assert.equal((await explicit.expect("publish")).topic, "$app/status", "a filter naming $app gets it");
    await broker.close();
  });

  it("MQTT-4.7.3-1 a PUBLISH with an empty topic name closes the connection", async () => {
    const broker = testBroker();
    const sub = await connected(broker);
    await sub.subscribe("#", 0);
    const c = await connected(broker);
    c.sendBytes(publishFrame("", "no topic"));
    assert.equal(await c.waitClosed(), true);
    assert.deepEqual(await sub.collect(40), []);
    assert.equal(broker.stats.protocolErrors, 1);
    await broker.close();
  });

  it("MQTT-4.7.3-1 an empty topic filter in SUBSCRIBE is refused with 0x80", async () => {
    const broker = testBroker();
    const c = await connected(broker, { clientId: "empty" });
    c.sendBytes(subscribeFrame(4, [["", 0], ["ok", 0]]));
    const ack = await c.expect("suback");
    assert.deepEqual(ack.granted, [0x80, 0]);
    assert.deepEqual([...broker.getSession("empty")!.subscriptions.keys()], ["ok"]);
    await broker.close();
  });

  it("MQTT-4.7.3-1 an empty topic filter in UNSUBSCRIBE closes the connection", async () => {
    // UNSUBACK has no failure code in 3.1.1, so refusing the filter means closing [MQTT-4.8.0-1].
    const broker = testBroker();
    const c = await connected(broker);
    await c.subscribe("keep", 0);
    c.sendBytes(unsubscribeFrame(5, [""]));
    assert.equal(await c.waitClosed(1000), true);
    assert.deepEqual(c.packets, [], "no UNSUBACK");
    await broker.close();
  });

  it("MQTT-4.7.3-1 a will with an empty topic is refused at CONNECT", async () => {
    const broker = testBroker();
    const c = RawClient.memory(broker);
    c.sendBytes(frame(0x10, [...str("MQTT"), 4, 0x06, 0, 0, ...str("ew"), ...str(""), ...str("m")]));
    assert.equal(await c.waitClosed(), true);
    assert.deepEqual(c.packets, []);
    await broker.close();
  });

  for (
    const [where, bytes] of [
      ["a PUBLISH topic name", publishFrame([0x61, 0x00, 0x62], "x")],
      ["a SUBSCRIBE topic filter", subscribeFrame(6, [[[0x61, 0x2f, 0x00], 0]])],
      ["an UNSUBSCRIBE topic filter", unsubscribeFrame(7, [[0x00]])],
    ] as const
  ) {
    it(`MQTT-4.7.3-2 U+0000 in ${where} closes the connection`, async () => {
      const broker = testBroker();
      const sub = await connected(broker);
      await sub.subscribe("#", 0);
      const c = await connected(broker);
      c.sendBytes([...bytes]);
      assert.equal(await c.waitClosed(), true);
      assert.deepEqual(c.packets, []);
      assert.deepEqual(await sub.collect(40), []);
      assert.equal(broker.subscriptionCount, 1, "only the bystander's subscription");
      await broker.close();
    });
  }

  it("MQTT-4.7.3-3 a topic name and a filter of 65535 bytes, the most a length prefix holds, are accepted", async () => {
    const broker = testBroker();
    const c = await connected(broker);
    const long = "t/" + "é".repeat(20_000) + "x".repeat(65_535 - 2 - 40_000);
    assert.equal(new TextEncoder().encode(long).length, 65_535);
    const ack = await c.subscribe(long, 1);
    assert.deepEqual(ack.granted, [1]);
    c.publish(long, "big topic", { qos: 1, messageId: 2 });
    const got = [await c.next(), await c.next()];
    const m = got.find((p) => p.cmd === "publish");
    assert.equal(m?.topic, long);
    assert.ok(got.some((p) => p.cmd === "puback"));
    await broker.close();
  });

  it("MQTT-4.7.3-4 matching compares raw characters: no case folding, no Unicode normalisation", async () => {
    const broker = testBroker();
    const c = await connected(broker);
    const composed = "caf\u00e9/\u212b"; // é precomposed, Angstrom sign
    const decomposed = "cafe\u0301/A\u030a"; // e + combining acute, A + combining ring
    await c.subscribe([[composed, 0], ["Case/Topic", 0], ["sp ace", 0], ["\ufeffbom", 0]]);
    const p = await connected(broker);
    for (
      const t of [decomposed, "case/topic", "CASE/TOPIC", "sp  ace", "space", "bom", composed, "Case/Topic"]
    ) {
      p.publish(t, t);
    }
    p.publish("sp ace", "sp ace");
    p.publish("\ufeffbom", "bom with BOM");
    const got = [];
    for (let i = 0; i < 4; i++) got.push((await c.expect("publish")).topic);
    assert.deepEqual(got, [composed, "Case/Topic", "sp ace", "\ufeffbom"]);
    assert.deepEqual(await c.collect(40), [], "no other form matched");
    await broker.close();
  });

  it("MQTT-4.7.3-4 a topic with U+FFFD or other unusual characters is forwarded byte for byte", async () => {
    const broker = testBroker();
    const c = await connected(broker);
    const topic = "odd/\ufffd/\u00a0/\u200b/\ud83d\ude00/\u{10ffff}";
    await c.subscribe("odd/#", 0);
    const bytes = [...new TextEncoder().encode(topic)];
    c.sendBytes(publishFrame(bytes, "x"));
    const m = await c.expect("publish");
    assert.deepEqual([...new TextEncoder().encode(m.topic)], bytes);
    await broker.close();
  });
});
