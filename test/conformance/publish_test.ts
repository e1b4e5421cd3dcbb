/**
 * Conformance: PUBLISH (MQTT 3.1.1 section 3.3): DUP and RETAIN, the topic name, the response, and delivery to
 * overlapping subscriptions and to forbidden topics. One test per normative statement.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Broker } from "../../src/broker.ts";
import type { Access, ClientInfo, Hook, Verdict } from "../../src/hooks/hook.ts";
import type { ConnectPacket } from "../../src/packets/types.ts";
import { RawClient } from "../_helpers/raw_client.ts";
import { testBroker } from "../_helpers/broker.ts";
import { mqttString, publishBytes, WireTap } from "./_wire_tap.ts";

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

/** A connected client subscribed to `filter` at `qos`. */
async function subscriber(
  broker: Broker,
  filter: string,
  qos: number,
  clientId?: string,
): Promise<RawClient> {
  const c = RawClient.memory(broker);
  await c.connect(clientId === undefined ? {} : { clientId });
  const ack = await c.subscribe(filter, qos);
  assert.deepEqual(ack.granted, [qos]);
  return c;
}

/** A connected client for publishing. */
async function publisher(broker: Broker): Promise<RawClient> {
  const c = RawClient.memory(broker);
  await c.connect();
  return c;
}

/** Publish at QoS 0/1/2 and complete the inbound flow (PUBACK, or PUBREC, PUBREL, PUBCOMP). */
async function publishDone(
  c: RawClient,
  topic: string,
  payload: string,
  options: { qos: number; retain?: boolean; dup?: boolean; messageId?: number },
): Promise<void> {
  const messageId = options.qos > 0 ? (options.messageId ?? 1) : undefined;
  c.publish(topic, payload, { ...options, messageId });
  if (options.qos === 1) assert.equal((await c.expect("puback")).messageId, messageId);
  if (options.qos === 2) {
    assert.equal((await c.expect("pubrec")).messageId, messageId);
    c.send({ cmd: "pubrel", messageId });
    assert.equal((await c.expect("pubcomp")).messageId, messageId);
  }
}

/** Acknowledge a QoS 1/2 PUBLISH received by a subscriber (completing QoS 2 with PUBCOMP). */
async function ack(c: RawClient, p: { qos: number; messageId: number }): Promise<void> {
  if (p.qos === 1) c.send({ cmd: "puback", messageId: p.messageId });
  if (p.qos === 2) {
    c.send({ cmd: "pubrec", messageId: p.messageId });
    assert.equal((await c.expect("pubrel")).messageId, p.messageId);
    c.send({ cmd: "pubcomp", messageId: p.messageId });
  }
}

/** An auth hook that allows every client and denies publishing under `secret/` (so it must run first). */
class SecretTopicsHook implements Hook {
  readonly id = "deny-secret-writes";
  onAuthenticate(_client: ClientInfo, _packet: ConnectPacket): Verdict {
    return "allow";
  }
  onAclCheck(_client: ClientInfo, topic: string, access: Access): Verdict {
    return access === "write" && topic.startsWith("secret/") ? "deny" : "allow";
  }
}

describe("conformance 3.3.1 PUBLISH fixed header: DUP", () => {
  it("MQTT-3.3.1-1 a QoS 1 and a QoS 2 message re-delivered after reconnect carry DUP 1", async () => {
    await withBroker(async (broker) => {
      const a = RawClient.memory(broker);
      await a.connect({ clientId: "dup-a", clean: false });
      await a.subscribe("dup/#", 2);
      await broker.publish("dup/1", "one", { qos: 1 });
      await broker.publish("dup/2", "two", { qos: 2 });
      const first = [await a.expect("publish"), await a.expect("publish")];
      assert.deepEqual(first.map((p) => [p.topic, p.dup]), [["dup/1", false], ["dup/2", false]]);
      a.destroy();
      await a.waitClosed();
      const b = RawClient.memory(broker);
      await b.connect({ clientId: "dup-a", clean: false });
      const again = [await b.expect("publish"), await b.expect("publish")];
      assert.deepEqual(
        again.map((p) => [p.topic, p.qos, p.dup, p.messageId]),
        first.map((p) => [p.topic, p.qos, true, p.messageId]),
      );
      for (const p of again) await ack(b, p);
      assert.equal(broker.inflightCount, 0);
    });
  });

  it("MQTT-3.3.1-2 every QoS 0 PUBLISH the server sends has DUP 0, even from a DUP 1 publish", async () => {
    await withBroker(async (broker) => {
      const tap = new WireTap(broker);
      await tap.connect("dup0");
      tap.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "dup0/#", qos: 0 }] });
      await tap.waitFor(9);
      const pub = await publisher(broker);
      // A QoS 1 re-send (DUP 1) downgraded to the QoS 0 subscription.
      pub.publish("dup0/a", "x", { qos: 1, messageId: 4, dup: true });
      await pub.expect("puback");
      const live = await tap.waitFor(3);
      assert.equal(live.flags, 0x0, "QoS 0, DUP 0, RETAIN 0");
      // A retained message sent at QoS 0 on subscribe.
      await publishDone(pub, "dup0/r", "r", { qos: 2, retain: true, dup: true, messageId: 5 });
      await tap.waitFor(3);
      tap.send({ cmd: "subscribe", messageId: 2, subscriptions: [{ topic: "dup0/r", qos: 0 }] });
      await tap.waitFor(9);
      const retained = await tap.waitFor(3);
      assert.equal(retained.flags, 0x1, "QoS 0, DUP 0, RETAIN 1");
    });
  });

  it("MQTT-3.3.1-2 a QoS 0 PUBLISH with DUP 1 from a client breaks the protocol: the connection is closed", async () => {
    await withBroker(async (broker) => {
      const s = await subscriber(broker, "dupq0/#", 0);
      const pub = await publisher(broker);
      // QoS 0, DUP 1, topic "dupq0/a", payload "x".
      pub.sendBytes([0x38, 0x0a, 0x00, 0x07, ...new TextEncoder().encode("dupq0/a"), 0x78]);
      assert.equal(await pub.waitClosed(), true);
      assert.deepEqual(pub.packets, []);
      assert.deepEqual(await s.collect(30), [], "nothing delivered");
      assert.equal(broker.stats.protocolErrors, 1);
    });
  });

  it("MQTT-3.3.1-3 the publisher's DUP 1 is not copied to subscribers: a first delivery has DUP 0", async () => {
    await withBroker(async (broker) => {
      const s1 = await subscriber(broker, "dup3/#", 1);
      const s2 = await subscriber(broker, "dup3/#", 2);
      const pub = await publisher(broker);
      pub.publish("dup3/a", "x", { qos: 1, messageId: 8, dup: true });
      await pub.expect("puback");
      pub.publish("dup3/b", "y", { qos: 2, messageId: 9, dup: true });
      await pub.expect("pubrec");
      for (const [s, qos] of [[s1, 1], [s1, 1], [s2, 1], [s2, 2]] as const) {
        const m = await s.expect("publish");
        assert.equal(m.qos, qos);
        assert.equal(m.dup, false, `${m.topic} at QoS ${m.qos}`);
      }
    });
  });
});

describe("conformance 3.3.1 PUBLISH fixed header: QoS", () => {
  for (const first of [0x36, 0x37, 0x3e]) {
    it(`MQTT-3.3.1-4 a PUBLISH with both QoS bits set (0x${first.toString(16)}) closes the connection`, async () => {
      await withBroker(async (broker) => {
        const sub = await subscriber(broker, "#", 2);
        const c = await publisher(broker);
        const body = [...mqttString("q3/t"), 0x00, 0x01, 0x78];
        c.sendBytes([first, body.length, ...body]);
        assert.equal(await c.waitClosed(), true);
        assert.deepEqual(c.packets, [], "no PUBACK, PUBREC or anything else");
        assert.deepEqual(await sub.collect(50), [], "the message is not forwarded");
      });
    });
  }
});

describe("conformance 3.3.1 PUBLISH fixed header: RETAIN", () => {
  it("MQTT-3.3.1-5 a retained message is stored with its QoS and given to later subscribers", async () => {
    await withBroker(async (broker) => {
      const pub = await publisher(broker);
      await publishDone(pub, "ret/q1", "one", { qos: 1, retain: true, messageId: 1 });
      await publishDone(pub, "ret/q2", "two", { qos: 2, retain: true, messageId: 2 });
      await publishDone(pub, "ret/q0", "zero", { qos: 0, retain: true });
      const s = RawClient.memory(broker);
      await s.connect();
      const got = new Map<string, { qos: number; payload: string }>();
      await s.subscribe("ret/#", 2);
      const msgs = [await s.expect("publish"), await s.expect("publish"), await s.expect("publish")];
      for (const m of msgs) got.set(m.topic, { qos: m.qos, payload: m.payload.toString() });
      for (const m of msgs) await ack(s, m);
      // Delivered at the QoS it was published with (the subscription grants 2).
      assert.deepEqual(Object.fromEntries(got), {
        "ret/q0": { qos: 0, payload: "zero" },
        "ret/q1": { qos: 1, payload: "one" },
        "ret/q2": { qos: 2, payload: "two" },
      });
      // A subscription granting less gets the lower QoS.
      const low = RawClient.memory(broker);
      await low.connect();
      await low.subscribe("ret/q2", 1);
      const m = await low.expect("publish");
      assert.deepEqual([m.topic, m.qos, m.retain], ["ret/q2", 1, true]);
    });
  });

  it("MQTT-3.3.1-6 a new subscription gets the latest retained message of every matching topic", async () => {
    await withBroker(async (broker) => {
      const pub = await publisher(broker);
      await publishDone(pub, "m6/a", "a-old", { qos: 1, retain: true, messageId: 1 });
      await publishDone(pub, "m6/a", "a-new", { qos: 1, retain: true, messageId: 2 });
      await publishDone(pub, "m6/b", "b", { qos: 1, retain: true, messageId: 3 });
      await publishDone(pub, "m6/c/deeper", "c", { qos: 1, retain: true, messageId: 4 });
      await publishDone(pub, "other/a", "o", { qos: 1, retain: true, messageId: 5 });
      const s = RawClient.memory(broker);
      await s.connect();
      await s.subscribe("m6/+", 1);
      const got = [await s.expect("publish"), await s.expect("publish")];
      assert.deepEqual(got.map((m) => `${m.topic}=${m.payload}`).sort(), ["m6/a=a-new", "m6/b=b"]);
      assert.deepEqual(await s.collect(50), [], "only the latest per topic, only matching topics");
    });
  });

  it("MQTT-3.3.1-7 a QoS 0 retained PUBLISH replaces the message retained earlier for its topic", async () => {
    await withBroker(async (broker) => {
      const pub = await publisher(broker);
      await publishDone(pub, "m7/t", "earlier", { qos: 1, retain: true, messageId: 1 });
      await publishDone(pub, "m7/t", "later", { qos: 0, retain: true });
      const s = RawClient.memory(broker);
      await s.connect();
      await s.subscribe("m7/t", 2);
      const got = (await s.collect(60)).filter((p) => p.cmd === "publish");
      assert.ok(
        got.every((m) => m.payload.toString() !== "earlier"),
        "the earlier retained message is discarded",
      );
      // Keeping the new one is a SHOULD; this broker does.
      assert.deepEqual(got.map((m) => [m.payload.toString(), m.qos, m.retain]), [["later", 0, true]]);
    });
  });

  it("MQTT-3.3.1-8 messages sent because of a new subscription carry RETAIN 1, also on re-subscribe", async () => {
    await withBroker(async (broker) => {
      const pub = await publisher(broker);
      await publishDone(pub, "m8/t", "kept", { qos: 1, retain: true, messageId: 1 });
      const tap = new WireTap(broker);
      await tap.connect("m8");
      tap.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "m8/#", qos: 1 }] });
      await tap.waitFor(9);
      const first = await tap.waitFor(3);
      assert.equal(first.flags, 0x3, "QoS 1, DUP 0, RETAIN 1");
      tap.sendBytes([0x40, 0x02, first.body[6]!, first.body[7]!]);
      // Replacing the subscription sends the retained message again, again with RETAIN 1.
      tap.send({ cmd: "subscribe", messageId: 2, subscriptions: [{ topic: "m8/#", qos: 0 }] });
      await tap.waitFor(9);
      assert.equal((await tap.waitFor(3)).flags, 0x1, "QoS 0, DUP 0, RETAIN 1");
    });
  });

  it("MQTT-3.3.1-9 a message delivered through an established subscription has RETAIN 0", async () => {
    await withBroker(async (broker) => {
      const s = await subscriber(broker, "m9/#", 2);
      const pub = await publisher(broker);
      await publishDone(pub, "m9/a", "x", { qos: 0, retain: true });
      await publishDone(pub, "m9/b", "y", { qos: 1, retain: true, messageId: 2 });
      await publishDone(pub, "m9/c", "z", { qos: 2, retain: true, messageId: 3 });
      for (const qos of [0, 1, 2]) {
        const m = await s.expect("publish");
        assert.deepEqual([m.qos, m.retain], [qos, false], m.topic);
        await ack(s, m);
      }
      assert.equal(broker.retainedCount, 3, "the messages are still retained for future subscribers");
    });
  });

  it("MQTT-3.3.1-10 a retained PUBLISH with an empty payload goes to subscribers and clears the topic", async () => {
    await withBroker(async (broker) => {
      const pub = await publisher(broker);
      await publishDone(pub, "m10/t", "kept", { qos: 1, retain: true, messageId: 1 });
      const s = await subscriber(broker, "m10/t", 1);
      assert.equal((await s.expect("publish")).payload.toString(), "kept");
      await publishDone(pub, "m10/t", "", { qos: 1, retain: true, messageId: 2 });
      const m = await s.expect("publish");
      assert.deepEqual([m.topic, m.payload.length, m.qos, m.retain], ["m10/t", 0, 1, false]);
      assert.equal(broker.getRetained("m10/t"), undefined);
      const late = RawClient.memory(broker);
      await late.connect();
      await late.subscribe("m10/#", 1);
      assert.deepEqual(await late.collect(60), [], "nothing retained any more");
    });
  });

  it("MQTT-3.3.1-11 a zero-byte retained payload is never stored", async () => {
    await withBroker(async (broker) => {
      const pub = await publisher(broker);
      for (const qos of [0, 1, 2]) {
        await publishDone(pub, `m11/${qos}`, "", { qos, retain: true, messageId: 1 });
      }
      assert.equal(broker.retainedCount, 0);
      const late = RawClient.memory(broker);
      await late.connect();
      await late.subscribe("m11/#", 2);
      assert.deepEqual(await late.collect(60), []);
    });
  });

  it("MQTT-3.3.1-12 a PUBLISH with RETAIN 0 is not stored and leaves the retained message alone", async () => {
    await withBroker(async (broker) => {
      const pub = await publisher(broker);
      await publishDone(pub, "m12/t", "retained", { qos: 1, retain: true, messageId: 1 });
      await publishDone(pub, "m12/t", "live", { qos: 1, retain: false, messageId: 2 });
      await publishDone(pub, "m12/t", "", { qos: 0, retain: false });
      await publishDone(pub, "m12/other", "live-only", { qos: 2, retain: false, messageId: 3 });
      const late = RawClient.memory(broker);
      await late.connect();
      await late.subscribe("m12/#", 1);
      const got = (await late.collect(60)).filter((p) => p.cmd === "publish");
      assert.deepEqual(got.map((m) => [m.topic, m.payload.toString(), m.retain]), [[
        "m12/t",
        "retained",
        true,
      ]]);
    });
  });
});

describe("conformance 3.3.2 PUBLISH variable header", () => {
  it("MQTT-3.3.2-1 the topic name is the first field of a forwarded PUBLISH, as an MQTT UTF-8 string", async () => {
    await withBroker(async (broker) => {
      const tap = new WireTap(broker);
      await tap.connect("vh");
      tap.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "vh/#", qos: 1 }] });
      await tap.waitFor(9);
      const topic = "vh/ü/€/𝄞";
      const pub = await publisher(broker);
      pub.publish(topic, "p", { qos: 1, messageId: 3 });
      await pub.expect("puback");
      const frame = await tap.waitFor(3);
      const t = mqttString(topic);
      assert.deepEqual([...frame.body.subarray(0, t.length)], t);
      assert.equal(frame.body.length, t.length + 2 + 1, "topic, packet identifier, payload");
    });
  });

  it("MQTT-3.3.2-1 a PUBLISH whose topic length runs past the packet closes the connection", async () => {
    await withBroker(async (broker) => {
      const sub = await subscriber(broker, "#", 0);
      const c = await publisher(broker);
      c.sendBytes([0x30, 0x04, 0x00, 0x09, 0x61, 0x62]);
      assert.equal(await c.waitClosed(), true);
      assert.deepEqual(await sub.collect(50), []);
    });
  });

  it("MQTT-3.3.2-1 a QoS 1 PUBLISH too short to hold its packet identifier closes the connection", async () => {
    await withBroker(async (broker) => {
      const c = await publisher(broker);
      c.sendBytes([0x32, 0x04, 0x00, 0x02, 0x61, 0x62]);
      assert.equal(await c.waitClosed(), true);
      assert.deepEqual(c.packets, []);
    });
  });

  for (const topic of ["a/+", "a/#", "#", "+", "a/b+", "a#/b"]) {
    it(`MQTT-3.3.2-2 a PUBLISH to the topic name "${topic}" (a wildcard) closes the connection`, async () => {
      await withBroker(async (broker) => {
        const sub = await subscriber(broker, "#", 2);
        const c = await publisher(broker);
        c.sendBytes(publishBytes({ topic, payload: "x", qos: 1, id: 1 }));
        assert.equal(await c.waitClosed(), true);
        assert.deepEqual(c.packets, [], "no PUBACK");
        assert.deepEqual(await sub.collect(50), [], "not forwarded");
      });
    });
  }

  it("MQTT-3.3.2-3 the forwarded topic name is the published name, which matches the subscriber's filter", async () => {
    await withBroker(async (broker) => {
      const plus = await subscriber(broker, "s3/+/x", 0);
      const hash = await subscriber(broker, "s3/#", 0);
      const exact = await subscriber(broker, "s3/abc/x", 0);
      const pub = await publisher(broker);
      await publishDone(pub, "s3/abc/x", "1", { qos: 0 });
      await publishDone(pub, "s3/abc/y", "2", { qos: 0 });
      assert.deepEqual((await plus.collect(40)).map((p) => p.topic), ["s3/abc/x"]);
      assert.deepEqual((await hash.collect(0)).map((p) => p.topic), ["s3/abc/x", "s3/abc/y"]);
      assert.deepEqual((await exact.collect(0)).map((p) => p.topic), ["s3/abc/x"]);
    });
  });
});

describe("conformance 3.3.4 PUBLISH response", () => {
  it("MQTT-3.3.4-1 QoS 0 gets no answer, QoS 1 a PUBACK, QoS 2 a PUBREC", async () => {
    await withBroker(async (broker) => {
      const c = await publisher(broker);
      c.publish("r4/0", "a", { qos: 0 });
      c.send({ cmd: "pingreq" });
      await c.expect("pingresp", 500);
      c.publish("r4/1", "b", { qos: 1, messageId: 21 });
      assert.equal((await c.expect("puback")).messageId, 21);
      c.publish("r4/2", "c", { qos: 2, messageId: 22 });
      assert.equal((await c.expect("pubrec")).messageId, 22);
      assert.deepEqual(await c.collect(40), [], "exactly one answer each");
    });
  });

  it("MQTT-3.3.4-1 a PUBLISH nobody subscribed to is answered the same way", async () => {
    await withBroker(async (broker) => {
      const c = await publisher(broker);
      c.publish("nobody/1", "b", { qos: 1, messageId: 1 });
      await c.expect("puback");
      c.publish("nobody/2", "c", { qos: 2, messageId: 2 });
      await c.expect("pubrec");
    });
  });
});

describe("conformance 3.3.5 PUBLISH actions", () => {
  it("MQTT-3.3.5-1 overlapping subscriptions of one client get the message once at the highest QoS", async () => {
    await withBroker(async (broker) => {
      const s = RawClient.memory(broker);
      await s.connect();
      await s.subscribe([["ov/#", 1], ["ov/+", 2], ["ov/x", 0], ["+/x", 1]]);
      const pub = await publisher(broker);
      await publishDone(pub, "ov/x", "two", { qos: 2, messageId: 1 });
      const m = await s.expect("publish");
      assert.deepEqual([m.topic, m.qos], ["ov/x", 2]);
      await ack(s, m);
      // Published at QoS 1: once, at QoS 1 (never above the published QoS).
      await publishDone(pub, "ov/x", "one", { qos: 1, messageId: 2 });
      const m1 = await s.expect("publish");
      assert.deepEqual([m1.payload.toString(), m1.qos], ["one", 1]);
      await ack(s, m1);
      assert.deepEqual(await s.collect(50), [], "one copy per message");
    });
  });

  it("MQTT-3.3.5-1 with only low-QoS matches the highest of them applies (QoS 1 out of 0 and 1)", async () => {
    await withBroker(async (broker) => {
      const s = RawClient.memory(broker);
      await s.connect();
      await s.subscribe([["lo/#", 0], ["lo/+", 1]]);
      await broker.publish("lo/t", "x", { qos: 2 });
      const m = await s.expect("publish");
      assert.equal(m.qos, 1);
      await ack(s, m);
      assert.deepEqual(await s.collect(50), []);
    });
  });

  it("a message is delivered at the lower of its QoS and the QoS granted to the subscription", async () => {
    await withBroker(async (broker) => {
      const subs = [await subscriber(broker, "dg/t", 0), await subscriber(broker, "dg/t", 1)];
      subs.push(await subscriber(broker, "dg/t", 2));
      const pub = await publisher(broker);
      for (const qos of [0, 1, 2]) {
        await publishDone(pub, "dg/t", `q${qos}`, { qos, messageId: 10 + qos });
        for (const [granted, s] of subs.entries()) {
          const m = await s.expect("publish");
          assert.equal(m.qos, Math.min(qos, granted), `published ${qos}, granted ${granted}`);
          await ack(s, m);
        }
      }
    });
  });

  it("MQTT-3.3.5-2 a PUBLISH to $SYS is acknowledged as usual and dropped; the connection stays", async () => {
    await withBroker(async (broker) => {
      const sys = await subscriber(broker, "$SYS/#", 2);
      const c = await publisher(broker);
      const dropped = broker.stats.dropped["not-authorized"];
      await publishDone(c, "$SYS/broker/fake", "0", { qos: 0 });
      await publishDone(c, "$SYS/broker/fake", "1", { qos: 1, messageId: 1 });
      await publishDone(c, "$SYS/broker/fake", "2", { qos: 2, messageId: 2 });
      await publishDone(c, "$SYS/retained", "r", { qos: 1, retain: true, messageId: 3 });
      assert.deepEqual(await sys.collect(50), [], "not delivered");
      assert.equal(broker.getRetained("$SYS/retained"), undefined, "not retained");
      assert.equal(broker.stats.dropped["not-authorized"] - dropped, 4);
      c.send({ cmd: "pingreq" });
      await c.expect("pingresp");
    });
  });

  it("MQTT-3.3.5-2 a PUBLISH the ACL forbids is acknowledged as usual and not delivered", async () => {
    await withBroker(async (broker) => {
      const s = await subscriber(broker, "secret/#", 2);
      const c = await publisher(broker);
      await publishDone(c, "secret/a", "0", { qos: 0 });
      await publishDone(c, "secret/a", "1", { qos: 1, messageId: 1 });
      await publishDone(c, "secret/a", "2", { qos: 2, messageId: 2 });
      await publishDone(c, "secret/a", "r", { qos: 1, retain: true, messageId: 3 });
      assert.deepEqual(await s.collect(50), []);
      assert.equal(broker.getRetained("secret/a"), undefined);
      // The connection stays usable and allowed topics still flow.
      const open = await subscriber(broker, "open/#", 1);
      await publishDone(c, "open/a", "ok", { qos: 1, messageId: 4 });
      assert.equal((await open.expect("publish")).payload.toString(), "ok");
    }, { auth: new SecretTopicsHook() });
  });
});
