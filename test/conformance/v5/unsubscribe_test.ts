/**
 * Conformance, MQTT 5.0: UNSUBSCRIBE, UNSUBACK and PINGREQ (sections 3.10 to 3.12), one test or more per normative
 * statement, named `MQTT-x.y.z-n (5.0)` because 3.1.1 uses the same ids for other rules.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { testBroker } from "../../_helpers/broker.ts";
import {
  expectDisconnect,
  subscribeV5,
  UNSUBACK_CODES,
  unsubscribeFrameV5,
  unsubscribeV5,
  v5Client,
  wireSize,
} from "./_v5_kit.ts";

/** CONNECT options of a session that outlives its connection, so that its state can be read after a close. */
function persistent(clientId: string): Record<string, unknown> {
  return { clientId, clean: false, properties: { sessionExpiryInterval: 60 } };
}

describe("conformance 5.0 3.10 UNSUBSCRIBE", () => {
  for (const flags of [0x0, 0x1, 0x3, 0xf]) {
    it(`MQTT-3.10.1-1 (5.0) UNSUBSCRIBE with fixed-header flags 0x${flags.toString(16)} is malformed: DISCONNECT 0x81`, async () => {
      const broker = testBroker();
      const c = await v5Client(broker, persistent("uflags"));
      await subscribeV5(c, [["u/a", {}]]);
      c.sendBytes(unsubscribeFrameV5(2, ["u/a"], flags));
      await expectDisconnect(c, 0x81);
      assert.equal(broker.getSession("uflags")?.subscriptions.has("u/a"), true, "nothing was removed");
      await broker.close();
    });
  }

  it("MQTT-3.10.1-1 (5.0) UNSUBSCRIBE with flags 0010 is accepted (control case)", async () => {
    const broker = testBroker();
    const c = await v5Client(broker);
    await subscribeV5(c, [["u/a", {}]]);
    c.sendBytes(unsubscribeFrameV5(2, ["u/a"]));
    const ack = await c.expect("unsuback");
    assert.deepEqual(ack.granted, [0]);
    await broker.close();
  });

  for (
    const [why, filter] of [
      ["a lone continuation byte", [0x61, 0x80]],
      ["an encoded surrogate", [0xed, 0xbf, 0xbf]],
      ["the byte 0xFF", [0x61, 0xff]],
    ] as const
  ) {
    it(`MQTT-3.10.3-1 (5.0) an UNSUBSCRIBE filter with ${why} is malformed: DISCONNECT 0x81, nothing removed`, async () => {
      const broker = testBroker();
      const c = await v5Client(broker, persistent("ubad"));
      await subscribeV5(c, [["keep/me", {}]]);
      c.sendBytes(unsubscribeFrameV5(3, ["keep/me", [...filter]]));
      await expectDisconnect(c, 0x81);
      assert.equal(
        broker.getSession("ubad")?.subscriptions.has("keep/me"),
        true,
        "no filter of the packet was removed",
      );
      await broker.close();
    });
  }

  it("MQTT-3.10.3-2 (5.0) an UNSUBSCRIBE with no filter is a Protocol Error: DISCONNECT 0x82", async () => {
    const broker = testBroker();
    const c = await v5Client(broker);
    c.sendBytes(unsubscribeFrameV5(3, []));
    await expectDisconnect(c, 0x82);
    await broker.close();
  });

  it("MQTT-3.10.4-1 (5.0) only a character-for-character identical filter is removed", async () => {
    const broker = testBroker();
    const c = await v5Client(broker, { clientId: "exact" });
    await subscribeV5(c, [["ex/+", {}], ["ex/b", {}], ["Ex/B", {}], ["$share/g/ex/b", {}]]);
    const ack = await unsubscribeV5(c, ["ex/b", "ex/#", "EX/B", "ex/+/", "$share/G/ex/b"]);
    assert.deepEqual(ack.granted, [0x00, 0x11, 0x11, 0x11, 0x11]);
    const left = [...broker.getSession("exact")!.subscriptions.keys()].sort();
    assert.deepEqual(left, ["$share/g/ex/b", "Ex/B", "ex/+"]);
    await broker.close();
  });

  it("MQTT-3.10.4-2 (5.0) after UNSUBSCRIBE no new message is sent or queued for that filter", async () => {
    const broker = testBroker();
    const opts = { clientId: "stopq", clean: false, properties: { sessionExpiryInterval: 300 } };
    const c = await v5Client(broker, opts);
    await subscribeV5(c, [["sq/a", { qos: 1 }], ["sq/b", { qos: 1 }]]);
    await unsubscribeV5(c, ["sq/a"]);
    const p = await v5Client(broker);
    p.publish("sq/a", "online", { qos: 1, messageId: 1 });
    assert.equal((await p.expect("puback")).reasonCode, 0x10, "nobody subscribed any more");
    assert.deepEqual(await c.collect(50), []);
    c.destroy();
    await c.waitClosed();
    p.publish("sq/a", "offline a", { qos: 1, messageId: 2 });
    await p.expect("puback");
    p.publish("sq/b", "offline b", { qos: 1, messageId: 3 });
    await p.expect("puback");
    assert.equal(broker.getSession("stopq")!.queued, 1, "only the still-subscribed filter queues");
    const again = await v5Client(broker, opts);
    const m = await again.expect("publish");
    assert.equal(m.payload.toString(), "offline b");
    assert.deepEqual(await again.collect(50), []);
    await broker.close();
  });

  it("MQTT-3.10.4-3 (5.0) QoS 1 and QoS 2 deliveries under way complete after UNSUBSCRIBE", async () => {
    const broker = testBroker();
    const c = await v5Client(broker, { clientId: "finish" });
    await subscribeV5(c, [["fin/#", { qos: 2 }]]);
    const p = await v5Client(broker);
    p.publish("fin/1", "one", { qos: 1, messageId: 1 });
    p.publish("fin/2", "two", { qos: 2, messageId: 2 });
    const m1 = await c.expect("publish");
    const m2 = await c.expect("publish");
    await unsubscribeV5(c, ["fin/#"]);
    c.send({ cmd: "puback", messageId: m1.messageId });
    c.send({ cmd: "pubrec", messageId: m2.messageId });
    const rel = await c.expect("pubrel");
    assert.equal(rel.messageId, m2.messageId);
    c.send({ cmd: "pubcomp", messageId: m2.messageId });
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(broker.getSession("finish")!.inflight.size, 0, "both flows completed");
    assert.equal(c.closed, false);
    await broker.close();
  });

  it("MQTT-3.10.4-4 (5.0) every UNSUBSCRIBE is answered with an UNSUBACK", async () => {
    const broker = testBroker();
    const c = await v5Client(broker);
    await subscribeV5(c, [["ua/1", {}]]);
    for (let i = 1; i <= 3; i++) c.send({ cmd: "unsubscribe", messageId: i, unsubscriptions: ["ua/1"] });
    const acks = [await c.expect("unsuback"), await c.expect("unsuback"), await c.expect("unsuback")];
    assert.deepEqual(acks.map((a) => a.granted), [[0x00], [0x11], [0x11]]);
    await broker.close();
  });

  it("MQTT-3.10.4-5 (5.0) the UNSUBACK carries the UNSUBSCRIBE's Packet Identifier, also when nothing was removed", async () => {
    const broker = testBroker();
    const c = await v5Client(broker);
    for (const id of [7, 0x0100, 65_535]) {
      const ack = await unsubscribeV5(c, ["never/subscribed"], id);
      assert.deepEqual(ack.granted, [0x11], "No subscription existed");
    }
    await broker.close();
  });

  it("MQTT-3.10.4-6 (5.0) a multi-filter UNSUBSCRIBE acts as a series, answered by one UNSUBACK", async () => {
    const broker = testBroker();
    const c = await v5Client(broker, { clientId: "useries" });
    await subscribeV5(c, [["us/a", {}], ["us/b", {}], ["us/c", {}]]);
    c.send({ cmd: "unsubscribe", messageId: 9, unsubscriptions: ["us/a", "us/a", "us/c", "us/zzz"] });
    const ack = await c.expect("unsuback");
    assert.deepEqual(ack.granted, [0x00, 0x11, 0x00, 0x11], "the second us/a finds it already gone");
    assert.deepEqual(await c.collect(50), [], "one UNSUBACK only");
    assert.deepEqual([...broker.getSession("useries")!.subscriptions.keys()], ["us/b"]);
    await broker.close();
  });
});

describe("conformance 5.0 3.11 UNSUBACK", () => {
  it("MQTT-3.11.2-1 (5.0) MQTT-3.11.2-2 (5.0) an UNSUBACK never exceeds the client's Maximum Packet Size", async () => {
    const broker = testBroker();
    const c = await v5Client(broker, { properties: { maximumPacketSize: 32 } });
    await subscribeV5(c, [["mu/a", {}]]);
    const acks = [
      await unsubscribeV5(c, ["mu/a"], 1),
      await unsubscribeV5(c, ["mu/none"], 2),
      await unsubscribeV5(c, ["a/#/b"], 3),
    ];
    assert.deepEqual(
      acks.map((a) => a.granted),
      [[0x00], [0x11], [0x8f]],
      "the UNSUBACKs themselves are sent",
    );
    for (const a of acks) assert.ok(wireSize(a) <= 32, `UNSUBACK of ${wireSize(a)} bytes`);
    await broker.close();
  });

  it("MQTT-3.11.3-1 (5.0) UNSUBACK codes follow the order of the filters", async () => {
    const broker = testBroker();
    const c = await v5Client(broker);
    const present = ["o/0", "o/2", "o/5", "o/6"];
    await subscribeV5(c, present.map((f) => [f, {}]));
    const asked = Array.from({ length: 9 }, (_, i) => (i === 4 ? "bad/#/x" : `o/${i}`));
    const ack = await unsubscribeV5(c, asked);
    assert.deepEqual(
      ack.granted,
      asked.map((f) => (f === "bad/#/x" ? 0x8f : present.includes(f) ? 0x00 : 0x11)),
    );
    await broker.close();
  });

  it("MQTT-3.11.3-2 (5.0) only defined Unsubscribe Reason Codes, one per filter", async () => {
    const broker = testBroker();
    const c = await v5Client(broker);
    await subscribeV5(c, [["d/a", {}], ["$share/g/d/b", {}]]);
    const ack = await unsubscribeV5(c, ["d/a", "d/a", "$share/g/d/b", "", "d/#/x", "\u{1F600}"]);
    assert.equal(ack.granted.length, 6);
    for (const g of ack.granted) {
      assert.ok(UNSUBACK_CODES.has(g), `0x${g.toString(16)} is an Unsubscribe Reason Code`);
    }
    assert.deepEqual(ack.granted, [0x00, 0x11, 0x00, 0x8f, 0x8f, 0x11]);
    await broker.close();
  });
});

describe("conformance 5.0 3.12 PINGREQ", () => {
  it("MQTT-3.12.4-1 (5.0) every PINGREQ gets a PINGRESP, also several in one write", async () => {
    const broker = testBroker();
    const c = await v5Client(broker);
    c.send({ cmd: "pingreq" });
    await c.expect("pingresp");
    c.sendBytes([0xc0, 0x00, 0xc0, 0x00, 0xc0, 0x00]);
    for (let i = 0; i < 3; i++) await c.expect("pingresp");
    assert.deepEqual(await c.collect(30), []);
    await broker.close();
  });
});
