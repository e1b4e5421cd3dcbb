/**
 * Conformance, MQTT 5.0: shared subscriptions (section 4.8.2), one test or more per normative statement, named
 * `MQTT-x.y.z-n (5.0)`. Tests named `4.8.2 (5.0)` without an id check untagged text of the section or the
 * broker's documented choices (round robin, connected members first).
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../../../src/clock.ts";
import type { AnyPacket, RawClient } from "../../_helpers/raw_client.ts";
import { testBroker, until } from "../../_helpers/broker.ts";
import { sleep, subscribeV5, v5Client } from "./_v5_kit.ts";

const KEEP = { clean: false, properties: { sessionExpiryInterval: 60 } };

/** Which of `members` got a PUBLISH within `ms` (taking it), or -1. */
async function whoGot(members: RawClient[], ms = 300): Promise<{ index: number; packet: AnyPacket }> {
  const end = Date.now() + ms;
  for (;;) {
    for (const [i, m] of members.entries()) {
      const k = m.packets.findIndex((p) => p.cmd === "publish");
      if (k >= 0) return { index: i, packet: m.packets.splice(k, 1)[0] };
    }
    if (Date.now() > end) return { index: -1, packet: undefined };
    await sleep(5);
  }
}

describe("conformance 5.0 4.8.2 shared subscriptions", () => {
  for (const filter of ["$share//t", "$share/", "$share//"]) {
    it(`MQTT-4.8.2-1 (5.0) "${filter}" has no ShareName of at least one character: SUBACK 0x8F`, async () => {
      const broker = testBroker();
      const c = await v5Client(broker);
      const ack = await subscribeV5(c, [["ok", { qos: 1 }], [filter, { qos: 1 }]]);
      assert.deepEqual(ack.granted, [1, 0x8f]);
      assert.equal(broker.subscriptionCount, 1);
      await broker.close();
    });
  }

  it("MQTT-4.8.2-1 (5.0) $share/{name}/{filter} is a shared subscription: the topic arrives as published", async () => {
    const broker = testBroker();
    const c = await v5Client(broker);
    const ack = await subscribeV5(c, [["$share/g/sh1/t", { qos: 1 }], ["$share/x/sh1/#", { qos: 0 }]]);
    assert.deepEqual(ack.granted, [1, 0]);
    const p = await v5Client(broker);
    p.publish("sh1/t", "hello", { qos: 1, messageId: 1 });
    assert.equal((await p.expect("puback")).reasonCode ?? 0, 0);
    const got = [await c.expect("publish"), await c.expect("publish")];
    assert.deepEqual(got.map((m) => m.topic), ["sh1/t", "sh1/t"], "one copy per group, with the topic name");
    p.publish("$share/g/sh1/t", "literal");
    assert.deepEqual(await c.collect(50), [], "publishing to the $share/... name does not reach the group");
    await broker.close();
  });

  for (const filter of ["$share/g+/t", "$share/g#/t", "$share/+/t", "$share/#", "$share/g", "$share/g/"]) {
    it(`MQTT-4.8.2-2 (5.0) "${filter}": ShareName without / + #, then / and a filter, else SUBACK 0x8F`, async () => {
      const broker = testBroker();
      const c = await v5Client(broker);
      const ack = await subscribeV5(c, [[filter, { qos: 1 }]]);
      assert.deepEqual(ack.granted, [0x8f]);
      assert.equal(broker.subscriptionCount, 0);
      await broker.close();
    });
  }

  it("MQTT-4.8.2-2 (5.0) the filter after the ShareName may hold wildcards and is matched as a filter", async () => {
    const broker = testBroker();
    const c = await v5Client(broker);
    const ack = await subscribeV5(c, [["$share/w/sw/+/x", { qos: 0 }], ["$share/h/sw/#", { qos: 0 }]]);
    assert.deepEqual(ack.granted, [0, 0]);
    const p = await v5Client(broker);
    p.publish("sw/a/x", "1");
    p.publish("sw/b/y", "2");
    const got = [await c.expect("publish"), await c.expect("publish"), await c.expect("publish")];
    assert.deepEqual(got.map((m) => m.payload.toString()).sort(), ["1", "1", "2"]);
    assert.deepEqual(await c.collect(50), []);
    await broker.close();
  });

  it("4.8.2 (5.0) each message goes to one member of a group (round robin), and to every group and plain subscriber", async () => {
    const broker = testBroker();
    const members = [await v5Client(broker), await v5Client(broker), await v5Client(broker)];
    for (const m of members) await subscribeV5(m, [["$share/grp/rr/t", { qos: 1 }]]);
    const other = await v5Client(broker);
    await subscribeV5(other, [["$share/other/rr/t", { qos: 1 }]]);
    const plain = await v5Client(broker);
    await subscribeV5(plain, [["rr/t", { qos: 1 }]]);
    const p = await v5Client(broker);
    for (let i = 0; i < 9; i++) {
      p.publish("rr/t", `m${i}`, { qos: 1, messageId: i + 1 });
      await p.expect("puback");
    }
    await until(
      () => members.reduce((n, m) => n + m.packets.length, 0) === 9,
      2000,
      "9 deliveries to the group",
    );
    const counts = members.map((m) => m.packets.length);
    assert.deepEqual(counts, [3, 3, 3], "round robin spreads the 9 messages evenly");
    const seen = members.flatMap((m) => m.packets.map((x) => x.payload.toString())).sort();
    assert.deepEqual(seen, Array.from({ length: 9 }, (_, i) => `m${i}`), "each message once in the group");
    await until(() => other.packets.length === 9 && plain.packets.length === 9, 2000, "all 9 elsewhere");
    await broker.close();
  });

  it("4.8.2 (5.0) no retained message is sent when a shared subscription is made", async () => {
    const broker = testBroker();
    const p = await v5Client(broker);
    p.publish("ret/s", "kept", { qos: 1, messageId: 1, retain: true });
    await p.expect("puback");
    const c = await v5Client(broker);
    const ack = await subscribeV5(c, [["$share/g/ret/s", { qos: 1 }]]);
    assert.deepEqual(ack.granted, [1]);
    assert.deepEqual(await c.collect(80), []);
    const plain = await v5Client(broker);
    await subscribeV5(plain, [["ret/s", { qos: 1 }]]);
    assert.equal(
      (await plain.expect("publish")).payload.toString(),
      "kept",
      "control: a plain subscription gets it",
    );
    await broker.close();
  });

  it("MQTT-4.8.2-3 (5.0) a member gets the message within the QoS granted to its own subscription", async () => {
    const broker = testBroker();
    const low = await v5Client(broker);
    await subscribeV5(low, [["$share/q/sq/t", { qos: 0 }]], { subscriptionIdentifier: 11 });
    const high = await v5Client(broker);
    await subscribeV5(high, [["$share/q/sq/t", { qos: 2 }]], { subscriptionIdentifier: 22 });
    const p = await v5Client(broker);
    for (let i = 1; i <= 4; i++) {
      p.publish("sq/t", `m${i}`, { qos: 2, messageId: i });
      await p.expect("pubrec");
      p.send({ cmd: "pubrel", messageId: i });
      await p.expect("pubcomp");
    }
    await until(() => low.packets.length + high.packets.length === 4, 2000, "4 deliveries");
    assert.ok(low.packets.length > 0 && high.packets.length > 0, "both members were chosen at least once");
    for (const m of low.packets) {
      assert.equal(m.qos, 0);
      assert.equal(m.properties?.subscriptionIdentifier, 11, "the member's own Subscription Identifier");
    }
    for (const m of high.packets) {
      assert.equal(m.qos, 2);
      assert.equal(m.properties?.subscriptionIdentifier, 22);
    }
    await broker.close();
  });

  it("MQTT-4.8.2-4 (5.0) a QoS 2 delivery cut by a dropped connection completes with the same member on reconnect", async () => {
    const broker = testBroker();
    const a = await v5Client(broker, { clientId: "sh-a", ...KEEP });
    await subscribeV5(a, [["$share/d/dr/t", { qos: 2 }]]);
    const b = await v5Client(broker, { clientId: "sh-b", ...KEEP });
    await subscribeV5(b, [["$share/d/dr/t", { qos: 2 }]]);
    const p = await v5Client(broker);
    p.publish("dr/t", "once", { qos: 2, messageId: 1 });
    await p.expect("pubrec");
    const members = [a, b];
    const chosen = await whoGot(members);
    assert.notEqual(chosen.index, -1, "one member got the message");
    const ids = ["sh-a", "sh-b"];
    const first = chosen.packet;
    members[chosen.index]!.destroy();
    await members[chosen.index]!.waitClosed();
    const again = await v5Client(broker, { clientId: ids[chosen.index], ...KEEP });
    const resent = await again.expect("publish");
    assert.equal(resent.payload.toString(), "once");
    assert.equal(resent.messageId, first.messageId, "the same packet identifier");
    assert.equal(resent.dup, true);
    again.send({ cmd: "pubrec", messageId: resent.messageId });
    await again.expect("pubrel");
    again.send({ cmd: "pubcomp", messageId: resent.messageId });
    const otherClient = members[1 - chosen.index]!;
    assert.deepEqual(
      otherClient.packets.filter((x) => x.cmd === "publish"),
      [],
      "never offered to the other member",
    );
    assert.deepEqual(await otherClient.collect(50), []);
    await broker.close();
  });

  it("MQTT-4.8.2-4 (5.0) after PUBREC the PUBREL is resent to the same member when it reconnects", async () => {
    const broker = testBroker();
    const a = await v5Client(broker, { clientId: "rel-a", ...KEEP });
    await subscribeV5(a, [["$share/e/rl/t", { qos: 2 }]]);
    const b = await v5Client(broker, { clientId: "rel-b", ...KEEP });
    await subscribeV5(b, [["$share/e/rl/t", { qos: 2 }]]);
    const p = await v5Client(broker);
    p.publish("rl/t", "x", { qos: 2, messageId: 1 });
    await p.expect("pubrec");
    const chosen = await whoGot([a, b]);
    const member = [a, b][chosen.index]!;
    member.send({ cmd: "pubrec", messageId: chosen.packet.messageId });
    await member.expect("pubrel");
    member.destroy();
    await member.waitClosed();
    const again = await v5Client(broker, { clientId: ["rel-a", "rel-b"][chosen.index], ...KEEP });
    const rel = await again.expect("pubrel");
    assert.equal(rel.messageId, chosen.packet.messageId);
    again.send({ cmd: "pubcomp", messageId: rel.messageId });
    const other = [a, b][1 - chosen.index]!;
    assert.deepEqual(await other.collect(50), []);
    await broker.close();
  });

  it("MQTT-4.8.2-5 (5.0) when the member's session ends with its connection, the message goes to no other member", async () => {
    const broker = testBroker();
    const a = await v5Client(broker, { clientId: "end-a" }); // Session Expiry 0: ends with the connection
    await subscribeV5(a, [["$share/f/en/t", { qos: 2 }]]);
    const b = await v5Client(broker, { clientId: "end-b" });
    await subscribeV5(b, [["$share/f/en/t", { qos: 2 }]]);
    const p = await v5Client(broker);
    p.publish("en/t", "lost", { qos: 2, messageId: 1 });
    await p.expect("pubrec");
    const chosen = await whoGot([a, b]);
    assert.notEqual(chosen.index, -1);
    const member = [a, b][chosen.index]!;
    member.destroy();
    await member.waitClosed();
    assert.equal(broker.getSession(["end-a", "end-b"][chosen.index]!), undefined, "the session ended");
    const other = [a, b][1 - chosen.index]!;
    assert.deepEqual(await other.collect(100), [], "not handed to the other member");
    await broker.close();
  });

  it("MQTT-4.8.2-5 (5.0) when the member's session expires before it reconnects, the message goes to no other member", async () => {
    const clock = new FakeClock();
    const broker = testBroker({ clock });
    const opts = { clean: false, properties: { sessionExpiryInterval: 2 } };
    const a = await v5Client(broker, { clientId: "exp-a", ...opts });
    await subscribeV5(a, [["$share/x/ex/t", { qos: 1 }]]);
    const b = await v5Client(broker, { clientId: "exp-b", ...opts });
    await subscribeV5(b, [["$share/x/ex/t", { qos: 1 }]]);
    const p = await v5Client(broker);
    p.publish("ex/t", "stale", { qos: 1, messageId: 1 });
    await p.expect("puback");
    const chosen = await whoGot([a, b]);
    assert.notEqual(chosen.index, -1);
    const id = ["exp-a", "exp-b"][chosen.index]!;
    const member = [a, b][chosen.index]!;
    member.destroy();
    await member.waitClosed();
    assert.ok(broker.getSession(id), "kept for 2 s");
    clock.advance(3000);
    assert.equal(broker.getSession(id), undefined, "expired");
    const other = [a, b][1 - chosen.index]!;
    assert.deepEqual(await other.collect(100), [], "not handed to the other member");
    const back = await v5Client(broker, { clientId: id, ...opts });
    assert.deepEqual(await back.collect(50), [], "nor to a new session of the same id");
    await broker.close();
  });

  for (
    const [ack, code] of [["puback", 0x80], ["puback", 0x87], ["pubrec", 0x80], ["pubrec", 0x83]] as const
  ) {
    it(`MQTT-4.8.2-6 (5.0) a ${ack.toUpperCase()} of 0x${code.toString(16)} discards the message: no other member gets it`, async () => {
      const broker = testBroker();
      const qos = ack === "puback" ? 1 : 2;
      const a = await v5Client(broker, { clientId: `neg-a-${ack}` });
      await subscribeV5(a, [["$share/n/ng/t", { qos }]]);
      const b = await v5Client(broker, { clientId: `neg-b-${ack}` });
      await subscribeV5(b, [["$share/n/ng/t", { qos }]]);
      const p = await v5Client(broker);
      p.publish("ng/t", "refused", { qos, messageId: 1 });
      await p.expect(qos === 1 ? "puback" : "pubrec");
      const chosen = await whoGot([a, b]);
      assert.notEqual(chosen.index, -1);
      const member = [a, b][chosen.index]!;
      member.send({ cmd: ack, messageId: chosen.packet.messageId, reasonCode: code });
      const other = [a, b][1 - chosen.index]!;
      assert.deepEqual(await other.collect(100), [], "not offered to the other member");
      assert.deepEqual(
        await member.collect(50),
        [],
        "not resent to the member (and no PUBREL after a failed PUBREC)",
      );
      assert.equal(broker.inflightCount, 0, "the message is gone");
      await broker.close();
    });
  }

  it("4.8.2 (5.0) (broker choice) a message goes to a connected member rather than to an offline one", async () => {
    const broker = testBroker();
    const a = await v5Client(broker, { clientId: "on-a", ...KEEP });
    await subscribeV5(a, [["$share/o/on/t", { qos: 1 }]]);
    const b = await v5Client(broker, { clientId: "on-b", ...KEEP });
    await subscribeV5(b, [["$share/o/on/t", { qos: 1 }]]);
    a.destroy();
    await a.waitClosed();
    const p = await v5Client(broker);
    for (let i = 1; i <= 4; i++) {
      p.publish("on/t", `m${i}`, { qos: 1, messageId: i });
      await p.expect("puback");
    }
    await until(() => b.packets.length === 4, 2000, "4 messages at the connected member");
    assert.equal(broker.getSession("on-a")!.queued + broker.getSession("on-a")!.inflight.size, 0);
    await broker.close();
  });

  it("4.8.2 (5.0) unsubscribing one member leaves the group to the others", async () => {
    const broker = testBroker();
    const a = await v5Client(broker);
    const b = await v5Client(broker);
    for (const c of [a, b]) await subscribeV5(c, [["$share/u/un/t", { qos: 0 }]]);
    a.send({ cmd: "unsubscribe", messageId: 2, unsubscriptions: ["$share/u/un/t"] });
    assert.deepEqual((await a.expect("unsuback")).granted, [0]);
    const p = await v5Client(broker);
    for (let i = 0; i < 4; i++) p.publish("un/t", `m${i}`);
    await until(() => b.packets.length === 4, 2000, "all 4 at the remaining member");
    assert.deepEqual(await a.collect(30), []);
    await broker.close();
  });
});
