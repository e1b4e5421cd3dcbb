/**
 * Conformance: UNSUBSCRIBE and UNSUBACK (MQTT 3.1.1 sections 3.10 and 3.11), one test per normative statement.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { RawClient } from "../_helpers/raw_client.ts";
import { testBroker, until } from "../_helpers/broker.ts";
import { connected, unsubscribeFrame } from "./_wire.ts";

describe("conformance 3.10 UNSUBSCRIBE", () => {
  for (const flags of [0x0, 0x1, 0x3, 0x8, 0xf]) {
    it(`MQTT-3.10.1-1 an UNSUBSCRIBE with fixed-header flags 0x${flags.toString(16)} closes the connection`, async () => {
      const broker = testBroker();
      const c = await connected(broker, { clientId: "u" });
      await c.subscribe("keep/me", 0);
      c.sendBytes(unsubscribeFrame(2, ["keep/me"], flags));
      assert.equal(await c.waitClosed(), true);
      assert.deepEqual(c.packets, [], "no UNSUBACK for a malformed UNSUBSCRIBE");
      assert.equal(broker.stats.protocolErrors, 1);
      await broker.close();
    });
  }

  it("MQTT-3.10.1-1 an UNSUBSCRIBE with flags 0010 is accepted (the control case)", async () => {
    const broker = testBroker();
    const c = await connected(broker);
    await c.subscribe("keep/me", 0);
    c.sendBytes(unsubscribeFrame(2, ["keep/me"]));
    const ack = await c.expect("unsuback");
    assert.equal(ack.messageId, 2);
    assert.equal(broker.subscriptionCount, 0);
    await broker.close();
  });

  for (
    const [why, filter] of [
      ["a lone continuation byte", [0x61, 0x80]],
      ["an encoded surrogate U+D800", [0xed, 0xa0, 0x80]],
      ["an overlong encoding", [0xc1, 0xbf]],
      ["U+0000", [0x61, 0x00, 0x62]],
    ] as const
  ) {
    it(`MQTT-3.10.3-1 a topic filter with ${why} closes the connection`, async () => {
      const broker = testBroker();
      const c = await connected(broker, { clientId: "u8" });
      await c.subscribe("keep/me", 0);
      c.sendBytes(unsubscribeFrame(3, ["keep/me", [...filter]]));
      assert.equal(await c.waitClosed(), true);
      assert.deepEqual(c.packets, [], "no UNSUBACK");
      await broker.close();
    });
  }

  it("MQTT-3.10.3-2 an UNSUBSCRIBE with no topic filter closes the connection", async () => {
    const broker = testBroker();
    const c = await connected(broker);
    await c.subscribe("keep/me", 0);
    c.sendBytes([0xa2, 0x02, 0x00, 0x05]);
    assert.equal(await c.waitClosed(), true);
    assert.deepEqual(c.packets, []);
    assert.equal(broker.stats.protocolErrors, 1);
    await broker.close();
  });

  it("MQTT-3.10.4-1 only a character-for-character identical filter is deleted", async () => {
    const broker = testBroker();
    const c = await connected(broker, { clientId: "exact" });
    await c.subscribe([["a/+", 0], ["a/b", 1], ["x/#", 0]]);
    const subs = broker.getSession("exact")!.subscriptions;
    // Filters that would match or overlap, but are not the same characters.
    c.send({
      cmd: "unsubscribe",
      messageId: 4,
      unsubscriptions: ["a/#", "A/b", "a/b/", "a/+/", "a/b ", "#", "x/+"],
    });
    await c.expect("unsuback");
    assert.deepEqual([...subs.keys()].sort(), ["a/+", "a/b", "x/#"], "nothing deleted");
    c.send({ cmd: "unsubscribe", messageId: 5, unsubscriptions: ["a/b"] });
    await c.expect("unsuback");
    assert.deepEqual([...subs.keys()].sort(), ["a/+", "x/#"], "only the exact filter deleted");
    const p = await connected(broker);
    p.publish("a/b", "via plus", { qos: 1, messageId: 1 });
    const m = await c.expect("publish");
    assert.deepEqual([m.topic, m.qos], ["a/b", 0], "still delivered through a/+ at its QoS");
    await broker.close();
  });

  it("MQTT-3.10.4-2 after the UNSUBACK no new message is added for the deleted subscription", async () => {
    const broker = testBroker();
    const c = await connected(broker, { clientId: "gone" });
    await c.subscribe([["g/1", 1], ["g/2", 0]]);
    const p = await connected(broker);
    p.publish("g/1", "before");
    assert.equal((await c.expect("publish")).payload.toString(), "before");
    c.send({ cmd: "unsubscribe", messageId: 2, unsubscriptions: ["g/1"] });
    await c.expect("unsuback");
    for (let i = 0; i < 5; i++) p.publish("g/1", `after ${i}`, { qos: 1, messageId: i + 1 });
    for (let i = 0; i < 5; i++) await p.expect("puback");
    p.publish("g/2", "other");
    const m = await c.expect("publish");
    assert.equal(m.topic, "g/2", "the other subscription still works, and nothing for g/1 came before it");
    assert.deepEqual(await c.collect(40), []);
    assert.equal(broker.getSession("gone")!.queued, 0);
    await broker.close();
  });

  it("MQTT-3.10.4-3 QoS 1 and QoS 2 deliveries under way are completed after the UNSUBSCRIBE", async () => {
    const broker = testBroker();
    const c = await connected(broker, { clientId: "finishing" });
    await c.subscribe([["f/1", 1], ["f/2", 2]]);
    const p = await connected(broker);
    p.publish("f/1", "one", { qos: 1, messageId: 1 });
    p.publish("f/2", "two", { qos: 2, messageId: 2 });
    const m1 = await c.expect("publish");
    const m2 = await c.expect("publish");
    assert.deepEqual([m1.topic, m1.qos, m2.topic, m2.qos], ["f/1", 1, "f/2", 2]);
    assert.equal(broker.inflightCount, 2);

    c.send({ cmd: "unsubscribe", messageId: 9, unsubscriptions: ["f/1", "f/2"] });
    await c.expect("unsuback");
    assert.equal(broker.inflightCount, 2, "the deliveries under way are kept");

    c.send({ cmd: "puback", messageId: m1.messageId });
    c.send({ cmd: "pubrec", messageId: m2.messageId });
    const rel = await c.expect("pubrel");
    assert.equal(rel.messageId, m2.messageId, "the QoS 2 flow goes on with PUBREL");
    c.send({ cmd: "pubcomp", messageId: m2.messageId });
    await until(() => broker.inflightCount === 0, 1000, "both flows completed");
    await broker.close();
  });

  it("MQTT-3.10.4-3 an unacknowledged delivery is re-sent on reconnect even though the filter was removed", async () => {
    const broker = testBroker();
    const c = await connected(broker, { clientId: "resend", clean: false });
    await c.subscribe("rs/#", 1);
    const p = await connected(broker);
    p.publish("rs/a", "pending", { qos: 1, messageId: 1 });
    const m = await c.expect("publish");
    c.send({ cmd: "unsubscribe", messageId: 2, unsubscriptions: ["rs/#"] });
    await c.expect("unsuback");
    c.destroy();
    await c.waitClosed();
    const again = RawClient.memory(broker);
    const ack = await again.connect({ clientId: "resend", clean: false });
    assert.equal(ack.sessionPresent, true);
    const re = await again.expect("publish");
    assert.deepEqual([re.topic, re.messageId, re.dup, re.payload.toString()], [
      "rs/a",
      m.messageId,
      true,
      "pending",
    ]);
    again.send({ cmd: "puback", messageId: re.messageId });
    await until(() => broker.inflightCount === 0, 1000, "the delivery completed");
    await broker.close();
  });

  it("MQTT-3.10.4-4 the UNSUBACK carries the UNSUBSCRIBE's packet identifier", async () => {
    const broker = testBroker();
    const c = await connected(broker);
    await c.subscribe("p/#", 0);
    for (const id of [1, 0x00ff, 0x0100, 0xabcd, 65_535]) {
      c.sendBytes(unsubscribeFrame(id, ["p/#"]));
      const ack = await c.expect("unsuback");
      assert.equal(ack.messageId, id);
    }
    await broker.close();
  });

  it("MQTT-3.10.4-5 an UNSUBACK is sent even when no subscription was deleted", async () => {
    const broker = testBroker();
    const c = await connected(broker);
    c.send({ cmd: "unsubscribe", messageId: 21, unsubscriptions: ["never/subscribed"] });
    const ack = await c.expect("unsuback");
    assert.equal(ack.messageId, 21);
    await c.subscribe("s", 0);
    c.send({ cmd: "unsubscribe", messageId: 22, unsubscriptions: ["s"] });
    assert.equal((await c.expect("unsuback")).messageId, 22);
    c.send({ cmd: "unsubscribe", messageId: 23, unsubscriptions: ["s"] });
    assert.equal(
      (await c.expect("unsuback")).messageId,
      23,
      "the second removal of the same filter is answered too",
    );
    await broker.close();
  });

  it("MQTT-3.10.4-6 several filters in one UNSUBSCRIBE are handled in turn with a single UNSUBACK", async () => {
    const broker = testBroker();
    const c = await connected(broker, { clientId: "multi-un" });
    await c.subscribe([["m/1", 0], ["m/2", 1], ["m/3", 2], ["m/+", 0]]);
    c.send({ cmd: "unsubscribe", messageId: 31, unsubscriptions: ["m/1", "nope", "m/3", "m/+", "m/1"] });
    const ack = await c.expect("unsuback");
    assert.equal(ack.messageId, 31);
    assert.deepEqual(await c.collect(30), [], "a single UNSUBACK");
    assert.deepEqual([...broker.getSession("multi-un")!.subscriptions.keys()], ["m/2"]);
    assert.equal(broker.subscriptionCount, 1);
    const p = await connected(broker);
    for (const t of ["m/1", "m/3", "m/2"]) p.publish(t, t);
    const m = await c.expect("publish");
    assert.equal(m.topic, "m/2");
    assert.deepEqual(await c.collect(30), []);
    await broker.close();
  });
});
