/**
 * Conformance: session state and the QoS flows (MQTT 3.1.1 sections 4.1 storing state, 4.3 QoS 0/1/2 delivery,
 * 4.4 redelivery, 4.5 receipt, 4.6 ordering; 2.3.1-4 packet identifiers of the server's own messages), plus the
 * broker's inflight window and bounded queue. A few flows also run over real TCP.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Broker } from "../../src/broker.ts";
import type { DropReason, Hook } from "../../src/hooks/hook.ts";
import type { Message } from "../../src/message.ts";
import { type AnyPacket, RawClient } from "../_helpers/raw_client.ts";
import { tcpBroker, testBroker, until } from "../_helpers/broker.ts";
import { WireTap } from "./_wire_tap.ts";

/** What testBroker takes: broker options plus the auth hook to put first. */
type TestBrokerOptions = NonNullable<Parameters<typeof testBroker>[0]>;

/** Run `body` against a fresh in-memory broker that is closed afterwards, pass or fail. */
async function withBroker(
  body: (broker: Broker) => Promise<void>,
  options: TestBrokerOptions = {},
): Promise<void> {
  const broker = testBroker(options);
  try {
    await body(broker);
  } finally {
    await broker.close();
  }
}

/** Run `body` against a broker on an ephemeral 127.0.0.1 TCP port; closes broker and clients afterwards. */
async function withTcpBroker(
  body: (broker: Broker, open: () => Promise<RawClient>) => Promise<void>,
  options: TestBrokerOptions = {},
): Promise<void> {
  const { broker, port } = await tcpBroker(options);
  const clients: RawClient[] = [];
  const open = async (): Promise<RawClient> => {
    const c = await RawClient.tcp(port);
    clients.push(c);
    return c;
  };
  try {
    await body(broker, open);
  } finally {
    for (const c of clients) c.destroy();
    await broker.close();
  }
}

/** A connected client (clean session unless told) subscribed to `filter` at `qos`. */
async function subscriber(
  broker: Broker,
  filter: string,
  qos: number,
  options: { clientId?: string; clean?: boolean } = {},
): Promise<RawClient> {
  const c = RawClient.memory(broker);
  await c.connect(options);
  assert.deepEqual((await c.subscribe(filter, qos)).granted, [qos]);
  return c;
}

/** `n` packets from `c`, each of command `cmd`. */
async function expectMany(c: RawClient, cmd: string, n: number): Promise<AnyPacket[]> {
  const out: AnyPacket[] = [];
  for (let i = 0; i < n; i++) out.push(await c.expect(cmd));
  return out;
}

/** End a client's connection abruptly (no DISCONNECT) and wait until the broker has seen it. */
async function drop(broker: Broker, c: RawClient, clientId: string): Promise<void> {
  c.destroy();
  await c.waitClosed();
  await until(() => broker.getClient(clientId) === undefined, 1000, `${clientId} to be gone`);
}

describe("conformance 4.1.0 storing state", () => {
  it("MQTT-4.1.0-1 subscriptions, unacknowledged outbound and inbound QoS 2 state last as long as the session", async () => {
    await withBroker(async (broker) => {
      const witness = await subscriber(broker, "in/#", 2);
      const c = await subscriber(broker, "st/#", 2, { clientId: "state", clean: false });
      // Inbound QoS 2 that got PUBREC but no PUBREL yet.
      c.publish("in/x", "once", { qos: 2, messageId: 7 });
      assert.equal((await c.expect("pubrec")).messageId, 7);
      const seen = await witness.expect("publish");
      assert.equal(seen.payload.toString(), "once");
      witness.send({ cmd: "pubrec", messageId: seen.messageId });
      await witness.expect("pubrel");
      witness.send({ cmd: "pubcomp", messageId: seen.messageId });
      // Outbound QoS 1 not acknowledged.
      await broker.publish("st/out", "pending", { qos: 1 });
      const out = await c.expect("publish");
      await drop(broker, c, "state");

      const d = RawClient.memory(broker);
      assert.equal((await d.connect({ clientId: "state", clean: false })).sessionPresent, true);
      const again = await d.expect("publish");
      assert.deepEqual([again.topic, again.messageId, again.dup], ["st/out", out.messageId, true]);
      d.send({ cmd: "puback", messageId: again.messageId });
      // The inbound QoS 2 id is still awaiting PUBREL: a re-send is answered with PUBREC and not delivered again.
      d.publish("in/x", "once", { qos: 2, messageId: 7, dup: true });
      assert.equal((await d.expect("pubrec")).messageId, 7);
      d.send({ cmd: "pubrel", messageId: 7 });
      assert.equal((await d.expect("pubcomp")).messageId, 7);
      assert.deepEqual(await witness.collect(50), [], "delivered exactly once");
      // The subscription is still there.
      await broker.publish("st/new", "n", { qos: 0 });
      assert.equal((await d.expect("publish")).topic, "st/new");
      await until(() => broker.inflightCount === 0, 1000, "all acknowledged");
    });
  });

  it("MQTT-4.1.0-2 a clean session lives while its connection is open, however idle", async () => {
    await withBroker(async (broker) => {
      const c = await subscriber(broker, "idle/#", 1, { clientId: "idle" });
      await new Promise((r) => setTimeout(r, 300)); // six housekeeping sweeps with keep-alive 0
      assert.equal(broker.getSession("idle")?.subscriptions.has("idle/#"), true);
      await broker.publish("idle/t", "still here", { qos: 1 });
      const m = await c.expect("publish");
      assert.equal(m.payload.toString(), "still here");
      c.send({ cmd: "puback", messageId: m.messageId });
      assert.equal(c.closed, false);
    }, { sweepInterval: 50 });
  });
});

describe("conformance 4.3 QoS delivery", () => {
  it("MQTT-4.3.1-1 a QoS 0 message goes out as QoS 0 with DUP 0, whatever the subscription grants", async () => {
    await withBroker(async (broker) => {
      const tap = new WireTap(broker);
      await tap.connect("q0");
      tap.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "q0/#", qos: 2 }] });
      await tap.waitFor(9);
      const pub = RawClient.memory(broker);
      await pub.connect();
      pub.publish("q0/a", "x", { qos: 0 });
      const f = await tap.waitFor(3);
      assert.equal(f.flags, 0x0);
      assert.equal(broker.inflightCount, 0, "nothing is held for QoS 0");
    });
  });

  it("MQTT-4.3.2-1 QoS 1 out: a fresh id per message, DUP 0, held until its PUBACK", async () => {
    await withBroker(async (broker) => {
      const s = await subscriber(broker, "q1/#", 1);
      for (let i = 0; i < 4; i++) await broker.publish(`q1/${i}`, `m${i}`, { qos: 1 });
      const msgs = await expectMany(s, "publish", 4);
      assert.ok(msgs.every((m) => m.qos === 1 && m.dup === false));
      assert.equal(new Set(msgs.map((m) => m.messageId)).size, 4, "distinct ids while unacknowledged");
      assert.equal(broker.inflightCount, 4);
      // A PUBACK for an id not in flight releases nothing.
      const unknown = [1, 2, 3, 4, 5, 6].find((id) => !msgs.some((m) => m.messageId === id))!;
      s.send({ cmd: "puback", messageId: unknown });
      s.send({ cmd: "pingreq" });
      await s.expect("pingresp");
      assert.equal(broker.inflightCount, 4);
      for (const [i, m] of msgs.entries()) {
        s.send({ cmd: "puback", messageId: m.messageId });
        await until(() => broker.inflightCount === 3 - i, 1000, `PUBACK ${i} to release`);
      }
    });
  });

  it("MQTT-4.3.2-2 QoS 1 in: PUBACK with the id; the same id after PUBACK is a new message, DUP or not", async () => {
    await withBroker(async (broker) => {
      const s = await subscriber(broker, "r1/#", 1);
      const c = RawClient.memory(broker);
      await c.connect();
      c.publish("r1/t", "first", { qos: 1, messageId: 42 });
      assert.equal((await c.expect("puback")).messageId, 42);
      c.publish("r1/t", "second", { qos: 1, messageId: 42 });
      assert.equal((await c.expect("puback")).messageId, 42);
      c.publish("r1/t", "third", { qos: 1, messageId: 42, dup: true });
      assert.equal((await c.expect("puback")).messageId, 42);
      const got = await expectMany(s, "publish", 3);
      assert.deepEqual(got.map((m) => m.payload.toString()), ["first", "second", "third"]);
    });
  });

  it("MQTT-4.3.3-1 QoS 2 out: DUP 0, held until PUBREC, then PUBREL held until PUBCOMP, never the PUBLISH again", async () => {
    await withBroker(async (broker) => {
      const s = await subscriber(broker, "q2/#", 2, { clientId: "q2-sub", clean: false });
      await broker.publish("q2/t", "exactly once", { qos: 2 });
      const p = await s.expect("publish");
      assert.deepEqual([p.qos, p.dup], [2, false]);
      assert.equal(broker.inflightCount, 1);
      s.send({ cmd: "pubrec", messageId: p.messageId });
      assert.equal((await s.expect("pubrel")).messageId, p.messageId);
      assert.equal(broker.inflightCount, 1, "still held after PUBREC");
      // A fresh message while the first waits for PUBCOMP takes another id.
      await broker.publish("q2/u", "second", { qos: 2 });
      const p2 = await s.expect("publish");
      assert.notEqual(p2.messageId, p.messageId);
      await drop(broker, s, "q2-sub");
      const again = RawClient.memory(broker);
      await again.connect({ clientId: "q2-sub", clean: false });
      const resent: AnyPacket[] = [await again.next(), await again.next()];
      const rel = resent.find((x) => x.cmd === "pubrel");
      const pub = resent.find((x) => x.cmd === "publish");
      assert.equal(rel?.messageId, p.messageId, "PUBREL re-sent");
      assert.deepEqual([pub?.topic, pub?.messageId, pub?.dup], ["q2/u", p2.messageId, true]);
      assert.deepEqual(await again.collect(50), [], "the released PUBLISH is not sent again");
      again.send({ cmd: "pubcomp", messageId: p.messageId });
      again.send({ cmd: "pubrec", messageId: p2.messageId });
      assert.equal((await again.expect("pubrel")).messageId, p2.messageId);
      again.send({ cmd: "pubcomp", messageId: p2.messageId });
      await until(() => broker.inflightCount === 0, 1000, "both released after PUBCOMP");
    });
  });

  it("MQTT-4.3.3-2 QoS 2 in: PUBREC, a re-send before PUBREL is not delivered twice, PUBCOMP, then the id is new", async () => {
    await withBroker(async (broker) => {
      const s = await subscriber(broker, "r2/#", 2);
      const c = RawClient.memory(broker);
      await c.connect();
      c.publish("r2/t", "one", { qos: 2, messageId: 9 });
      assert.equal((await c.expect("pubrec")).messageId, 9);
      c.publish("r2/t", "one", { qos: 2, messageId: 9, dup: true });
      assert.equal((await c.expect("pubrec")).messageId, 9);
      c.publish("r2/t", "one", { qos: 2, messageId: 9, dup: false });
      assert.equal((await c.expect("pubrec")).messageId, 9);
      c.send({ cmd: "pubrel", messageId: 9 });
      assert.equal((await c.expect("pubcomp")).messageId, 9);
      const first = await s.expect("publish");
      assert.equal(first.payload.toString(), "one");
      s.send({ cmd: "pubrec", messageId: first.messageId });
      await s.expect("pubrel");
      s.send({ cmd: "pubcomp", messageId: first.messageId });
      assert.deepEqual(await s.collect(50), [], "forwarded once");
      // After PUBCOMP the same id starts a new message.
      c.publish("r2/t", "two", { qos: 2, messageId: 9 });
      assert.equal((await c.expect("pubrec")).messageId, 9);
      c.send({ cmd: "pubrel", messageId: 9 });
      await c.expect("pubcomp");
      assert.equal((await s.expect("publish")).payload.toString(), "two");
    });
  });

  it("MQTT-4.3.3-2 a PUBREL for an unknown id is still answered with PUBCOMP", async () => {
    await withBroker(async (broker) => {
      const c = RawClient.memory(broker);
      await c.connect();
      c.send({ cmd: "pubrel", messageId: 321 });
      assert.equal((await c.expect("pubcomp")).messageId, 321);
    });
  });

  it("MQTT-2.3.1-4 the server never reuses a packet id still in flight, even after the ids wrap around", async () => {
    await withBroker(async (broker) => {
      const s = await subscriber(broker, "w/#", 2);
      await broker.publish("w/held1", "h1", { qos: 1 });
      const held1 = await s.expect("publish");
      await broker.publish("w/held2", "h2", { qos: 2 });
      const held2 = await s.expect("publish");
      s.send({ cmd: "pubrec", messageId: held2.messageId });
      await s.expect("pubrel"); // held2 now waits for PUBCOMP, which we do not send yet
      const held = new Set([held1.messageId, held2.messageId]);
      const n = 65_540;
      const producing = (async () => {
        for (let i = 0; i < n; i++) await broker.publish("w/t", "x", { qos: 1 });
      })();
      const ids: number[] = [];
      for (let i = 0; i < n; i++) {
        const p = await s.expect("publish", 5000);
        ids.push(p.messageId);
        s.send({ cmd: "puback", messageId: p.messageId });
      }
      await producing;
      const reused = ids.filter((id) => held.has(id));
      assert.deepEqual(reused.slice(0, 5), [], "ids still in flight were handed out again");
      assert.ok(ids.every((id) => id >= 1 && id <= 65535));
      const top = ids.indexOf(65535);
      assert.ok(top >= 0, "the ids wrapped around");
      assert.ok(ids.slice(top + 1).length > 0 && !held.has(ids[top + 1]!));
      s.send({ cmd: "puback", messageId: held1.messageId });
      s.send({ cmd: "pubcomp", messageId: held2.messageId });
      await until(() => broker.inflightCount === 0, 1000, "held messages to be released");
    }, { limits: { maxQueuedMessages: 0 } });
  });
});

describe("conformance 4.4.0 message delivery retry", () => {
  it("MQTT-4.4.0-1 MQTT-2.3.1-4 on reconnect unacknowledged PUBLISHes and PUBRELs are re-sent with their ids", async () => {
    await withBroker(async (broker) => {
      const a = await subscriber(broker, "re/#", 2, { clientId: "re", clean: false });
      await broker.publish("re/1", "one", { qos: 1 });
      await broker.publish("re/2", "two", { qos: 2 });
      await broker.publish("re/3", "three", { qos: 2 });
      const [m1, m2, m3] = await expectMany(a, "publish", 3);
      a.send({ cmd: "pubrec", messageId: m3.messageId });
      await a.expect("pubrel");
      await drop(broker, a, "re");
      // While offline, one more message is queued; it must not take an id that is in flight.
      await broker.publish("re/4", "four", { qos: 1 });

      const b = RawClient.memory(broker);
      assert.equal((await b.connect({ clientId: "re", clean: false })).sessionPresent, true);
      const got = [await b.next(), await b.next(), await b.next(), await b.next()];
      const resent = got.filter((p) => p.cmd === "publish" && p.dup);
      assert.deepEqual(
        resent.map((p) => [p.topic, p.qos, p.messageId]),
        [["re/1", 1, m1.messageId], ["re/2", 2, m2.messageId]],
      );
      assert.deepEqual(got.filter((p) => p.cmd === "pubrel").map((p) => p.messageId), [m3.messageId]);
      const fresh = got.find((p) => p.cmd === "publish" && !p.dup);
      assert.equal(fresh?.topic, "re/4");
      assert.ok(![m1.messageId, m2.messageId, m3.messageId].includes(fresh.messageId), "a free id");

      b.send({ cmd: "puback", messageId: m1.messageId });
      b.send({ cmd: "pubrec", messageId: m2.messageId });
      assert.equal((await b.expect("pubrel")).messageId, m2.messageId);
      b.send({ cmd: "pubcomp", messageId: m2.messageId });
      b.send({ cmd: "pubcomp", messageId: m3.messageId });
      b.send({ cmd: "puback", messageId: fresh.messageId });
      await until(() => broker.inflightCount === 0, 1000, "everything acknowledged");
      assert.deepEqual(await b.collect(50), []);
    });
  });

  it("MQTT-4.4.0-1 a message is re-sent on every reconnect until it is acknowledged", async () => {
    await withBroker(async (broker) => {
      let c = await subscriber(broker, "again/#", 1, { clientId: "again", clean: false });
      await broker.publish("again/t", "x", { qos: 1 });
      const original = await c.expect("publish");
      for (let round = 0; round < 3; round++) {
        await drop(broker, c, "again");
        c = RawClient.memory(broker);
        await c.connect({ clientId: "again", clean: false });
        const p = await c.expect("publish");
        assert.deepEqual([p.messageId, p.dup, p.payload.toString()], [original.messageId, true, "x"]);
      }
      c.send({ cmd: "puback", messageId: original.messageId });
      await until(() => broker.inflightCount === 0, 1000, "the PUBACK to be taken");
      await drop(broker, c, "again");
      const last = RawClient.memory(broker);
      await last.connect({ clientId: "again", clean: false });
      assert.deepEqual(await last.collect(50), [], "acknowledged: not re-sent");
    });
  });

  it("MQTT-4.4.0-1 a new connection taking over the session gets the unacknowledged messages re-sent", async () => {
    await withBroker(async (broker) => {
      const a = await subscriber(broker, "take/#", 2, { clientId: "take", clean: false });
      await broker.publish("take/1", "one", { qos: 1 });
      await broker.publish("take/2", "two", { qos: 2 });
      const [m1, m2] = await expectMany(a, "publish", 2);
      const b = RawClient.memory(broker);
      assert.equal((await b.connect({ clientId: "take", clean: false })).sessionPresent, true);
      assert.equal(await a.waitClosed(), true, "the first connection is closed");
      const again = await expectMany(b, "publish", 2);
      assert.deepEqual(
        again.map((p) => [p.topic, p.messageId, p.dup]),
        [["take/1", m1.messageId, true], ["take/2", m2.messageId, true]],
      );
      b.send({ cmd: "puback", messageId: m1.messageId });
      b.send({ cmd: "pubrec", messageId: m2.messageId });
      assert.equal((await b.expect("pubrel")).messageId, m2.messageId);
      b.send({ cmd: "pubcomp", messageId: m2.messageId });
      await until(() => broker.inflightCount === 0, 1000, "everything acknowledged");
    });
  });

  it("MQTT-4.4.0-1 a clean-session reconnect discards what was in flight", async () => {
    await withBroker(async (broker) => {
      const c = await subscriber(broker, "gone/#", 1, { clientId: "gone", clean: false });
      await broker.publish("gone/t", "x", { qos: 1 });
      await c.expect("publish");
      await drop(broker, c, "gone");
      const d = RawClient.memory(broker);
      assert.equal((await d.connect({ clientId: "gone", clean: true })).sessionPresent, false);
      assert.deepEqual(await d.collect(50), []);
    });
  });
});

describe("conformance 4.5.0 message receipt", () => {
  it("MQTT-4.5.0-1 once acknowledged, a message is in the session of every matching subscriber", async () => {
    await withBroker(async (broker) => {
      const online = await subscriber(broker, "rx/#", 1);
      const wildcard = await subscriber(broker, "rx/+", 0);
      const offline = await subscriber(broker, "rx/t", 2, { clientId: "rx-off", clean: false });
      await drop(broker, offline, "rx-off");
      const nonMatching = await subscriber(broker, "other/#", 2);
      const pub = RawClient.memory(broker);
      await pub.connect();
      pub.publish("rx/t", "owned", { qos: 1, messageId: 5 });
      await pub.expect("puback");
      // Right at PUBACK the offline session already holds it.
      assert.equal(broker.getSession("rx-off")?.queued, 1);
      pub.destroy(); // the publisher going away changes nothing
      assert.equal((await online.expect("publish")).payload.toString(), "owned");
      assert.equal((await wildcard.expect("publish")).payload.toString(), "owned");
      assert.deepEqual(await nonMatching.collect(30), []);
      const back = RawClient.memory(broker);
      await back.connect({ clientId: "rx-off", clean: false });
      const m = await back.expect("publish");
      assert.deepEqual([m.topic, m.qos, m.payload.toString()], ["rx/t", 1, "owned"]);
    });
  });
});

describe("conformance 4.6.0 message ordering", () => {
  it("MQTT-4.6.0-5 MQTT-4.6.0-6 by default one publisher's QoS 0, 1 and 2 messages arrive in order", async () => {
    await withBroker(async (broker) => {
      const subs = [await subscriber(broker, "ord/0", 0), await subscriber(broker, "ord/1", 1)];
      subs.push(await subscriber(broker, "ord/2", 2));
      const pub = RawClient.memory(broker);
      await pub.connect();
      const n = 40;
      for (let i = 0; i < n; i++) {
        pub.publish("ord/0", String(i), { qos: 0 });
        pub.publish("ord/1", String(i), { qos: 1, messageId: 1000 + i });
        pub.publish("ord/2", String(i), { qos: 2, messageId: 2000 + i });
      }
      for (const [qos, s] of subs.entries()) {
        const seen: number[] = [];
        for (let i = 0; i < n; i++) {
          const m = await s.expect("publish");
          assert.equal(m.qos, qos);
          seen.push(Number(m.payload.toString()));
          if (qos === 1) s.send({ cmd: "puback", messageId: m.messageId });
          if (qos === 2) s.send({ cmd: "pubrec", messageId: m.messageId });
        }
        assert.deepEqual(seen, [...Array(n).keys()], `QoS ${qos}`);
      }
    });
  });

  it("MQTT-4.6.0-6 the server answers PUBLISHes with PUBACK and PUBREC in the order they arrived", async () => {
    await withBroker(async (broker) => {
      const c = RawClient.memory(broker);
      await c.connect();
      const ids = [500, 3, 65535, 77, 1, 900];
      for (const [i, id] of ids.entries()) {
        c.publish("acks/t", "x", { qos: i % 2 === 0 ? 1 : 2, messageId: id });
      }
      const answers: AnyPacket[] = [];
      for (let i = 0; i < ids.length; i++) answers.push(await c.next());
      assert.deepEqual(
        answers.map((p) => [p.cmd, p.messageId]),
        ids.map((id, i) => [i % 2 === 0 ? "puback" : "pubrec", id]),
      );
      // PUBRELs in some order: the PUBCOMPs follow that order.
      for (const id of [900, 3, 77]) c.send({ cmd: "pubrel", messageId: id });
      assert.deepEqual((await expectMany(c, "pubcomp", 3)).map((p) => p.messageId), [900, 3, 77]);
    });
  });

  it("MQTT-4.6.0-6 the server sends PUBRELs in the order the PUBRECs arrived", async () => {
    await withBroker(async (broker) => {
      const s = await subscriber(broker, "rel/#", 2);
      for (let i = 0; i < 5; i++) await broker.publish("rel/t", String(i), { qos: 2 });
      const msgs = await expectMany(s, "publish", 5);
      const order = [msgs[3], msgs[0], msgs[4], msgs[1], msgs[2]].map((m) => m.messageId);
      for (const id of order) s.send({ cmd: "pubrec", messageId: id });
      assert.deepEqual((await expectMany(s, "pubrel", 5)).map((p) => p.messageId), order);
    });
  });

  it("MQTT-4.6.0-6 re-sent messages keep their original order, and queued ones follow in order", async () => {
    await withBroker(async (broker) => {
      const c = await subscriber(broker, "keep/#", 1, { clientId: "keep-order", clean: false });
      for (let i = 0; i < 5; i++) await broker.publish("keep/t", String(i), { qos: 1 });
      const first = await expectMany(c, "publish", 5);
      c.send({ cmd: "puback", messageId: first[1].messageId });
      await until(() => broker.inflightCount === 4, 1000, "the PUBACK to be taken");
      await drop(broker, c, "keep-order");
      for (let i = 5; i < 9; i++) await broker.publish("keep/t", String(i), { qos: 1 });
      const d = RawClient.memory(broker);
      await d.connect({ clientId: "keep-order", clean: false });
      const got = await expectMany(d, "publish", 8);
      assert.deepEqual(got.map((m) => Number(m.payload.toString())), [0, 2, 3, 4, 5, 6, 7, 8]);
      assert.deepEqual(got.map((m) => m.dup), [true, true, true, true, false, false, false, false]);
    });
  });
});

describe("limits: inflight window and bounded queue", () => {
  it("limits.maxInflight caps unacknowledged QoS 1/2 messages; the rest wait and follow in order", async () => {
    await withBroker(async (broker) => {
      const s = await subscriber(broker, "win/#", 2, { clientId: "win" });
      for (let i = 0; i < 6; i++) await broker.publish("win/t", String(i), { qos: i % 2 === 0 ? 1 : 2 });
      const firstTwo = await expectMany(s, "publish", 2);
      assert.deepEqual(await s.collect(50), [], "no third message before an acknowledgement");
      assert.equal(broker.inflightCount, 2);
      assert.equal(broker.getSession("win")?.queued, 4);
      const seen = firstTwo.map((m) => Number(m.payload.toString()));
      // QoS 2 holds its slot until PUBCOMP, not just PUBREC.
      s.send({ cmd: "pubrec", messageId: firstTwo[1].messageId });
      await s.expect("pubrel");
      assert.deepEqual(await s.collect(40), [], "PUBREC does not free the slot");
      s.send({ cmd: "pubcomp", messageId: firstTwo[1].messageId });
      s.send({ cmd: "puback", messageId: firstTwo[0].messageId });
      let unacknowledged = 0;
      for (let i = 0; i < 50 && seen.length < 6; i++) {
        const p = await s.next();
        if (p.cmd === "publish") {
          seen.push(Number(p.payload.toString()));
          unacknowledged++;
          assert.ok(unacknowledged <= 2, `${unacknowledged} messages unacknowledged at once`);
          s.send({ cmd: p.qos === 1 ? "puback" : "pubrec", messageId: p.messageId });
          if (p.qos === 1) unacknowledged--;
        } else {
          assert.equal(p.cmd, "pubrel");
          s.send({ cmd: "pubcomp", messageId: p.messageId });
          unacknowledged--;
        }
      }
      assert.deepEqual(seen, [0, 1, 2, 3, 4, 5]);
      const rel = await s.expect("pubrel"); // the last message is QoS 2
      s.send({ cmd: "pubcomp", messageId: rel.messageId });
      await until(() => broker.inflightCount === 0, 1000, "window to empty");
    }, { limits: { maxInflight: 2 } });
  });

  it("limits.maxQueuedMessages bounds an offline session: later messages are refused and counted", async () => {
    await withBroker(async (broker) => {
      const c = await subscriber(broker, "full/#", 1, { clientId: "full", clean: false });
      await drop(broker, c, "full");
      for (let i = 0; i < 5; i++) await broker.publish("full/t", String(i), { qos: 1 });
      assert.equal(broker.getSession("full")?.queued, 3);
      assert.equal(broker.stats.dropped["queue-full"], 2);
      const d = RawClient.memory(broker);
      await d.connect({ clientId: "full", clean: false });
      const got = await expectMany(d, "publish", 3);
      assert.deepEqual(got.map((m) => m.payload.toString()), ["0", "1", "2"]);
      assert.deepEqual(await d.collect(50), []);
    }, { limits: { maxQueuedMessages: 3 } });
  });

  it("limits.maxQueuedMessages drops QoS 0 first, then refuses new QoS 1/2; every drop is counted", async () => {
    const heard: Array<[string, string, DropReason]> = [];
    const listener: Hook = {
      id: "drops",
      onMessageDropped(clientId: string, message: Message, reason: DropReason) {
        heard.push([clientId, new TextDecoder().decode(message.payload), reason]);
      },
    };
    await withBroker(async (broker) => {
      const s = await subscriber(broker, "bq/#", 1, { clientId: "bq" });
      await broker.publish("bq/t", "first", { qos: 1 }); // takes the only inflight slot
      const first = await s.expect("publish");
      await broker.publish("bq/t", "b1", { qos: 1 }); // queue: b1
      await broker.publish("bq/t", "a0", { qos: 0 }); // queue: b1 a0 (QoS 0 waits behind: order kept)
      await broker.publish("bq/t", "c0", { qos: 0 }); // queue: b1 a0 c0 (full)
      await broker.publish("bq/t", "d1", { qos: 1 }); // drops a0: b1 c0 d1
      await broker.publish("bq/t", "e0", { qos: 0 }); // full, QoS 0: e0 dropped
      await broker.publish("bq/t", "f1", { qos: 1 }); // drops c0: b1 d1 f1
      await broker.publish("bq/t", "g1", { qos: 1 }); // full of QoS 1: g1 refused
      assert.equal(broker.getSession("bq")?.queued, 3);
      assert.equal(broker.stats.dropped["queue-full"], 4);
      assert.equal(broker.stats.droppedTotal, 4);
      await until(() => heard.length === 4, 1000, "drop notifications");
      assert.deepEqual(heard.map(([, p]) => p).sort(), ["a0", "c0", "e0", "g1"]);
      assert.ok(heard.every(([id, , reason]) => id === "bq" && reason === "queue-full"));
      let m = first;
      const seen: string[] = [];
      for (let i = 0; i < 3; i++) {
        s.send({ cmd: "puback", messageId: m.messageId });
        m = await s.expect("publish");
        seen.push(m.payload.toString());
      }
      s.send({ cmd: "puback", messageId: m.messageId });
      assert.deepEqual(seen, ["b1", "d1", "f1"]);
      assert.deepEqual(await s.collect(50), []);
    }, { limits: { maxInflight: 1, maxQueuedMessages: 3 }, hooks: [listener] });
  });

  it("QoS 0 for an offline session is dropped and counted as qos0-offline", async () => {
    await withBroker(async (broker) => {
      const c = await subscriber(broker, "off0/#", 2, { clientId: "off0", clean: false });
      await drop(broker, c, "off0");
      await broker.publish("off0/t", "lost", { qos: 0 });
      await broker.publish("off0/t", "kept", { qos: 2 });
      assert.equal(broker.stats.dropped["qos0-offline"], 1);
      const d = RawClient.memory(broker);
      await d.connect({ clientId: "off0", clean: false });
      const m = await d.expect("publish");
      assert.deepEqual([m.payload.toString(), m.qos], ["kept", 2]);
      assert.deepEqual(await d.collect(50), []);
    });
  });
});

describe("QoS flows over TCP", () => {
  it("MQTT-4.3.2-1 MQTT-4.3.2-2 QoS 1 end to end over TCP", async () => {
    await withTcpBroker(async (_broker, open) => {
      const s = await open();
      await s.connect();
      await s.subscribe("tcp/q1", 1);
      const p = await open();
      await p.connect();
      p.publish("tcp/q1", "hello", { qos: 1, messageId: 300 });
      assert.equal((await p.expect("puback")).messageId, 300);
      const m = await s.expect("publish");
      assert.deepEqual([m.topic, m.payload.toString(), m.qos, m.dup, m.retain], [
        "tcp/q1",
        "hello",
        1,
        false,
        false,
      ]);
      assert.ok(m.messageId > 0);
      s.send({ cmd: "puback", messageId: m.messageId });
      p.publish("tcp/q1", "again", { qos: 1, messageId: 300 });
      await p.expect("puback");
      const m2 = await s.expect("publish");
      assert.equal(m2.payload.toString(), "again");
      s.send({ cmd: "puback", messageId: m2.messageId });
    });
  });

  it("MQTT-4.3.3-1 MQTT-4.3.3-2 QoS 2 end to end over TCP, a duplicate before PUBREL delivered once", async () => {
    await withTcpBroker(async (broker, open) => {
      const s = await open();
      await s.connect();
      await s.subscribe("tcp/q2", 2);
      const p = await open();
      await p.connect();
      p.publish("tcp/q2", "once", { qos: 2, messageId: 17 });
      assert.equal((await p.expect("pubrec")).messageId, 17);
      p.publish("tcp/q2", "once", { qos: 2, messageId: 17, dup: true });
      assert.equal((await p.expect("pubrec")).messageId, 17);
      p.send({ cmd: "pubrel", messageId: 17 });
      assert.equal((await p.expect("pubcomp")).messageId, 17);
      const m = await s.expect("publish");
      assert.deepEqual([m.payload.toString(), m.qos, m.dup], ["once", 2, false]);
      s.send({ cmd: "pubrec", messageId: m.messageId });
      assert.equal((await s.expect("pubrel")).messageId, m.messageId);
      s.send({ cmd: "pubcomp", messageId: m.messageId });
      assert.deepEqual(await s.collect(80), [], "delivered once");
      await until(() => broker.inflightCount === 0, 1000, "PUBCOMP to release");
    });
  });

  it("MQTT-4.4.0-1 MQTT-3.3.1-1 redelivery with DUP and PUBREL re-sent after reconnect over TCP", async () => {
    await withTcpBroker(async (broker, open) => {
      const a = await open();
      await a.connect({ clientId: "tcp-re", clean: false });
      await a.subscribe("tcp/re/#", 2);
      await broker.publish("tcp/re/1", "one", { qos: 1 });
      await broker.publish("tcp/re/2", "two", { qos: 2 });
      await broker.publish("tcp/re/3", "three", { qos: 2 });
      const [m1, m2, m3] = await expectMany(a, "publish", 3);
      a.send({ cmd: "pubrec", messageId: m3.messageId });
      await a.expect("pubrel");
      await drop(broker, a, "tcp-re");
      const b = await open();
      assert.equal((await b.connect({ clientId: "tcp-re", clean: false })).sessionPresent, true);
      const got = [await b.next(), await b.next(), await b.next()];
      assert.deepEqual(
        got.filter((p) => p.cmd === "publish").map((p) => [p.topic, p.messageId, p.dup]),
        [["tcp/re/1", m1.messageId, true], ["tcp/re/2", m2.messageId, true]],
      );
      assert.deepEqual(got.filter((p) => p.cmd === "pubrel").map((p) => p.messageId), [m3.messageId]);
      b.send({ cmd: "puback", messageId: m1.messageId });
      b.send({ cmd: "pubrec", messageId: m2.messageId });
      await b.expect("pubrel");
      b.send({ cmd: "pubcomp", messageId: m2.messageId });
      b.send({ cmd: "pubcomp", messageId: m3.messageId });
      await until(() => broker.inflightCount === 0, 1000, "everything acknowledged");
    });
  });
});
