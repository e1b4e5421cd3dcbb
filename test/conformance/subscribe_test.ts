/**
 * Conformance: SUBSCRIBE and SUBACK (MQTT 3.1.1 sections 3.8 and 3.9), one test per normative statement.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Hook } from "../../src/hooks/hook.ts";
import type { RawClient } from "../_helpers/raw_client.ts";
import { testBroker } from "../_helpers/broker.ts";
import { connected, publishFrame, subscribeFrame } from "./_wire.ts";

describe("conformance 3.8 SUBSCRIBE", () => {
  for (const b0 of [0x80, 0x81, 0x83, 0x8a, 0x8f]) {
    it(`MQTT-3.8.1-1 a SUBSCRIBE with fixed-header flags 0x${(b0 & 0x0f).toString(16)} closes the connection`, async () => {
      const broker = testBroker();
      const c = await connected(broker);
      c.sendBytes(subscribeFrame(1, [["a/b", 0]], b0 & 0x0f));
      assert.equal(await c.waitClosed(), true);
      assert.deepEqual(c.packets, [], "no SUBACK for a malformed SUBSCRIBE");
      assert.equal(broker.subscriptionCount, 0);
      assert.equal(broker.stats.protocolErrors, 1);
      await broker.close();
    });
  }

  it("MQTT-3.8.1-1 a SUBSCRIBE with flags 0010 is accepted (the control case)", async () => {
    const broker = testBroker();
    const c = await connected(broker);
    c.sendBytes(subscribeFrame(1, [["a/b", 0]]));
    const ack = await c.expect("suback");
    assert.deepEqual(ack.granted, [0]);
    assert.equal(c.closed, false);
    await broker.close();
  });

  for (
    const [why, filter] of [
      ["a lone continuation byte", [0x61, 0x80]],
      ["a truncated two-byte sequence", [0x61, 0xc3]],
      ["an overlong encoding of '/'", [0x61, 0xc0, 0xaf]],
      ["an encoded surrogate U+D800", [0x61, 0xed, 0xa0, 0x80]],
      ["an encoded surrogate U+DFFF", [0xed, 0xbf, 0xbf]],
      ["a code point above U+10FFFF", [0xf4, 0x90, 0x80, 0x80]],
      ["the byte 0xFF", [0x61, 0xff]],
    ] as const
  ) {
    it(`MQTT-3.8.3-1 a topic filter with ${why} closes the connection`, async () => {
      const broker = testBroker();
      const c = await connected(broker);
      c.sendBytes(subscribeFrame(2, [["ok/filter", 0], [[...filter], 0]]));
      assert.equal(await c.waitClosed(), true);
      assert.deepEqual(c.packets, []);
      assert.equal(broker.subscriptionCount, 0, "no filter of the packet was subscribed");
      await broker.close();
    });
  }

  it("MQTT-3.8.3-1 a topic filter of well-formed multi-byte UTF-8 is accepted and matched", async () => {
    const broker = testBroker();
    const c = await connected(broker);
    const ack = await c.subscribe("température/°C/日本/😀", 0);
    assert.deepEqual(ack.granted, [0]);
    c.publish("température/°C/日本/😀", "ok");
    const m = await c.expect("publish");
    assert.equal(m.topic, "température/°C/日本/😀");
    await broker.close();
  });

  it("MQTT-3.8.3-2 wildcards are supported, so filters with + and # are granted and match", async () => {
    const broker = testBroker();
    const c = await connected(broker);
    const ack = await c.subscribe([["w/+/x", 1], ["deep/#", 2], ["#", 0]], 0, 5);
    assert.deepEqual(ack.granted, [1, 2, 0], "no wildcard filter is refused");
    const p = await connected(broker);
    p.publish("w/any/x", "1");
    p.publish("deep/a/b/c", "2");
    p.publish("plain", "3");
    const got = [await c.expect("publish"), await c.expect("publish"), await c.expect("publish")];
    assert.deepEqual(got.map((m) => m.topic), ["w/any/x", "deep/a/b/c", "plain"]);
    await broker.close();
  });

  it("MQTT-3.8.3-2 with wildcardSubscriptionAvailable false, every filter with + or # is refused (0x80)", async () => {
    const broker = testBroker({ capabilities: { wildcardSubscriptionAvailable: false } });
    const c = await connected(broker);
    const ack = await c.subscribe(
      [["w/+/x", 1], ["plain/t", 1], ["deep/#", 2], ["#", 0], ["$share/g/a/+", 0]],
      0,
      5,
    );
    assert.deepEqual(
      ack.granted,
      [0x80, 1, 0x80, 0x80, 0x80],
      "only the filter without a wildcard is granted",
    );
    const p = await connected(broker);
    p.publish("w/any/x", "1");
    p.publish("deep/a", "2");
    p.publish("plain/t", "3");
    const m = await c.expect("publish");
    assert.equal(m.topic, "plain/t", "nothing reached the refused filters");
    assert.deepEqual(await c.collect(30), []);
    await broker.close();
  });

  it("MQTT-3.8.3-3 a SUBSCRIBE with no topic filter closes the connection", async () => {
    const broker = testBroker();
    const c = await connected(broker);
    c.sendBytes([0x82, 0x02, 0x00, 0x01]);
    assert.equal(await c.waitClosed(), true);
    assert.deepEqual(c.packets, []);
    assert.equal(broker.stats.protocolErrors, 1);
    await broker.close();
  });

  for (
    const [why, options] of [
      ["a requested QoS of 3", 0x03],
      ["reserved bit 2 set", 0x04],
      ["reserved bit 7 set", 0x80],
      ["all reserved bits set with QoS 1", 0xfd],
      ["v5 subscription options (No Local) in a 3.1.1 SUBSCRIBE", 0x05],
    ] as const
  ) {
    it(`MQTT-3.8.3-4 ${why} closes the connection`, async () => {
      const broker = testBroker();
      const c = await connected(broker);
      c.sendBytes(subscribeFrame(3, [["good", 1], ["bad", options]]));
      assert.equal(await c.waitClosed(), true);
      assert.deepEqual(c.packets, [], "no SUBACK");
      assert.equal(broker.subscriptionCount, 0);
      assert.equal(broker.stats.protocolErrors, 1);
      await broker.close();
    });
  }

  it("MQTT-3.8.4-1 every SUBSCRIBE is answered by a SUBACK, refused filters included", async () => {
    const broker = testBroker();
    const c = await connected(broker);
    const frames = [
      subscribeFrame(1, [["a", 0]]),
      subscribeFrame(2, [["a/#/b", 1]]),
      subscribeFrame(3, [["b", 2], ["c+", 1]]),
      subscribeFrame(4, [["a", 1]]),
      subscribeFrame(5, [["", 0]]),
    ];
    c.sendBytes(frames.flat());
    const acks = [];
    for (let i = 0; i < frames.length; i++) acks.push(await c.expect("suback"));
    assert.deepEqual(acks.map((a) => a.messageId), [1, 2, 3, 4, 5]);
    assert.deepEqual(acks.map((a) => a.granted), [[0], [0x80], [2, 0x80], [1], [0x80]]);
    assert.deepEqual(await c.collect(30), []);
    await broker.close();
  });

  it("MQTT-3.8.4-2 the SUBACK carries the SUBSCRIBE's packet identifier", async () => {
    const broker = testBroker();
    const c = await connected(broker);
    for (const id of [1, 0x00ff, 0x0100, 0x1234, 0x8000, 65_535]) {
      c.sendBytes(subscribeFrame(id, [[`id/${id}`, 0]]));
      const ack = await c.expect("suback");
      assert.equal(ack.messageId, id);
    }
    await broker.close();
  });

  it("MQTT-3.8.4-3 an identical filter replaces the subscription and its retained messages are re-sent", async () => {
    const broker = testBroker();
    const p = await connected(broker);
    p.publish("r/t", "kept", { qos: 1, messageId: 1, retain: true });
    await p.expect("puback");
    const c = await connected(broker, { clientId: "replacer" });
    await c.subscribe("r/#", 0, 1);
    const first = await c.expect("publish");
    assert.deepEqual([first.topic, first.retain, first.qos], ["r/t", true, 0]);

    const ack = await c.subscribe("r/#", 1, 2);
    assert.deepEqual(ack.granted, [1]);
    const again = await c.expect("publish");
    assert.deepEqual(
      [again.topic, again.retain, again.qos],
      ["r/t", true, 1],
      "retained re-sent at the new QoS",
    );
    c.send({ cmd: "puback", messageId: again.messageId });
    const session = broker.getSession("replacer")!;
    assert.equal(session.subscriptions.size, 1, "replaced, not added");
    assert.equal(session.subscriptions.get("r/#")?.qos, 1);
    assert.equal(broker.subscriptionCount, 1);

    p.publish("r/x", "once", { qos: 2, messageId: 2 });
    await p.expect("pubrec");
    const m = await c.expect("publish");
    assert.deepEqual([m.topic, m.qos], ["r/x", 1], "delivered once, at the replacing subscription's QoS");
    c.send({ cmd: "puback", messageId: m.messageId });
    assert.deepEqual(await c.collect(40), [], "no second copy from the replaced subscription");
    await broker.close();
  });

  it("MQTT-3.8.4-3 replacing a subscription does not interrupt the flow of publications", async () => {
    const broker = testBroker();
    const c = await connected(broker);
    await c.subscribe("flow/#", 0, 1);
    // One write: the broker handles the packets in order, so the re-SUBSCRIBE falls between publications.
    const bytes = [
      ...publishFrame("flow/1", "1"),
      ...publishFrame("flow/2", "2"),
      ...subscribeFrame(7, [["flow/#", 1]]),
      ...publishFrame("flow/3", "3", { qos: 1, packetId: 11 }),
      ...publishFrame("flow/4", "4"),
    ];
    c.sendBytes(bytes);
    const got = [];
    for (let i = 0; i < 6; i++) got.push(await c.next());
    const publishes = got.filter((p) => p.cmd === "publish");
    assert.deepEqual(publishes.map((m) => [m.topic, m.qos]), [["flow/1", 0], ["flow/2", 0], ["flow/3", 1], [
      "flow/4",
      0,
    ]]);
    assert.deepEqual(got.filter((p) => p.cmd === "suback").map((a) => [a.messageId, a.granted]), [[7, [1]]]);
    assert.deepEqual(got.filter((p) => p.cmd === "puback").map((a) => a.messageId), [11]);
    const suback = got.findIndex((p) => p.cmd === "suback");
    const third = got.findIndex((p) => p.cmd === "publish" && p.topic === "flow/3");
    assert.ok(suback < third, "flow/3 follows the SUBACK of the replacing subscription");
    assert.deepEqual(await c.collect(40), []);
    await broker.close();
  });

  it("MQTT-3.8.4-4 several filters in one SUBSCRIBE act as several SUBSCRIBEs with one SUBACK", async () => {
    const broker = testBroker();
    const c = await connected(broker, { clientId: "multi" });
    c.sendBytes(subscribeFrame(40, [["m/a", 0], ["m/b", 1], ["m/+", 2], ["m/a", 1]]));
    const ack = await c.expect("suback");
    assert.equal(ack.messageId, 40);
    assert.deepEqual(ack.granted, [0, 1, 2, 1], "one SUBACK, one code per filter");
    assert.deepEqual(await c.collect(30), [], "a single SUBACK");
    const subs = broker.getSession("multi")!.subscriptions;
    assert.deepEqual(
      [...subs.keys()].sort(),
      ["m/+", "m/a", "m/b"],
      "a repeated filter replaces the earlier one",
    );
    assert.equal(subs.get("m/a")?.qos, 1, "the later duplicate wins, as with two SUBSCRIBEs");
    const p = await connected(broker);
    p.publish("m/b", "b", { qos: 2, messageId: 3 });
    const m = await c.expect("publish");
    assert.deepEqual(
      [m.topic, m.qos],
      ["m/b", 2],
      "overlapping subscriptions deliver once at the highest QoS",
    );
    assert.deepEqual(await c.collect(40), []);
    await broker.close();
  });

  it("MQTT-3.8.4-5 each filter gets its own return code: its granted QoS or 0x80", async () => {
    const denyRead: Hook = {
      id: "deny-secret",
      onAuthenticate: () => "allow",
      onAclCheck: (_c, topic, access) => (access === "read" && topic.startsWith("secret") ? "deny" : "allow"),
    };
    const broker = testBroker({ auth: denyRead });
    const c = await connected(broker);
    const ack = await c.subscribe([["q0", 0], ["q1/#", 1], ["bad/#/x", 1], ["q2/+", 2], ["secret/x", 2], [
      "q1b",
      1,
    ]]);
    assert.deepEqual(ack.granted, [0, 1, 0x80, 2, 0x80, 1]);
    await broker.close();
  });

  it("MQTT-3.8.4-6 delivery is at the lower of the published QoS and the granted QoS", async () => {
    const broker = testBroker();
    const subs: RawClient[] = [];
    for (const q of [0, 1, 2]) {
      const c = await connected(broker);
      await c.subscribe("d/t", q);
      subs.push(c);
    }
    const p = await connected(broker);
    let id = 1;
    for (const pub of [0, 1, 2]) {
      p.publish("d/t", `pub${pub}`, pub === 0 ? {} : { qos: pub, messageId: id++ });
      if (pub === 1) await p.expect("puback");
      if (pub === 2) await p.expect("pubrec");
      for (let granted = 0; granted < 3; granted++) {
        const m = await subs[granted].expect("publish");
        assert.equal(m.payload.toString(), `pub${pub}`);
        assert.equal(m.qos, Math.min(pub, granted), `published at ${pub}, granted ${granted}`);
        if (m.qos === 1) subs[granted].send({ cmd: "puback", messageId: m.messageId });
        if (m.qos === 2) subs[granted].send({ cmd: "pubrec", messageId: m.messageId });
        if (m.qos === 2) {
          const rel = await subs[granted].expect("pubrel");
          subs[granted].send({ cmd: "pubcomp", messageId: rel.messageId });
        }
      }
    }
    await broker.close();
  });
});

describe("conformance 3.9 SUBACK", () => {
  it("MQTT-3.9.3-1 return codes follow the order of the filters in the SUBSCRIBE", async () => {
    const broker = testBroker();
    const c = await connected(broker);
    const entries: Array<[string, number]> = [];
    const expected: number[] = [];
    for (let i = 0; i < 24; i++) {
      const bad = i % 5 === 3;
      const qos = (i * 7) % 3;
      entries.push([bad ? `o/${i}/#/x` : `o/${i}`, qos]);
      expected.push(bad ? 0x80 : qos);
    }
    const ack = await c.subscribe(entries, 0, 77);
    assert.deepEqual(ack.granted, expected);
    const reversed = await c.subscribe(
      [...entries].reverse().map(([f]) => [`r${f}`, 2] as [string, number]),
      0,
      78,
    );
    assert.deepEqual(ack.granted.length, reversed.granted.length);
    assert.deepEqual(reversed.granted, [...expected].reverse().map((code) => (code === 0x80 ? 0x80 : 2)));
    await broker.close();
  });

  it("MQTT-3.9.3-2 only 0x00, 0x01, 0x02 and 0x80 are used, whatever the reason for refusal", async () => {
    const denyOne: Hook = {
      id: "deny-one",
      onAuthenticate: () => "allow",
      onAclCheck: (_c, t, a) => (a === "read" && t === "acl/no" ? "deny" : "allow"),
    };
    const broker = testBroker({ auth: denyOne, limits: { maxSubscriptionsPerClient: 5, maxTopicLevels: 4 } });
    const c = await connected(broker);
    c.sendBytes(subscribeFrame(9, [
      ["ok0", 0],
      ["ok1", 1],
      ["ok2", 2],
      ["acl/no", 1], // not authorized (v5 would say 0x87)
      ["a+/b", 1], // invalid filter: '+' not a whole level (v5 0x8F)
      ["a/b/c/d/e", 0], // over maxTopicLevels (v5 0x8F)
      ["x/#/y", 0], // invalid filter (v5 0x8F)
      ["ok3", 0],
      ["ok4", 0],
      ["over/limit", 1], // the sixth subscription (v5 0x97)
    ]));
    const ack = await c.expect("suback");
    assert.deepEqual(ack.granted, [0, 1, 2, 0x80, 0x80, 0x80, 0x80, 0, 0, 0x80]);
    for (const code of ack.granted) assert.ok([0, 1, 2, 0x80].includes(code), `code 0x${code.toString(16)}`);
    await broker.close();
  });
});
