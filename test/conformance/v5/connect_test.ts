/**
 * Conformance, MQTT 5.0: CONNECT (section 3.1), one test or more per normative statement. Test names carry
 * "(5.0)" after the id because 3.1.1 uses the same ids with other meanings. CONNACK is in connack_test.ts.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { FakeClock } from "../../../src/clock.ts";
import { MqttError } from "../../../src/errors.ts";
import type { Hook } from "../../../src/hooks/hook.ts";
import { DenyHook } from "../../../src/hooks/auth/deny_hook.ts";
import { packetFixture } from "../../fixtures/packets.ts";
import { type AnyPacket, RawClient } from "../../_helpers/raw_client.ts";
import { until } from "../../_helpers/broker.ts";
import {
  client5,
  closedSilently,
  CONNECT5,
  connect5Bytes,
  decode5,
  denyByName,
  drop,
  expectDisconnect,
  propertyValues,
  props,
  publishParts,
  refusedWith,
  str,
  subscribe5,
  subscriber5,
  Tap5,
  tapSubscriber,
  u32,
  withBroker,
  withTcpBroker,
} from "./_v5.ts";

describe("conformance 5.0 3.1 CONNECT", () => {
  it("MQTT-3.1.0-1 (5.0) a first packet other than CONNECT closes the connection", async () => {
    await withBroker(async (broker) => {
      const c = RawClient.memory(broker, 5);
      c.send({
        cmd: "subscribe",
        messageId: 1,
        subscriptions: [{ topic: "a", qos: 0, nl: false, rap: false, rh: 0 }],
      });
      await closedSilently(c);
      assert.equal(broker.subscriptionCount, 0);
    });
  });

  it("MQTT-3.1.0-2 (5.0) a second CONNECT is a Protocol Error: DISCONNECT 0x82 and close", async () => {
    await withBroker(async (broker) => {
      const c = await client5(broker, { clientId: "twice" });
      c.send({ ...CONNECT5, clientId: "twice" });
      await expectDisconnect(c, 0x82);
      assert.deepEqual(c.packets, [], "no second CONNACK");
    });
  });

  it("MQTT-3.1.2-1 (5.0) protocol name other than MQTT: closed without CONNACK (the broker's choice over 0x84)", async () => {
    await withBroker(async (broker) => {
      const c = RawClient.memory(broker, 5);
      c.sendBytes(connect5Bytes({ name: "MQTX", payload: str("x") }));
      await closedSilently(c);
    });
  });

  it("MQTT-3.1.2-2 (5.0) protocol level 6 is refused with a 3.1.1-form CONNACK 0x01, then close (broker's choice; 0x84 optional)", async () => {
    await withBroker(async (broker) => {
      const tap = new Tap5(broker);
      tap.sendBytes(connect5Bytes({ level: 6, payload: str("x") }));
      const f = await tap.waitFor(2);
      assert.deepEqual([...f.bytes], [0x20, 0x02, 0x00, 0x01]);
      await until(() => tap.closed, 1000, "close");
      assert.equal(tap.frames.length, 0);
    });
  });

  it("MQTT-3.1.2-3 (5.0) reserved connect flag bit 0 set: malformed, closed without CONNACK (broker's choice)", async () => {
    await withBroker(async (broker) => {
      const c = RawClient.memory(broker, 5);
      c.sendBytes(packetFixture("connect.v5.malformed.reservedFlag").bytes);
      await closedSilently(c);
    });
  });

  it("MQTT-3.1.2-4 (5.0) Clean Start 1 discards the existing session and begins a new one", async () => {
    await withBroker(async (broker) => {
      const a = await subscriber5(broker, "cs/#", 1, {
        clientId: "cs1",
        clean: false,
        properties: { sessionExpiryInterval: 300 },
      });
      await drop(broker, a, "cs1");
      await broker.publish("cs/x", "queued", { qos: 1 });
      assert.equal(broker.getSession("cs1")?.queued, 1);
      const b = RawClient.memory(broker, 5);
      const ack = await b.connect({
        clientId: "cs1",
        clean: true,
        properties: { sessionExpiryInterval: 300 },
      });
      assert.equal(ack.sessionPresent, false);
      assert.equal(broker.getSession("cs1")?.subscriptions.size, 0, "subscriptions gone");
      assert.deepEqual(await b.collect(50), [], "the queued message went with the old session");
    });
  });

  it("MQTT-3.1.2-5 (5.0) Clean Start 0 with an existing session resumes it: subscriptions and queued messages", async () => {
    await withBroker(async (broker) => {
      const a = await subscriber5(broker, "rs/#", 1, {
        clientId: "rs1",
        clean: false,
        properties: { sessionExpiryInterval: 300 },
      });
      await drop(broker, a, "rs1");
      await broker.publish("rs/x", "kept", { qos: 1 });
      const b = RawClient.memory(broker, 5);
      const ack = await b.connect({
        clientId: "rs1",
        clean: false,
        properties: { sessionExpiryInterval: 300 },
      });
      assert.equal(ack.sessionPresent, true);
      const m = await b.expect("publish");
      assert.equal(m.payload.toString(), "kept");
      await broker.publish("rs/y", "live", { qos: 0 });
      assert.equal((await b.expect("publish")).topic, "rs/y", "the subscription is still there");
    });
  });

  it("MQTT-3.1.2-6 (5.0) Clean Start 0 with no session creates one (Session Present 0)", async () => {
    await withBroker(async (broker) => {
      assert.equal(broker.getSession("new5"), undefined);
      const c = RawClient.memory(broker, 5);
      const ack = await c.connect({
        clientId: "new5",
        clean: false,
        properties: { sessionExpiryInterval: 60 },
      });
      assert.equal(ack.reasonCode, 0);
      assert.equal(ack.sessionPresent, false);
      assert.equal(broker.getSession("new5")?.clientId, "new5");
    });
  });

  it("MQTT-3.1.2-16 (5.0) User Name Flag 0 with a user name in the payload is refused (closed)", async () => {
    await withBroker(async (broker) => {
      const c = RawClient.memory(broker, 5);
      c.sendBytes(connect5Bytes({ flags: 0x02, payload: [...str("u16"), ...str("user")] }));
      await closedSilently(c);
    });
  });

  it("MQTT-3.1.2-17 (5.0) User Name Flag 1 without a user name is refused (closed)", async () => {
    await withBroker(async (broker) => {
      const c = RawClient.memory(broker, 5);
      c.sendBytes(connect5Bytes({ flags: 0x82, payload: str("u17") }));
      await closedSilently(c);
    });
  });

  it("MQTT-3.1.2-18 (5.0) Password Flag 0 with a password in the payload is refused (closed)", async () => {
    await withBroker(async (broker) => {
      const c = RawClient.memory(broker, 5);
      c.sendBytes(connect5Bytes({ flags: 0x82, payload: [...str("u18"), ...str("user"), ...str("secret")] }));
      await closedSilently(c);
    });
  });

  it("MQTT-3.1.2-19 (5.0) Password Flag 1 without a password is refused (closed)", async () => {
    await withBroker(async (broker) => {
      const c = RawClient.memory(broker, 5);
      c.sendBytes(connect5Bytes({ flags: 0xc2, payload: [...str("u19"), ...str("user")] }));
      await closedSilently(c);
      const d = RawClient.memory(broker, 5);
      d.sendBytes(connect5Bytes({ flags: 0x42, payload: str("u19b") }));
      await closedSilently(d);
    });
  });

  it("MQTT-3.1.2-19 (5.0) a password without a user name is allowed in 5.0", async () => {
    await withBroker(async (broker) => {
      const c = RawClient.memory(broker, 5);
      c.sendBytes(packetFixture("connect.v5.passwordWithoutUsername").bytes);
      assert.equal((await c.expect("connack")).reasonCode, 0);
    });
  });

  it("MQTT-3.1.2-22 (5.0) nothing within 1.5 x Keep Alive: DISCONNECT 0x8D and close; any packet resets the timer", async () => {
    const clock = new FakeClock();
    await withBroker(async (broker) => {
      const c = await client5(broker, { keepalive: 10 });
      clock.advance(10_000);
      c.send({ cmd: "pingreq" });
      await c.expect("pingresp");
      clock.advance(14_900);
      assert.equal(c.closed, false, "still open 14.9 s after the last packet");
      assert.deepEqual(await c.collect(20), []);
      clock.advance(200);
      await expectDisconnect(c, 0x8d);
    }, { clock });
  });

  it("MQTT-3.1.2-22 (5.0) the Server Keep Alive it sent is the one enforced", async () => {
    const clock = new FakeClock();
    await withBroker(async (broker) => {
      const c = RawClient.memory(broker, 5);
      const ack = await c.connect({ keepalive: 600 });
      assert.equal(ack.properties?.serverKeepAlive, 4);
      clock.advance(5_900);
      assert.equal(c.closed, false);
      clock.advance(200);
      await expectDisconnect(c, 0x8d);
    }, { clock, limits: { maxKeepAlive: 4 } });
  });

  it("MQTT-3.1.2-23 (5.0) Session Expiry Interval above 0 keeps the session after the close; 0 ends it", async () => {
    await withBroker(async (broker) => {
      const a = await subscriber5(broker, "ke/#", 1, {
        clientId: "keep5",
        properties: { sessionExpiryInterval: 60 },
      });
      await drop(broker, a, "keep5");
      assert.equal(broker.getSession("keep5")?.subscriptions.has("ke/#"), true);
      const z = await subscriber5(broker, "kz/#", 1, { clientId: "zero5" });
      await drop(broker, z, "zero5");
      assert.equal(broker.getSession("zero5"), undefined);
      const b = RawClient.memory(broker, 5);
      assert.equal((await b.connect({ clientId: "keep5", clean: false })).sessionPresent, true);
    });
  });

  it("MQTT-3.1.2-24 (5.0) a PUBLISH larger than the client's Maximum Packet Size is never sent to it", async () => {
    await withBroker(async (broker) => {
      const tap = await tapSubscriber(broker, "mps/#", 1, { properties: { maximumPacketSize: 64 } });
      const pub = await client5(broker);
      pub.publish("mps/big", "x".repeat(100), { qos: 1, messageId: 1 });
      await pub.expect("puback");
      pub.publish("mps/small", "ok", { qos: 0 });
      const f = await tap.waitFor(3);
      assert.equal(publishParts(f).topic, "mps/small");
      const all = [f, ...(await tap.collect(30))];
      assert.ok(all.every((x) => x.bytes.length <= 64), "every packet within 64 bytes");
      assert.equal(broker.stats.dropped["too-large"], 1);
    });
  });

  it("MQTT-3.1.2-25 (5.0) a too-large message is dropped as if delivered: not held in flight, not resent", async () => {
    await withBroker(async (broker) => {
      const c = await subscriber5(broker, "mq/#", 1, {
        clientId: "mps25",
        properties: { maximumPacketSize: 64, sessionExpiryInterval: 60 },
      });
      await broker.publish("mq/big", "x".repeat(100), { qos: 1 });
      await broker.publish("mq/next", "small", { qos: 1 });
      const m = await c.expect("publish");
      assert.equal(m.topic, "mq/next", "the next message is not held up");
      assert.equal(broker.getSession("mps25")?.inflight.size, 1, "only the delivered one is in flight");
      await drop(broker, c, "mps25");
      const again = RawClient.memory(broker, 5);
      await again.connect({ clientId: "mps25", clean: false, properties: { maximumPacketSize: 64 } });
      const r = await again.expect("publish");
      assert.equal(r.topic, "mq/next");
      assert.deepEqual(await again.collect(40), [], "the dropped one is not resent");
    });
  });

  it("MQTT-3.1.2-26 (5.0) topic aliases sent stay within the client's Topic Alias Maximum", async () => {
    await withBroker(async (broker) => {
      const tap = await tapSubscriber(broker, "ta/#", 0, { properties: { topicAliasMaximum: 2 } });
      const pub = await client5(broker);
      const topics = ["ta/a", "ta/b", "ta/c", "ta/d", "ta/a", "ta/b", "ta/c", "ta/d"];
      for (const t of topics) pub.publish(t, t, { qos: 0 });
      const seen: Map<number, string> = new Map();
      for (const t of topics) {
        const p = publishParts(await tap.waitFor(3));
        assert.equal(new TextDecoder().decode(p.payload), t);
        const aliases = propertyValues(p.properties, 0x23) as number[];
        for (const a of aliases) assert.ok(a >= 1 && a <= 2, `alias ${a} within 1..2`);
        if (aliases.length === 1 && p.topic !== "") seen.set(aliases[0]!, p.topic);
        const resolved = p.topic === "" ? seen.get(aliases[0]!) : p.topic;
        assert.equal(resolved, t, "the topic or its alias names the published topic");
      }
    });
  });

  it("MQTT-3.1.2-27 (5.0) no Topic Alias at all when the client's Topic Alias Maximum is absent or 0", async () => {
    await withBroker(async (broker) => {
      const absent = await tapSubscriber(broker, "tn/#", 0);
      const zero = await tapSubscriber(broker, "tn/#", 0, { properties: { topicAliasMaximum: 0 } });
      const pub = await client5(broker);
      for (let i = 0; i < 3; i++) pub.publish("tn/same", `m${i}`, { qos: 0 });
      for (const tap of [absent, zero]) {
        for (let i = 0; i < 3; i++) {
          const p = publishParts(await tap.waitFor(3));
          assert.equal(p.topic, "tn/same");
          assert.deepEqual(propertyValues(p.properties, 0x23), []);
        }
      }
    });
  });

  it("MQTT-3.1.2-28 (5.0) Request Response Information 0: no Response Information in CONNACK (1: present)", async () => {
    await withBroker(async (broker) => {
      const c = RawClient.memory(broker, 5);
      const ack = await c.connect({ properties: { requestResponseInformation: false } });
      assert.equal(ack.properties?.responseInformation, undefined);
      const d = RawClient.memory(broker, 5);
      const ack2 = await d.connect();
      assert.equal(ack2.properties?.responseInformation, undefined, "absent means 0");
      const e = RawClient.memory(broker, 5);
      const ack3 = await e.connect({ properties: { requestResponseInformation: true } });
      assert.equal(ack3.properties?.responseInformation, "reply/");
    }, { responseInformation: "reply/" });
  });

  it("MQTT-3.1.2-29 (5.0) Request Problem Information 0: no Reason String or User Property on acks", async () => {
    const denyWrite: Hook = {
      id: "deny-write",
      onAclCheck: (_c, topic, access) => access === "write" && topic.startsWith("no/") ? "deny" : undefined,
      onPublish(_c, message) {
        // A refusal with a reason: the PUBACK/PUBREC would carry it as a Reason String.
        if (message.topic.startsWith("full/")) throw new MqttError(0x97, "quota exceeded for full/");
        return message;
      },
    };
    await withBroker(async (broker) => {
      // Control: a client that did not ask for less gets the refusal's Reason String.
      const told = await client5(broker);
      told.publish("full/a", "x", { qos: 1, messageId: 1 });
      assert.equal((await told.expect("puback")).properties?.reasonString, "quota exceeded for full/");
      const tap = new Tap5(broker);
      decode5(await tap.connect({ properties: { requestProblemInformation: false } }));
      tap.send({ cmd: "publish", topic: "full/a", payload: Buffer.from("x"), qos: 1, messageId: 8 });
      tap.send({ cmd: "publish", topic: "full/b", payload: Buffer.from("x"), qos: 2, messageId: 9 });
      const refusals = [decode5(await tap.waitFor(4)), decode5(await tap.waitFor(5))];
      assert.deepEqual(refusals.map((p) => [p.cmd, p.reasonCode]), [["puback", 0x97], ["pubrec", 0x97]]);
      for (const p of refusals) {
        assert.equal(p.properties?.reasonString, undefined, `${p.cmd}: no Reason String`);
      }
      tap.send({ cmd: "publish", topic: "no/a", payload: Buffer.from("x"), qos: 1, messageId: 1 });
      tap.sendBytes(
        [0x34, 13, ...str("pf/a"), 0, 2, 2, 0x01, 1, 0xc3, 0x28], // QoS 2, PFI 1, invalid UTF-8 payload
      );
      tap.send({
        cmd: "subscribe",
        messageId: 3,
        subscriptions: [{ topic: "a/#/b", qos: 0, nl: false, rap: false, rh: 0 }],
      });
      tap.send({ cmd: "unsubscribe", messageId: 4, unsubscriptions: ["none/such"] });
      tap.send({ cmd: "pubrel", messageId: 77 });
      const acks = [
        await tap.waitFor(4),
        await tap.waitFor(5),
        await tap.waitFor(9),
        await tap.waitFor(11),
        await tap.waitFor(7),
      ];
      const decoded = acks.map(decode5);
      assert.deepEqual(decoded.map((p) => p.reasonCode ?? p.granted?.[0]), [0x87, 0x99, 0x8f, 0x11, 0x92]);
      for (const p of decoded) {
        assert.equal(p.properties?.reasonString, undefined, `${p.cmd} has no Reason String`);
        assert.equal(p.properties?.userProperties, undefined, `${p.cmd} has no User Property`);
      }
    }, { hooks: [denyWrite] });
  });

  it("MQTT-3.1.2-30 (5.0) during enhanced authentication a PUBLISH before CONNACK is refused: closed, not acted on", async () => {
    const challenge: Hook = {
      id: "challenge",
      onEnhancedAuth: (_c, step) =>
        step.method === "X" ? { result: "continue", data: new Uint8Array([1]) } : undefined,
    };
    await withBroker(async (broker) => {
      const sub = await subscriber5(broker, "ea/#", 0);
      const c = RawClient.memory(broker, 5);
      c.send({ ...CONNECT5, clientId: "ea", properties: { authenticationMethod: "X" } });
      const auth = await c.expect("auth");
      assert.equal(auth.reasonCode, 0x18);
      c.publish("ea/t", "sneaky", { qos: 0 });
      assert.equal(await c.waitClosed(), true);
      assert.equal(c.packets.some((p: AnyPacket) => p.cmd === "connack" && p.reasonCode === 0), false);
      assert.deepEqual(await sub.collect(40), []);
    }, { hooks: [challenge] });
  });

  it("MQTT-3.1.3-1 (5.0) payload read in order ClientID, Will Properties, Will Topic, Will Payload, User Name, Password", async () => {
    const seen: string[] = [];
    const record: Hook = {
      id: "record",
      onAuthenticate: (_c, p) => {
        seen.push(
          `${p.clientId}|${p.will?.topic}|${new TextDecoder().decode(p.will?.payload)}|${p.username}|${
            new TextDecoder().decode(p.password)
          }|${p.will?.properties?.contentType}`,
        );
        return "allow";
      },
    };
    await withBroker(async (broker) => {
      const c = RawClient.memory(broker, 5);
      c.sendBytes(connect5Bytes({
        flags: 0xc6,
        payload: [
          ...str("ord"),
          ...props([0x03, ...str("ct")]),
          ...str("w/ord"),
          ...str("wp"),
          ...str("usr"),
          ...str("pw"),
        ],
      }));
      assert.equal((await c.expect("connack")).reasonCode, 0);
      assert.deepEqual(seen, ["ord|w/ord|wp|usr|pw|ct"]);
      // Will fields without the Will Properties in front of them do not parse: the connection is closed.
      const d = RawClient.memory(broker, 5);
      d.sendBytes(connect5Bytes({ flags: 0x06, payload: [...str("ord2"), ...str("w/t"), ...str("m")] }));
      await closedSilently(d);
    }, { auth: record });
  });

  it("MQTT-3.1.3-2 (5.0) session state is keyed on the ClientID", async () => {
    await withBroker(async (broker) => {
      const a = await subscriber5(broker, "ka/#", 1, {
        clientId: "key-a",
        properties: { sessionExpiryInterval: 60 },
      });
      const b = await subscriber5(broker, "kb/#", 1, {
        clientId: "key-b",
        properties: { sessionExpiryInterval: 60 },
      });
      await drop(broker, a, "key-a");
      await drop(broker, b, "key-b");
      const a2 = RawClient.memory(broker, 5);
      assert.equal((await a2.connect({ clientId: "key-a", clean: false })).sessionPresent, true);
      assert.deepEqual([...broker.getSession("key-a")!.subscriptions.keys()], ["ka/#"]);
      assert.deepEqual([...broker.getSession("key-b")!.subscriptions.keys()], ["kb/#"]);
    });
  });

  it("MQTT-3.1.3-3 (5.0) a CONNECT whose payload lacks the ClientID is refused (closed)", async () => {
    await withBroker(async (broker) => {
      const c = RawClient.memory(broker, 5);
      c.sendBytes(connect5Bytes({ payload: [] }));
      await closedSilently(c);
    });
  });

  it("MQTT-3.1.3-4 MQTT-1.5.4-1 (5.0) a ClientID with an encoded surrogate is malformed: closed", async () => {
    await withBroker(async (broker) => {
      const c = RawClient.memory(broker, 5);
      c.sendBytes(packetFixture("connect.v5.utf8.clientIdSurrogate").bytes);
      await closedSilently(c);
    });
  });

  it("MQTT-3.1.3-5 (5.0) every 1..23 character ClientID of 0-9a-zA-Z is accepted", async () => {
    await withBroker(async (broker) => {
      for (const id of ["0", "Z", "abcXYZ019", "ABCdef0123456789xyzQRST"]) {
        const c = RawClient.memory(broker, 5);
        const ack = await c.connect({ clientId: id });
        assert.equal(ack.reasonCode, 0, id);
        assert.equal(ack.properties?.assignedClientIdentifier, undefined);
        assert.equal(broker.getClient(id) !== undefined, true);
      }
    });
  });

  it("MQTT-3.1.3-6 (5.0) a zero-length ClientID gets a unique ClientID", async () => {
    await withBroker(async (broker) => {
      const ids = new Set<string>();
      for (let i = 0; i < 10; i++) {
        const c = RawClient.memory(broker, 5);
        const ack = await c.connect({ clientId: "" });
        assert.equal(ack.reasonCode, 0);
        ids.add(ack.properties?.assignedClientIdentifier);
      }
      assert.equal(ids.size, 10);
      assert.equal([...broker.connectedClients()].length, 10);
    });
  });

  it("MQTT-3.1.3-7 (5.0) the assigned ClientID is returned in CONNACK and used as if the client had sent it", async () => {
    await withBroker(async (broker) => {
      const c = RawClient.memory(broker, 5);
      // Clean Start 0, Session Expiry Interval 60, empty ClientID (mqtt-packet refuses to write this one).
      c.sendBytes(connect5Bytes({ flags: 0x00, properties: props([0x11, ...u32(60)]), payload: str("") }));
      const ack = await c.expect("connack");
      assert.equal(ack.reasonCode, 0);
      const id: string = ack.properties?.assignedClientIdentifier;
      assert.ok(typeof id === "string" && id.length > 0);
      assert.equal(broker.getClient(id) !== undefined, true);
      await subscribe5(c, [["as/#", 1]]);
      await drop(broker, c, id);
      const again = RawClient.memory(broker, 5);
      const ack2 = await again.connect({ clientId: id, clean: false });
      assert.equal(ack2.sessionPresent, true);
      assert.equal(broker.getSession(id)?.subscriptions.has("as/#"), true);
    });
  });

  it("MQTT-3.1.3-8 (5.0) a refused ClientID gets CONNACK 0x85, then close", async () => {
    await withBroker(async (broker) => {
      const c = RawClient.memory(broker, 5);
      c.send({ ...CONNECT5, clientId: "longer-than-eight" });
      await refusedWith(c, 0x85);
    }, { limits: { maxClientIdLength: 8 } });
  });

  it("MQTT-3.1.3-12 (5.0) a User Name that is not valid UTF-8 is refused (closed)", async () => {
    await withBroker(async (broker) => {
      const c = RawClient.memory(broker, 5);
      c.sendBytes(connect5Bytes({ flags: 0x82, payload: [...str("u12"), ...str([0x75, 0xed, 0xa0, 0x80])] }));
      await closedSilently(c);
    });
  });

  for (
    const name of [
      "connect.v5.malformed.propertyNotAllowed",
      "connect.v5.malformed.unknownProperty",
      "connect.v5.malformed.propertyLengthOverrun",
      "connect.v5.protocolError.duplicateProperty",
      "connect.v5.protocolError.receiveMaximumZero",
    ]
  ) {
    it(`MQTT-3.1.4-1 (5.0) a non-conformant CONNECT (${name}) is closed without CONNACK (broker's choice)`, async () => {
      await withBroker(async (broker) => {
        const c = RawClient.memory(broker, 5);
        c.sendBytes(packetFixture(name).bytes);
        await closedSilently(c);
      });
    });
  }

  it("MQTT-3.1.4-2 (5.0) failed authentication: CONNACK 0x86 (credentials) or 0x87 (none), then close", async () => {
    await withBroker(async (broker) => {
      const c = RawClient.memory(broker, 5);
      c.send({ ...CONNECT5, clientId: "d1", username: "u", password: Buffer.from("p") });
      await refusedWith(c, 0x86);
      const d = RawClient.memory(broker, 5);
      d.send({ ...CONNECT5, clientId: "d2" });
      await refusedWith(d, 0x87);
    }, { auth: new DenyHook() });
  });

  it("MQTT-3.1.4-3 (5.0) a second connection with the same ClientID: DISCONNECT 0x8E to the first, which is closed", async () => {
    await withBroker(async (broker) => {
      const a = await client5(broker, { clientId: "dup5" });
      const b = RawClient.memory(broker, 5);
      assert.equal((await b.connect({ clientId: "dup5" })).reasonCode, 0);
      await expectDisconnect(a, 0x8e);
      b.send({ cmd: "pingreq" });
      await b.expect("pingresp");
      assert.equal(broker.getClient("dup5") !== undefined, true);
    });
  });

  it("MQTT-3.1.4-3 (5.0) over TCP: the taken-over connection gets DISCONNECT 0x8E and its socket is closed", async () => {
    await withTcpBroker(async (broker, open) => {
      const a = await open();
      assert.equal((await a.connect({ clientId: "dup-tcp" })).reasonCode, 0);
      const b = await open();
      assert.equal((await b.connect({ clientId: "dup-tcp" })).reasonCode, 0);
      await expectDisconnect(a, 0x8e);
      b.send({ cmd: "pingreq" });
      await b.expect("pingresp");
      assert.equal(broker.getClient("dup-tcp") !== undefined, true);
    });
  });

  it("MQTT-3.1.4-4 (5.0) on takeover Clean Start 0 keeps the session and Clean Start 1 discards it", async () => {
    await withBroker(async (broker) => {
      const a = await subscriber5(broker, "to/#", 1, {
        clientId: "to",
        properties: { sessionExpiryInterval: 60 },
      });
      const b = RawClient.memory(broker, 5);
      const ack = await b.connect({
        clientId: "to",
        clean: false,
        properties: { sessionExpiryInterval: 60 },
      });
      assert.equal(ack.sessionPresent, true);
      assert.equal(broker.getSession("to")?.subscriptions.has("to/#"), true);
      await a.waitClosed();
      const c = RawClient.memory(broker, 5);
      const ack2 = await c.connect({
        clientId: "to",
        clean: true,
        properties: { sessionExpiryInterval: 60 },
      });
      assert.equal(ack2.sessionPresent, false);
      assert.equal(broker.getSession("to")?.subscriptions.size, 0);
    });
  });

  it("MQTT-3.1.4-5 (5.0) an accepted CONNECT is answered with CONNACK 0x00", async () => {
    await withBroker(async (broker) => {
      const c = RawClient.memory(broker, 5);
      c.send({ ...CONNECT5, clientId: "ok5" });
      const first = await c.next();
      assert.equal(first.cmd, "connack");
      assert.equal(first.reasonCode, 0);
    });
  });

  it("MQTT-3.1.4-6 (5.0) after a refused CONNECT nothing the client sent after it is acted on", async () => {
    await withBroker(async (broker) => {
      const watcher = await subscriber5(broker, "rf/#", 0);
      const c = RawClient.memory(broker, 5);
      c.send({ ...CONNECT5, clientId: "refused", username: "deny", password: Buffer.from("x") });
      c.send({
        cmd: "subscribe",
        messageId: 1,
        subscriptions: [{ topic: "rf/#", qos: 0, nl: false, rap: false, rh: 0 }],
      });
      c.publish("rf/t", "should not go", { qos: 0 });
      c.send({ cmd: "pingreq" });
      await refusedWith(c, 0x86);
      assert.deepEqual(c.packets, []);
      assert.deepEqual(await watcher.collect(40), []);
      assert.equal(broker.getSession("refused"), undefined);
    }, { auth: denyByName });
  });
});
