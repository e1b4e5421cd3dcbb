/**
 * `$SYS/broker/...` topics: which topics exist, that their values follow the broker, who receives them
 * (MQTT-4.7.2-1: not a `#` subscriber) and that clients cannot publish into `$SYS`.
 * Most tests run on a FakeClock so the interval passes without sleeping.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../../src/clock.ts";
import { RawClient } from "../_helpers/raw_client.ts";
import { tcpBroker, testBroker } from "../_helpers/broker.ts";
import { connected } from "../conformance/_wire.ts";
import type { AnyPacket } from "../_helpers/raw_client.ts";

const SYS_TOPICS = [
  "$SYS/broker/version",
  "$SYS/broker/uptime",
  "$SYS/broker/clients/connected",
  "$SYS/broker/clients/disconnected",
  "$SYS/broker/clients/total",
  "$SYS/broker/clients/maximum",
  "$SYS/broker/connections/total",
  "$SYS/broker/messages/received",
  "$SYS/broker/messages/sent",
  "$SYS/broker/messages/inflight",
  "$SYS/broker/messages/dropped",
  "$SYS/broker/bytes/received",
  "$SYS/broker/bytes/sent",
  "$SYS/broker/subscriptions/count",
  "$SYS/broker/retained messages/count",
  "$SYS/broker/protocol errors",
];

/** Latest value per topic among the PUBLISH packets in `packets`. */
function values(packets: AnyPacket[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const p of packets) if (p.cmd === "publish") out.set(p.topic, p.payload.toString());
  return out;
}

function sysBroker(clock: FakeClock, extra: Record<string, unknown> = {}) {
  return testBroker({ clock, sysInterval: 1, version: "9.9.9", ...extra });
}

describe("$SYS topics", () => {
  it("a $SYS/# subscriber receives every broker topic, retained, at QoS 0", async () => {
    const clock = new FakeClock();
    const broker = sysBroker(clock);
    const c = await connected(broker);
    await c.subscribe("$SYS/#", 1);
    const got = await c.collect(40);
    assert.deepEqual(got.map((p) => p.topic).sort(), [...SYS_TOPICS].sort());
    for (const p of got) {
      assert.equal(p.retain, true, `${p.topic} is retained`);
      assert.equal(p.qos, 0, `${p.topic} is QoS 0`);
    }
    const v = values(got);
    assert.equal(v.get("$SYS/broker/version"), "comqtt-ts 9.9.9");
    assert.equal(v.get("$SYS/broker/uptime"), "0 seconds");
    for (const t of SYS_TOPICS.slice(2)) assert.match(v.get(t)!, /^\d+$/, `${t} is a count`);
    await broker.close();
  });

  it("the values follow the broker's clients, messages, subscriptions, retained, inflight and drops", async () => {
    const clock = new FakeClock();
    const broker = sysBroker(clock);
    const sys = await connected(broker);
    await sys.subscribe("$SYS/#", 0);
    await sys.collect(30);

    // One persistent session that goes offline, subscribed at QoS 1: a QoS 0 message for it is dropped.
    const away = await connected(broker, { clientId: "away", clean: false });
    await away.subscribe("data/#", 1);
    away.disconnect();
    await away.waitClosed();
    // A subscriber that never acknowledges: one QoS 1 message stays in flight.
    const slow = await connected(broker);
    await slow.subscribe("data/#", 1, 2);
    const pub = await connected(broker);
    pub.publish("data/a", "zero"); // dropped for the offline session
    pub.publish("data/b", "one", { qos: 1, messageId: 1, retain: true });
    await pub.expect("puback");
    pub.publish("$SYS/broker/uptime", "forged", { qos: 1, messageId: 2 }); // not authorized: dropped
    await pub.expect("puback");
    await slow.expect("publish");
    await slow.expect("publish");
    const bad = await connected(broker);
    bad.sendBytes([0x20, 0x02, 0x00, 0x00]); // CONNACK from a client: a protocol error
    await bad.waitClosed();

    const stats = broker.stats;
    const before = {
      bytesSent: stats.bytesSent,
      bytesReceived: stats.bytesReceived,
      messagesSent: stats.messagesSent,
    };
    const retainedBefore = broker.retainedCount;
    clock.advance(1000);
    const v = values(await sys.collect(40));
    assert.equal(v.get("$SYS/broker/uptime"), "1 seconds");
    assert.equal(v.get("$SYS/broker/clients/connected"), "3", "sys, slow, pub");
    assert.equal(v.get("$SYS/broker/clients/disconnected"), "1", "the offline persistent session");
    assert.equal(v.get("$SYS/broker/clients/total"), "4");
    assert.equal(
      v.get("$SYS/broker/clients/maximum"),
      "4",
      "sys, slow, pub and bad at the peak (away left first)",
    );
    assert.equal(v.get("$SYS/broker/connections/total"), "5");
    assert.equal(v.get("$SYS/broker/messages/received"), "3", "three PUBLISH packets from clients");
    assert.equal(v.get("$SYS/broker/messages/inflight"), "1", "one unacknowledged QoS 1 delivery to slow");
    assert.equal(
      v.get("$SYS/broker/messages/dropped"),
      "2",
      "QoS 0 for an offline session, and the $SYS forgery",
    );
    assert.equal(v.get("$SYS/broker/subscriptions/count"), "3", "$SYS/#, away's data/#, slow's data/#");
    assert.equal(v.get("$SYS/broker/retained messages/count"), String(retainedBefore));
    assert.equal(v.get("$SYS/broker/protocol errors"), "1");
    assert.equal(v.get("$SYS/broker/messages/sent"), String(before.messagesSent));
    assert.equal(v.get("$SYS/broker/bytes/sent"), String(before.bytesSent));
    assert.equal(v.get("$SYS/broker/bytes/received"), String(before.bytesReceived));
    assert.ok(before.bytesReceived > 0 && before.bytesSent > 0 && before.messagesSent >= 3);

    // One more retained message moves the retained count by one at the next interval.
    pub.publish("data/c", "kept", { retain: true });
    pub.send({ cmd: "pingreq" });
    await pub.expect("pingresp");
    clock.advance(1000);
    const w = values(await sys.collect(40));
    assert.equal(w.get("$SYS/broker/retained messages/count"), String(retainedBefore + 1));
    assert.equal(w.get("$SYS/broker/uptime"), "2 seconds");
    await broker.close();
  });

  it("only the values that changed are published again at each interval", async () => {
    const clock = new FakeClock();
    const broker = sysBroker(clock);
    const c = await connected(broker);
    await c.subscribe("$SYS/#", 0);
    await c.collect(30);
    clock.advance(1000); // the first values were taken before this client connected: some change here
    await c.collect(30);
    clock.advance(1000);
    const first = await c.collect(30);
    const topics = first.map((p) => p.topic);
    assert.ok(topics.includes("$SYS/broker/uptime"));
    assert.ok(!topics.includes("$SYS/broker/version"), "the version did not change");
    assert.ok(!topics.includes("$SYS/broker/clients/connected"), "nobody connected meanwhile");
    for (const p of first) assert.equal(p.retain, false, "live $SYS updates to an established subscription");
    assert.equal(new Set(topics).size, topics.length, "each topic at most once per interval");
    await broker.close();
  });

  it("MQTT-4.7.2-1 a subscriber to # or +/... receives no $SYS topic, retained or live", async () => {
    const clock = new FakeClock();
    const broker = sysBroker(clock);
    const c = await connected(broker);
    const ack = await c.subscribe([["#", 0], ["+/broker/#", 0], ["+/+/uptime", 0]]);
    assert.deepEqual(ack.granted, [0, 0, 0]);
    assert.ok(broker.retainedCount >= SYS_TOPICS.length, "$SYS values are retained on the broker");
    for (let i = 0; i < 3; i++) clock.advance(1000);
    assert.deepEqual(await c.collect(40), []);
    await broker.close();
  });

  it("a client's PUBLISH to $SYS is acknowledged but neither delivered nor retained", async () => {
    const clock = new FakeClock();
    const broker = sysBroker(clock);
    const sys = await connected(broker);
    await sys.subscribe("$SYS/#", 0);
    await sys.collect(30);
    const c = await connected(broker);
    c.publish("$SYS/broker/version", "forged", { qos: 1, messageId: 1, retain: true });
    assert.equal((await c.expect("puback")).messageId, 1);
    c.publish("$SYS/new/topic", "forged", { qos: 2, messageId: 2, retain: true });
    assert.equal((await c.expect("pubrec")).messageId, 2);
    c.send({ cmd: "pubrel", messageId: 2 });
    await c.expect("pubcomp");
    c.publish("$SYS", "forged");
    assert.deepEqual(await sys.collect(40), [], "nothing delivered");
    assert.equal(
      new TextDecoder().decode(broker.getRetained("$SYS/broker/version")!.payload),
      "comqtt-ts 9.9.9",
    );
    assert.equal(broker.getRetained("$SYS/new/topic"), undefined);
    assert.equal(c.closed, false);
    await broker.close();
  });

  it("a will on a $SYS topic is not published", async () => {
    const clock = new FakeClock();
    const broker = sysBroker(clock);
    const sys = await connected(broker);
    await sys.subscribe("$SYS/#", 0);
    await sys.collect(30);
    const c = await connected(broker, {
      will: { topic: "$SYS/broker/version", payload: "x", qos: 0, retain: true },
    });
    c.destroy();
    await c.waitClosed();
    const got = (await sys.collect(40)).filter((p) => p.topic === "$SYS/broker/version");
    assert.deepEqual(got, []);
    assert.equal(
      new TextDecoder().decode(broker.getRetained("$SYS/broker/version")!.payload),
      "comqtt-ts 9.9.9",
    );
    await broker.close();
  });

  it("sysInterval 0 publishes no $SYS topic", async () => {
    const clock = new FakeClock();
    const broker = testBroker({ clock, sysInterval: 0 });
    const c = await connected(broker);
    await c.subscribe("$SYS/#", 0);
    clock.advance(60_000);
    assert.deepEqual(await c.collect(40), []);
    assert.equal(broker.retainedCount, 0);
    await broker.close();
  });

  it("closing the broker stops the $SYS timer", async () => {
    const clock = new FakeClock();
    const broker = sysBroker(clock);
    const c = await connected(broker);
    await c.subscribe("$SYS/#", 0);
    clock.advance(1000);
    const uptime = () => new TextDecoder().decode(broker.getRetained("$SYS/broker/uptime")!.payload);
    assert.equal(uptime(), "1 seconds");
    await broker.close();
    clock.advance(5000);
    assert.equal(uptime(), "1 seconds");
  });

  it("with the system clock and a 1 s interval, a TCP subscriber gets live uptime updates", async () => {
    const { broker, port } = await tcpBroker({ sysInterval: 1 });
    const c = await RawClient.tcp(port);
    try {
      await c.connect();
      await c.subscribe("$SYS/broker/uptime", 0);
      const retained = await c.expect("publish");
      assert.equal(retained.retain, true);
      const live = await c.expect("publish", 2500);
      assert.equal(live.topic, "$SYS/broker/uptime");
      assert.equal(live.retain, false);
      assert.match(live.payload.toString(), /^[1-9]\d* seconds$/);
    } finally {
      c.destroy();
      await broker.close();
    }
  });
});
