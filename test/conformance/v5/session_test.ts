/**
 * Conformance, MQTT 5.0: session state and its expiry (4.1), QoS 0/1/2 delivery in both directions (4.3),
 * retransmission (4.4), message receipt (4.5) and ordering (4.6). Timing runs on a FakeClock.
 * Test names carry "(5.0)" after the id.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../../../src/clock.ts";
import { type AnyPacket, RawClient } from "../../_helpers/raw_client.ts";
import { until } from "../../_helpers/broker.ts";
import {
  client5,
  drop,
  props,
  publish5Bytes,
  publishParts,
  subscribe5,
  subscriber5,
  tapSubscriber,
  withBroker,
  withTcpBroker,
} from "./_v5.ts";

/** `n` packets from `c`, each of command `cmd`. */
async function expectMany(c: RawClient, cmd: string, n: number): Promise<AnyPacket[]> {
  const out: AnyPacket[] = [];
  for (let i = 0; i < n; i++) out.push(await c.expect(cmd));
  return out;
}

/** Reconnect `clientId` with Clean Start 0. */
async function resume(
  broker: Parameters<typeof client5>[0],
  clientId: string,
  extra: AnyPacket = {},
): Promise<RawClient> {
  const c = RawClient.memory(broker, 5);
  const ack = await c.connect({
    clientId,
    clean: false,
    properties: { sessionExpiryInterval: 600 },
    ...extra,
  });
  assert.equal(ack.sessionPresent, true, "the session is resumed");
  return c;
}

const PERSIST = { properties: { sessionExpiryInterval: 600 } };

describe("conformance 5.0 4.1 session state", () => {
  it("MQTT-4.1.0-1 (5.0) session state is never discarded while the connection is open", async () => {
    const clock = new FakeClock();
    await withBroker(async (broker) => {
      const a = await subscriber5(broker, "open/#", 1, { clientId: "open0" });
      const b = await subscriber5(broker, "open/#", 1, {
        clientId: "open1",
        properties: { sessionExpiryInterval: 1 },
      });
      await broker.publish("open/t", "pending", { qos: 1 });
      await a.expect("publish");
      await b.expect("publish");
      clock.advance(3_600_000);
      for (const id of ["open0", "open1"]) {
        const s = broker.getSession(id);
        assert.equal(s?.subscriptions.has("open/#"), true, `${id} keeps its subscription`);
        assert.equal(s?.inflight.size, 1, `${id} keeps its unacknowledged message`);
      }
      await broker.publish("open/u", "still", { qos: 0 });
      assert.equal((await b.expect("publish")).topic, "open/u");
    }, { clock });
  });

  it("MQTT-4.1.0-2 (5.0) session state is discarded once the connection is closed and the expiry interval passed", async () => {
    const clock = new FakeClock();
    await withBroker(async (broker) => {
      const a = await subscriber5(broker, "gone/#", 1, {
        clientId: "exp10",
        properties: { sessionExpiryInterval: 10 },
      });
      await drop(broker, a, "exp10");
      await broker.publish("gone/t", "queued", { qos: 1 });
      clock.advance(9_900);
      assert.equal(broker.getSession("exp10")?.queued, 1, "kept before the interval ends");
      clock.advance(200);
      assert.equal(broker.getSession("exp10"), undefined, "discarded after it");
      const b = RawClient.memory(broker, 5);
      const ack = await b.connect({ clientId: "exp10", clean: false });
      assert.equal(ack.sessionPresent, false);
      assert.deepEqual(await b.collect(30), []);
    }, { clock });
  });

  it("MQTT-4.1.0-2 (5.0) the interval set on DISCONNECT is the one that counts", async () => {
    const clock = new FakeClock();
    await withBroker(async (broker) => {
      const a = await client5(broker, { clientId: "exp-d", properties: { sessionExpiryInterval: 10 } });
      a.send({ cmd: "disconnect", reasonCode: 0, properties: { sessionExpiryInterval: 30 } });
      await a.waitClosed();
      clock.advance(20_000);
      assert.ok(broker.getSession("exp-d"), "still there after 20 s");
      clock.advance(10_100);
      assert.equal(broker.getSession("exp-d"), undefined);
    }, { clock });
  });
});

describe("conformance 5.0 4.3 QoS delivery", () => {
  it("MQTT-4.3.1-1 (5.0) QoS 0 goes out with QoS 0 and DUP 0, and nothing is held", async () => {
    await withBroker(async (broker) => {
      const tap = await tapSubscriber(broker, "z/#", 2);
      const pub = await client5(broker);
      pub.publish("z/t", "x", { qos: 0 });
      const f = await tap.waitFor(3);
      assert.equal(f.flags, 0x00);
      assert.equal(broker.inflightCount, 0);
    });
  });

  it("MQTT-4.3.2-1 MQTT-4.3.3-1 (5.0) each new QoS 1/2 message takes a Packet Identifier not in use", async () => {
    await withBroker(async (broker) => {
      const s = await subscriber5(broker, "ids/#", 2);
      for (let i = 0; i < 6; i++) await broker.publish(`ids/${i}`, "x", { qos: (1 + (i % 2)) as 1 | 2 });
      const first = await expectMany(s, "publish", 6);
      const inUse = new Set(first.map((m) => m.messageId));
      assert.equal(inUse.size, 6);
      assert.ok(!inUse.has(0));
      s.send({ cmd: "puback", messageId: first[0].messageId });
      inUse.delete(first[0].messageId);
      s.send({ cmd: "pubrec", messageId: first[1].messageId });
      await s.expect("pubrel");
      for (let i = 0; i < 6; i++) await broker.publish(`ids/n${i}`, "y", { qos: (1 + (i % 2)) as 1 | 2 });
      for (const m of await expectMany(s, "publish", 6)) {
        assert.ok(m.messageId !== 0);
        assert.equal(inUse.has(m.messageId), false, `id ${m.messageId} is still in use`);
        inUse.add(m.messageId);
      }
    });
  });

  it("MQTT-4.3.2-2 (5.0) a QoS 1 PUBLISH goes out with its packet id, QoS 1 and DUP 0", async () => {
    await withBroker(async (broker) => {
      const tap = await tapSubscriber(broker, "q1/#", 1);
      await broker.publish("q1/t", "x", { qos: 1 });
      const f = await tap.waitFor(3);
      assert.equal(f.flags, 0x02);
      assert.ok(publishParts(f).packetId! > 0);
    });
  });

  it("MQTT-4.3.2-3 (5.0) a QoS 1 PUBLISH is held until its PUBACK, and resent until then", async () => {
    await withBroker(async (broker) => {
      const a = await subscriber5(broker, "h1/#", 1, { clientId: "h1", ...PERSIST });
      await broker.publish("h1/t", "x", { qos: 1 });
      const m = await a.expect("publish");
      assert.equal(broker.getSession("h1")?.inflight.has(m.messageId), true);
      await drop(broker, a, "h1");
      const b = await resume(broker, "h1");
      const again = await b.expect("publish");
      assert.deepEqual([again.messageId, again.dup], [m.messageId, true]);
      b.send({ cmd: "puback", messageId: m.messageId });
      await until(() => broker.getSession("h1")?.inflight.size === 0, 1000, "PUBACK to release");
      await drop(broker, b, "h1");
      const c = await resume(broker, "h1");
      assert.deepEqual(await c.collect(40), [], "not resent after PUBACK");
    });
  });

  it("MQTT-4.3.2-4 (5.0) QoS 1 in: PUBACK carries the PUBLISH's packet id", async () => {
    await withBroker(async (broker) => {
      const c = await client5(broker);
      for (const id of [1, 300, 65_535]) {
        c.publish("in1/t", "x", { qos: 1, messageId: id });
        assert.equal((await c.expect("puback")).messageId, id);
      }
    });
  });

  it("MQTT-4.3.2-5 (5.0) QoS 1 in: after PUBACK the same id is a new message, DUP or not", async () => {
    await withBroker(async (broker) => {
      const s = await subscriber5(broker, "n1/#", 1);
      const c = await client5(broker);
      for (const [payload, dup] of [["a", false], ["b", true], ["c", false]] as const) {
        c.publish("n1/t", payload, { qos: 1, messageId: 42, dup });
        assert.equal((await c.expect("puback")).messageId, 42);
      }
      const got = await expectMany(s, "publish", 3);
      assert.deepEqual(got.map((m) => m.payload.toString()), ["a", "b", "c"]);
    });
  });

  it("MQTT-4.3.3-2 (5.0) a QoS 2 PUBLISH goes out with its packet id, QoS 2 and DUP 0", async () => {
    await withBroker(async (broker) => {
      const tap = await tapSubscriber(broker, "q2/#", 2);
      await broker.publish("q2/t", "x", { qos: 2 });
      const f = await tap.waitFor(3);
      assert.equal(f.flags, 0x04);
      assert.ok(publishParts(f).packetId! > 0);
    });
  });

  it("MQTT-4.3.3-3 (5.0) a QoS 2 PUBLISH is held until its PUBREC (resent with DUP before it)", async () => {
    await withBroker(async (broker) => {
      const a = await subscriber5(broker, "h2/#", 2, { clientId: "h2", ...PERSIST });
      await broker.publish("h2/t", "x", { qos: 2 });
      const m = await a.expect("publish");
      await drop(broker, a, "h2");
      const b = await resume(broker, "h2");
      const again = await b.expect("publish");
      assert.deepEqual([again.messageId, again.dup, again.qos], [m.messageId, true, 2]);
    });
  });

  it("MQTT-4.3.3-4 (5.0) a PUBREC below 0x80 (0x00 or 0x10) is answered by PUBREL with the same id", async () => {
    await withBroker(async (broker) => {
      const s = await subscriber5(broker, "r2/#", 2);
      await broker.publish("r2/a", "x", { qos: 2 });
      await broker.publish("r2/b", "y", { qos: 2 });
      const [m1, m2] = await expectMany(s, "publish", 2);
      s.send({ cmd: "pubrec", messageId: m1.messageId, reasonCode: 0x00 });
      assert.equal((await s.expect("pubrel")).messageId, m1.messageId);
      s.send({ cmd: "pubrec", messageId: m2.messageId, reasonCode: 0x10 });
      assert.equal((await s.expect("pubrel")).messageId, m2.messageId);
    });
  });

  it("MQTT-4.3.3-5 MQTT-4.3.3-6 (5.0) after PUBREC the PUBREL is held until PUBCOMP and the PUBLISH is never resent", async () => {
    await withBroker(async (broker) => {
      const a = await subscriber5(broker, "h3/#", 2, { clientId: "h3", ...PERSIST });
      await broker.publish("h3/t", "x", { qos: 2 });
      const m = await a.expect("publish");
      a.send({ cmd: "pubrec", messageId: m.messageId });
      await a.expect("pubrel");
      await drop(broker, a, "h3");
      const b = await resume(broker, "h3");
      const rel = await b.expect("pubrel");
      assert.equal(rel.messageId, m.messageId);
      assert.deepEqual(await b.collect(40), [], "no PUBLISH again");
      b.send({ cmd: "pubcomp", messageId: m.messageId });
      await until(() => broker.getSession("h3")?.inflight.size === 0, 1000, "PUBCOMP to release");
      await drop(broker, b, "h3");
      const c = await resume(broker, "h3");
      assert.deepEqual(await c.collect(40), [], "nothing after PUBCOMP");
    });
  });

  it("MQTT-4.3.3-7 (5.0) a QoS 2 message already sent is not expired: resent after its Message Expiry Interval", async () => {
    const clock = new FakeClock();
    await withBroker(async (broker) => {
      const a = await subscriber5(broker, "ne/#", 2, { clientId: "ne", ...PERSIST });
      const pub = await client5(broker);
      pub.publish("ne/t", "x", { qos: 2, messageId: 1, properties: { messageExpiryInterval: 2 } });
      await pub.expect("pubrec");
      const m = await a.expect("publish");
      await drop(broker, a, "ne");
      clock.advance(10_000);
      const b = await resume(broker, "ne");
      const again = await b.expect("publish");
      assert.deepEqual([again.messageId, again.dup], [m.messageId, true]);
      b.send({ cmd: "pubrec", messageId: again.messageId });
      assert.equal((await b.expect("pubrel")).messageId, m.messageId);
    }, { clock });
  });

  it("MQTT-4.3.3-8 MQTT-4.3.3-11 (5.0) QoS 2 in: PUBREC then PUBCOMP carry the PUBLISH's packet id", async () => {
    await withBroker(async (broker) => {
      const c = await client5(broker);
      for (const id of [7, 513, 65_535]) {
        c.publish("in2/t", "x", { qos: 2, messageId: id });
        assert.equal((await c.expect("pubrec")).messageId, id);
        c.send({ cmd: "pubrel", messageId: id });
        const comp = await c.expect("pubcomp");
        assert.deepEqual([comp.messageId, comp.reasonCode], [id, 0]);
      }
    });
  });

  it("MQTT-4.3.3-9 (5.0) after a PUBREC of 0x80 or more the same id is a new message", async () => {
    await withBroker(async (broker) => {
      const s = await subscriber5(broker, "bad/#", 2);
      const c = await client5(broker);
      c.sendBytes(
        publish5Bytes({
          topic: "bad/t",
          qos: 2,
          packetId: 9,
          payload: [0xc3, 0x28],
          properties: props([0x01, 1]),
        }),
      );
      const rec = await c.expect("pubrec");
      assert.deepEqual([rec.messageId, rec.reasonCode], [9, 0x99]);
      c.publish("bad/t", "good", { qos: 2, messageId: 9 });
      const rec2 = await c.expect("pubrec");
      assert.deepEqual([rec2.messageId, rec2.reasonCode], [9, 0x00]);
      assert.equal((await s.expect("publish")).payload.toString(), "good");
      c.send({ cmd: "pubrel", messageId: 9 });
      assert.equal((await c.expect("pubcomp")).reasonCode, 0);
    });
  });

  it("MQTT-4.3.3-10 (5.0) QoS 2 in: until PUBREL a repeat gets PUBREC again and is forwarded once", async () => {
    await withBroker(async (broker) => {
      const s = await subscriber5(broker, "once/#", 2);
      const c = await client5(broker);
      c.publish("once/t", "x", { qos: 2, messageId: 3 });
      await c.expect("pubrec");
      c.publish("once/t", "x", { qos: 2, messageId: 3, dup: true });
      assert.equal((await c.expect("pubrec")).messageId, 3);
      c.publish("once/t", "x", { qos: 2, messageId: 3, dup: true });
      assert.equal((await c.expect("pubrec")).messageId, 3);
      await s.expect("publish");
      assert.deepEqual(await s.collect(40), [], "forwarded once");
    });
  });

  it("MQTT-4.3.3-12 (5.0) QoS 2 in: after PUBCOMP the same id is a new message", async () => {
    await withBroker(async (broker) => {
      const s = await subscriber5(broker, "again/#", 2);
      const c = await client5(broker);
      for (const payload of ["first", "second"]) {
        c.publish("again/t", payload, { qos: 2, messageId: 4 });
        await c.expect("pubrec");
        c.send({ cmd: "pubrel", messageId: 4 });
        await c.expect("pubcomp");
      }
      const got = await expectMany(s, "publish", 2);
      assert.deepEqual(got.map((m) => m.payload.toString()), ["first", "second"]);
    });
  });

  it("MQTT-4.3.3-13 (5.0) QoS 2 exchanges complete after the message expired, inbound and outbound", async () => {
    const clock = new FakeClock();
    await withBroker(async (broker) => {
      const s = await subscriber5(broker, "late/#", 2);
      const c = await client5(broker);
      c.publish("late/t", "x", { qos: 2, messageId: 8, properties: { messageExpiryInterval: 1 } });
      await c.expect("pubrec");
      const m = await s.expect("publish");
      clock.advance(5_000);
      c.send({ cmd: "pubrel", messageId: 8 });
      const comp = await c.expect("pubcomp");
      assert.deepEqual([comp.messageId, comp.reasonCode], [8, 0]);
      s.send({ cmd: "pubrec", messageId: m.messageId });
      const rel = await s.expect("pubrel");
      assert.deepEqual([rel.messageId, rel.reasonCode], [m.messageId, 0]);
      s.send({ cmd: "pubcomp", messageId: m.messageId });
      await until(() => broker.inflightCount === 0, 1000, "the outbound flow to finish");
    }, { clock });
  });
});

describe("conformance 5.0 4.4 message delivery retry", () => {
  it("MQTT-4.4.0-1 (5.0) on a Clean Start 0 reconnect unacknowledged PUBLISH and PUBREL are resent with their ids", async () => {
    await withBroker(async (broker) => {
      const a = await subscriber5(broker, "rt/#", 2, { clientId: "rt", ...PERSIST });
      await broker.publish("rt/1", "one", { qos: 1 });
      await broker.publish("rt/2", "two", { qos: 2 });
      await broker.publish("rt/3", "three", { qos: 2 });
      const [m1, m2, m3] = await expectMany(a, "publish", 3);
      a.send({ cmd: "pubrec", messageId: m3.messageId });
      await a.expect("pubrel");
      await drop(broker, a, "rt");
      const b = await resume(broker, "rt");
      const resent = [await b.next(), await b.next(), await b.next()];
      const summary = resent.map((p) => `${p.cmd}:${p.messageId}:${p.dup ?? "-"}`).sort();
      assert.deepEqual(
        summary,
        [`publish:${m1.messageId}:true`, `publish:${m2.messageId}:true`, `pubrel:${m3.messageId}:false`]
          .sort(),
      );
    });
  });

  it("MQTT-4.4.0-1 (5.0) over TCP: unacknowledged PUBLISH and PUBREL are resent on the new socket", async () => {
    await withTcpBroker(async (broker, open) => {
      const a = await open();
      await a.connect({ clientId: "rt-tcp", properties: { sessionExpiryInterval: 600 } });
      await subscribe5(a, [["rtt/#", 2]]);
      await broker.publish("rtt/1", "one", { qos: 1 });
      await broker.publish("rtt/2", "two", { qos: 2 });
      const [m1, m2] = await expectMany(a, "publish", 2);
      a.send({ cmd: "pubrec", messageId: m2.messageId });
      await a.expect("pubrel");
      await drop(broker, a, "rt-tcp");
      const b = await open();
      const ack = await b.connect({ clientId: "rt-tcp", clean: false });
      assert.equal(ack.sessionPresent, true);
      const resent = [await b.next(), await b.next()];
      const summary = resent.map((p) => `${p.cmd}:${p.messageId}`).sort();
      assert.deepEqual(summary, [`publish:${m1.messageId}`, `pubrel:${m2.messageId}`].sort());
      assert.equal(resent.find((p) => p.cmd === "publish").dup, true);
    });
  });

  it("MQTT-4.4.0-1 (5.0) no retransmission at any other time: not while connected, not after Clean Start 1", async () => {
    const clock = new FakeClock();
    await withBroker(async (broker) => {
      const a = await subscriber5(broker, "nr/#", 2, { clientId: "nr", ...PERSIST });
      await broker.publish("nr/1", "one", { qos: 1 });
      await broker.publish("nr/2", "two", { qos: 2 });
      await expectMany(a, "publish", 2);
      clock.advance(600_000);
      assert.deepEqual(await a.collect(60), [], "no resend on a live connection");
      await drop(broker, a, "nr");
      const b = RawClient.memory(broker, 5);
      const ack = await b.connect({ clientId: "nr", clean: true });
      assert.equal(ack.sessionPresent, false);
      assert.deepEqual(await b.collect(40), [], "no resend into a new session");
    }, { clock });
  });

  it("MQTT-4.4.0-2 (5.0) a PUBLISH answered by PUBACK or PUBREC of 0x80 or more is not retransmitted", async () => {
    await withBroker(async (broker) => {
      const a = await subscriber5(broker, "rj/#", 2, { clientId: "rj", ...PERSIST });
      await broker.publish("rj/1", "one", { qos: 1 });
      await broker.publish("rj/2", "two", { qos: 2 });
      const [m1, m2] = await expectMany(a, "publish", 2);
      a.send({ cmd: "puback", messageId: m1.messageId, reasonCode: 0x80 });
      a.send({ cmd: "pubrec", messageId: m2.messageId, reasonCode: 0x83 });
      a.send({ cmd: "pingreq" });
      assert.equal((await a.next()).cmd, "pingresp", "no PUBREL for a refused PUBREC");
      await drop(broker, a, "rj");
      const b = await resume(broker, "rj");
      assert.deepEqual(await b.collect(40), []);
      assert.equal(broker.getSession("rj")?.inflight.size, 0);
    });
  });
});

describe("conformance 5.0 4.5 message receipt", () => {
  it("MQTT-4.5.0-1 (5.0) a message taken is added to every matching session, connected or not", async () => {
    await withBroker(async (broker) => {
      const online = await subscriber5(broker, "mr/#", 1);
      const offline = await subscriber5(broker, "mr/+", 2, { clientId: "mr-off", ...PERSIST });
      const nonMatching = await subscriber5(broker, "other/#", 1);
      await drop(broker, offline, "mr-off");
      const pub = await client5(broker);
      pub.publish("mr/t", "x", { qos: 2, messageId: 1 });
      await pub.expect("pubrec");
      assert.equal(broker.getSession("mr-off")?.queued, 1, "queued for the offline session at PUBREC time");
      assert.equal((await online.expect("publish")).topic, "mr/t");
      const back = await resume(broker, "mr-off");
      const m = await back.expect("publish");
      assert.deepEqual([m.topic, m.qos], ["mr/t", 2]);
      assert.deepEqual(await nonMatching.collect(30), []);
    });
  });
});

describe("conformance 5.0 4.6 message ordering", () => {
  it("MQTT-4.6.0-5 (5.0) messages on one topic and QoS reach a subscriber in the order they came from the publisher", async () => {
    await withBroker(async (broker) => {
      const s = await subscriber5(broker, "ord/t", 2, { properties: { receiveMaximum: 3 } });
      const pub = await client5(broker);
      for (let i = 0; i < 30; i++) pub.publish("ord/t", `${i}`, { qos: 1, messageId: i + 1 });
      for (let i = 0; i < 30; i++) pub.publish("ord/t", `${30 + i}`, { qos: 2, messageId: 100 + i });
      const got: string[][] = [[], [], []];
      let received = 0;
      for (let i = 0; i < 200 && received < 60; i++) {
        const p = await s.next();
        if (p.cmd === "pubrel") {
          s.send({ cmd: "pubcomp", messageId: p.messageId });
          continue;
        }
        assert.equal(p.cmd, "publish");
        received++;
        got[p.qos]!.push(p.payload.toString());
        s.send({ cmd: p.qos === 1 ? "puback" : "pubrec", messageId: p.messageId });
      }
      assert.deepEqual(got[1], Array.from({ length: 30 }, (_, i) => `${i}`));
      assert.deepEqual(got[2], Array.from({ length: 30 }, (_, i) => `${30 + i}`));
    });
  });

  it("MQTT-4.6.0-6 (5.0) every topic is ordered on non-shared subscriptions, also across a reconnect", async () => {
    await withBroker(async (broker) => {
      const a = await subscriber5(broker, "many/#", 1, {
        clientId: "ord6",
        properties: { sessionExpiryInterval: 600, receiveMaximum: 2 },
      });
      const pub = await client5(broker);
      const topics = ["many/a", "many/b", "many/c"];
      for (let i = 0; i < 24; i++) pub.publish(topics[i % 3]!, `${i}`, { qos: 1, messageId: i + 1 });
      for (let i = 0; i < 24; i++) await pub.expect("puback");
      await expectMany(a, "publish", 2);
      await drop(broker, a, "ord6");
      const b = await resume(broker, "ord6", { properties: { receiveMaximum: 2 } });
      const seen: Record<string, number[]> = { "many/a": [], "many/b": [], "many/c": [] };
      for (let i = 0; i < 24; i++) {
        const m = await b.expect("publish");
        seen[m.topic]!.push(Number(m.payload.toString()));
        b.send({ cmd: "puback", messageId: m.messageId });
      }
      for (const [k, t] of topics.entries()) {
        assert.deepEqual(seen[t], Array.from({ length: 8 }, (_, i) => 3 * i + k), `${t} in publishing order`);
      }
      assert.deepEqual(await b.collect(30), []);
    });
  });
});
