/**
 * Broker limits on subscriptions and topics: a refused subscription gets SUBACK 0x80 (the connection stays);
 * a PUBLISH past a topic limit closes the connection, as any refused Topic Name does.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { RawClient } from "../_helpers/raw_client.ts";
import { tcpBroker, testBroker } from "../_helpers/broker.ts";
import { bystanders, connected, publishFrame } from "../conformance/_wire.ts";

describe("limits: maxSubscriptionsPerClient", () => {
  it("a subscription past the limit gets 0x80; replacing or removing one is still possible", async () => {
    const broker = testBroker({ limits: { maxSubscriptionsPerClient: 3 } });
    const c = await connected(broker, { clientId: "quota" });
    const first = await c.subscribe([["a", 0], ["b", 1], ["c", 2], ["d", 1]], 0, 1);
    assert.deepEqual(first.granted, [0, 1, 2, 0x80], "the fourth filter is over the limit");
    const more = await c.subscribe([["e", 0], ["a", 2]], 0, 2);
    assert.deepEqual(more.granted, [0x80, 2], "replacing an existing filter does not count as a new one");
    assert.equal(broker.getSession("quota")!.subscriptions.size, 3);
    c.send({ cmd: "unsubscribe", messageId: 3, unsubscriptions: ["b"] });
    await c.expect("unsuback");
    assert.deepEqual((await c.subscribe("e", 1, 4)).granted, [1], "room again after an UNSUBSCRIBE");
    assert.equal(c.closed, false);
    const p = await connected(broker);
    p.publish("d", "not subscribed");
    p.publish("e", "subscribed");
    assert.equal((await c.expect("publish")).topic, "e");
    assert.deepEqual(await c.collect(30), []);
    await broker.close();
  });

  it("the limit is per client: another client still subscribes", async () => {
    const broker = testBroker({ limits: { maxSubscriptionsPerClient: 1 } });
    const a = await connected(broker);
    assert.deepEqual((await a.subscribe([["x", 0], ["y", 0]])).granted, [0, 0x80]);
    const b = await connected(broker);
    assert.deepEqual((await b.subscribe([["y", 0]])).granted, [0]);
    await broker.close();
  });

  it("0 means no limit", async () => {
    const broker = testBroker({ limits: { maxSubscriptionsPerClient: 0 } });
    const c = await connected(broker);
    const filters = Array.from({ length: 300 }, (_, i) => [`many/${i}`, 0] as [string, number]);
    const ack = await c.subscribe(filters);
    assert.equal(ack.granted.length, 300);
    assert.ok(ack.granted.every((g: number) => g === 0));
    await broker.close();
  });
});

describe("limits: maxTopicLevels and maxTopicLength", () => {
  it("a filter with more levels than maxTopicLevels gets 0x80", async () => {
    const broker = testBroker({ limits: { maxTopicLevels: 3 } });
    const c = await connected(broker);
    const ack = await c.subscribe([["a/b/c", 0], ["a/b/c/d", 0], ["+/+/#", 1], ["a/b/c/#", 0], ["//", 0], [
      "///",
      0,
    ]]);
    assert.deepEqual(ack.granted, [0, 0x80, 1, 0x80, 0, 0x80]);
    assert.equal(c.closed, false);
    await broker.close();
  });

  it("a filter longer than maxTopicLength bytes gets 0x80, counting UTF-8 bytes, not characters", async () => {
    const broker = testBroker({ limits: { maxTopicLength: 10 } });
    const c = await connected(broker);
    const ack = await c.subscribe([["0123456789", 0], ["0123456789a", 0], ["éééé/x", 0], ["ééééé/x", 0]]);
    // "éééé/x" is 6 characters and 10 bytes; "ééééé/x" is 7 characters and 12 bytes.
    assert.deepEqual(ack.granted, [0, 0x80, 0, 0x80]);
    await broker.close();
  });

  for (
    const [why, limits, ok, tooMuch] of [
      ["more levels than maxTopicLevels", { maxTopicLevels: 3 }, "a/b/c", "a/b/c/d"],
      ["more bytes than maxTopicLength", { maxTopicLength: 10 }, "0123456789", "0123456789a"],
      ["more UTF-8 bytes than maxTopicLength", { maxTopicLength: 10 }, "éééé/x", "ééééé/x"],
    ] as const
  ) {
    it(`a PUBLISH to a topic with ${why} closes the connection and is not delivered`, async () => {
      const broker = testBroker({ limits });
      const others = await bystanders(broker);
      const sub = await connected(broker);
      await sub.subscribe("#", 0);
      const c = await connected(broker);
      c.publish(ok, "fits", { qos: 1, messageId: 1 });
      await c.expect("puback");
      assert.equal((await sub.expect("publish")).topic, ok);
      c.sendBytes(publishFrame(tooMuch, "too much", { qos: 1, packetId: 2 }));
      assert.equal(await c.waitClosed(), true);
      assert.deepEqual(c.packets, [], "no PUBACK");
      assert.deepEqual(await sub.collect(40), []);
      assert.equal(broker.stats.protocolErrors, 1);
      await others.check(why);
      await broker.close();
    });
  }

  it("a will topic past the limits is refused at CONNECT", async () => {
    const broker = testBroker({ limits: { maxTopicLevels: 2 } });
    const c = RawClient.memory(broker);
    c.send({
      cmd: "connect",
      protocolId: "MQTT",
      protocolVersion: 4,
      clientId: "deepwill",
      clean: true,
      keepalive: 0,
      will: { topic: "a/b/c", payload: "x", qos: 0, retain: false },
    });
    const closed = await c.waitClosed();
    const ack = c.packets.find((p) => p.cmd === "connack");
    assert.ok(
      closed || (ack !== undefined && ack.returnCode !== 0),
      "refused: closed, or a refusing CONNACK",
    );
    assert.ok(ack === undefined || ack.returnCode !== 0);
    await broker.close();
  });

  it("over TCP, topic limits close only the offending connection", async () => {
    const { broker, port } = await tcpBroker({ limits: { maxTopicLevels: 2, maxTopicLength: 16 } });
    const c = await RawClient.tcp(port);
    try {
      const others = await bystanders(broker, port);
      await c.connect();
      assert.deepEqual((await c.subscribe([["x/y/z", 0], ["x/y", 0], ["x".repeat(17), 0]])).granted, [
        0x80,
        0,
        0x80,
      ]);
      c.publish("x/y/z", "deep");
      assert.equal(await c.waitClosed(), true);
      await others.check("tcp topic limits");
    } finally {
      c.destroy();
      await broker.close();
    }
  });
});
