/**
 * Conformance, MQTT 5.0: CONNACK (section 3.2), one test or more per normative statement. Test names carry
 * "(5.0)" after the id because 3.1.1 uses the same ids with other meanings.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { FakeClock } from "../../../src/clock.ts";
import { MqttError } from "../../../src/errors.ts";
import type { Hook } from "../../../src/hooks/hook.ts";
import { type AnyPacket, RawClient } from "../../_helpers/raw_client.ts";
import { until } from "../../_helpers/broker.ts";
import {
  client5,
  CONNECT5,
  decode5,
  denyByName,
  drop,
  expectDisconnect,
  refusedWith,
  subscribe5,
  subscriber5,
  Tap5,
  withBroker,
} from "./_v5.ts";

/** Connect Reason Codes defined by 5.0 section 3.2.2.2. */
const CONNACK_CODES = new Set([
  0x00,
  0x80,
  0x81,
  0x82,
  0x83,
  0x84,
  0x85,
  0x86,
  0x87,
  0x88,
  0x89,
  0x8a,
  0x8c,
  0x90,
  0x95,
  0x97,
  0x99,
  0x9a,
  0x9b,
  0x9c,
  0x9d,
  0x9f,
]);

describe("conformance 5.0 3.2 CONNACK", () => {
  it("MQTT-3.2.0-1 (5.0) CONNACK 0x00 goes before the queued messages of a resumed session", async () => {
    await withBroker(async (broker) => {
      const a = await subscriber5(broker, "q/#", 1, {
        clientId: "cf",
        properties: { sessionExpiryInterval: 60 },
      });
      await drop(broker, a, "cf");
      for (let i = 0; i < 3; i++) await broker.publish(`q/${i}`, "m", { qos: 1 });
      const tap = new Tap5(broker);
      tap.send({ ...CONNECT5, clientId: "cf", clean: false });
      await until(() => tap.frames.length >= 4, 1000, "CONNACK and three messages");
      assert.deepEqual(tap.frames.map((f) => f.type), [2, 3, 3, 3]);
      assert.equal(decode5(tap.frames[0]!).reasonCode, 0);
    });
  });

  it("MQTT-3.2.0-2 (5.0) one CONNACK per connection, also after several AUTH rounds", async () => {
    const twoRounds: Hook = {
      id: "two-rounds",
      onEnhancedAuth: (_c, step) =>
        step.method !== "R2" ? undefined : step.round < 2 ? { result: "continue" } : { result: "success" },
    };
    await withBroker(async (broker) => {
      const tap = new Tap5(broker);
      tap.send({ ...CONNECT5, clientId: "one", properties: { authenticationMethod: "R2" } });
      await tap.waitFor(15);
      tap.send({ cmd: "auth", reasonCode: 0x18, properties: { authenticationMethod: "R2" } });
      await tap.waitFor(15);
      tap.send({ cmd: "auth", reasonCode: 0x18, properties: { authenticationMethod: "R2" } });
      assert.equal(decode5(await tap.waitFor(2)).reasonCode, 0);
      tap.send({ ...CONNECT5, clientId: "one" });
      await until(() => tap.closed, 1000, "close after a second CONNECT");
      assert.equal(tap.frames.filter((f) => f.type === 2).length, 0, "no second CONNACK");
    }, { hooks: [twoRounds] });
  });

  it("MQTT-3.2.2-1 (5.0) Connect Acknowledge Flags bits 7-1 are 0", async () => {
    await withBroker(async (broker) => {
      const a = new Tap5(broker);
      const f1 = await a.connect({ clientId: "fl", clean: false, properties: { sessionExpiryInterval: 60 } });
      assert.equal(f1.body[0], 0x00);
      await drop(broker, a, "fl");
      const b = new Tap5(broker);
      const f2 = await b.connect({ clientId: "fl", clean: false });
      assert.equal(f2.body[0], 0x01);
      const d = new Tap5(broker);
      d.send({ ...CONNECT5, clientId: "fl-no", username: "deny" });
      const f3 = await d.waitFor(2);
      assert.equal(f3.body[0], 0x00);
    }, { auth: denyByName });
  });

  it("MQTT-3.2.2-2 (5.0) Clean Start 1 accepted: Session Present 0, reason code 0x00, even with a stored session", async () => {
    await withBroker(async (broker) => {
      const a = await client5(broker, {
        clientId: "sp2",
        clean: false,
        properties: { sessionExpiryInterval: 60 },
      });
      await drop(broker, a, "sp2");
      assert.ok(broker.getSession("sp2"));
      const b = RawClient.memory(broker, 5);
      const ack = await b.connect({ clientId: "sp2", clean: true });
      assert.deepEqual([ack.sessionPresent, ack.reasonCode], [false, 0]);
    });
  });

  it("MQTT-3.2.2-3 (5.0) Clean Start 0 accepted: Session Present 1 with a stored session, 0 without", async () => {
    await withBroker(async (broker) => {
      const a = RawClient.memory(broker, 5);
      const first = await a.connect({
        clientId: "sp3",
        clean: false,
        properties: { sessionExpiryInterval: 60 },
      });
      assert.deepEqual([first.sessionPresent, first.reasonCode], [false, 0]);
      await drop(broker, a, "sp3");
      const b = RawClient.memory(broker, 5);
      const second = await b.connect({ clientId: "sp3", clean: false });
      assert.deepEqual([second.sessionPresent, second.reasonCode], [true, 0]);
    });
  });

  it("MQTT-3.2.2-6 (5.0) a refusing CONNACK carries Session Present 0 even when a session is stored", async () => {
    await withBroker(async (broker) => {
      const a = await client5(broker, {
        clientId: "sp6",
        clean: false,
        properties: { sessionExpiryInterval: 60 },
      });
      await drop(broker, a, "sp6");
      const tap = new Tap5(broker);
      tap.send({ ...CONNECT5, clientId: "sp6", clean: false, username: "deny" });
      const f = await tap.waitFor(2);
      assert.equal(f.body[0], 0x00);
      assert.ok(f.body[1]! >= 0x80);
    }, { auth: denyByName });
  });

  it("MQTT-3.2.2-7 (5.0) after a CONNACK of 0x80 or more the connection is closed and later packets get nothing", async () => {
    await withBroker(async (broker) => {
      const c = RawClient.memory(broker, 5);
      c.send({ ...CONNECT5, clientId: "c7", username: "deny" });
      c.send({ cmd: "pingreq" });
      await refusedWith(c, 0x86);
      assert.deepEqual(c.packets, []);
    }, { auth: denyByName });
  });

  it("MQTT-3.2.2-8 (5.0) refusals use only defined Connect Reason Codes", async () => {
    const codes: number[] = [];
    const quirky: Hook = {
      id: "quirky",
      onConnect(client) {
        if (client.id === "hook-undefined") {
          throw new MqttError(0x8e, "session taken over is no CONNACK code");
        }
        if (client.id === "hook-plain") throw new Error("plain error");
      },
    };
    await withBroker(async (broker) => {
      const attempts: AnyPacket[] = [
        { clientId: "deny-me", username: "deny" },
        { clientId: "too-long-client-id-for-limit" },
        { clientId: "wq", will: { topic: "w", payload: Buffer.from("x"), qos: 2, retain: false } },
        { clientId: "wr", will: { topic: "w", payload: Buffer.from("x"), qos: 0, retain: true } },
        {
          clientId: "wp",
          will: {
            topic: "w",
            payload: Buffer.from([0xff]),
            qos: 0,
            retain: false,
            properties: { payloadFormatIndicator: true },
          },
        },
        { clientId: "hook-plain" },
        { clientId: "hook-undefined" },
      ];
      for (const options of attempts) {
        const c = RawClient.memory(broker, 5);
        c.send({ ...CONNECT5, ...options });
        const ack = await c.expect("connack");
        codes.push(ack.reasonCode);
        assert.equal(await c.waitClosed(), true);
      }
      for (const [i, code] of codes.entries()) {
        assert.ok(
          CONNACK_CODES.has(code),
          `${attempts[i].clientId}: 0x${code.toString(16)} is a Connect Reason Code`,
        );
      }
    }, {
      auth: denyByName,
      hooks: [quirky],
      limits: { maxClientIdLength: 20 },
      capabilities: { maximumQoS: 1, retainAvailable: false },
    });
  });

  it("MQTT-3.2.2-9 (5.0) without QoS 2 (or 1) support CONNACK announces Maximum QoS; with full support it is absent", async () => {
    for (const [maximumQoS, expected] of [[0, 0], [1, 1], [2, undefined]] as const) {
      await withBroker(async (broker) => {
        const c = RawClient.memory(broker, 5);
        const ack = await c.connect();
        assert.equal(ack.properties?.maximumQoS, expected, `maximumQoS ${maximumQoS}`);
      }, { capabilities: { maximumQoS } });
    }
  });

  it("MQTT-3.2.2-10 (5.0) with Maximum QoS 0 a SUBSCRIBE asking for QoS 1 or 2 is still accepted", async () => {
    await withBroker(async (broker) => {
      const c = await client5(broker);
      const ack = await subscribe5(c, [["m/1", 1], ["m/2", 2], ["m/0", 0]]);
      assert.equal(ack.granted.length, 3);
      assert.ok(ack.granted.every((g: number) => g < 0x80), `granted ${ack.granted}`);
      await broker.publish("m/2", "x", { qos: 0 });
      assert.equal((await c.expect("publish")).topic, "m/2");
    }, { capabilities: { maximumQoS: 0 } });
  });

  it("MQTT-3.2.2-11 (5.0) a PUBLISH above the announced Maximum QoS: DISCONNECT 0x9B", async () => {
    await withBroker(async (broker) => {
      const watcher = await subscriber5(broker, "mq/#", 0);
      const c = await client5(broker);
      c.publish("mq/t", "x", { qos: 2, messageId: 1 });
      await expectDisconnect(c, 0x9b);
      assert.deepEqual(await watcher.collect(30), []);
    }, { capabilities: { maximumQoS: 1 } });
  });

  it("MQTT-3.2.2-12 (5.0) a Will QoS above what the server supports: CONNACK 0x9B, then close", async () => {
    await withBroker(async (broker) => {
      const c = RawClient.memory(broker, 5);
      c.send({
        ...CONNECT5,
        clientId: "wq2",
        will: { topic: "w", payload: Buffer.from("x"), qos: 1, retain: false },
      });
      await refusedWith(c, 0x9b);
    }, { capabilities: { maximumQoS: 0 } });
  });

  it("MQTT-3.2.2-13 (5.0) Will Retain 1 without retain support: CONNACK 0x9A, then close", async () => {
    await withBroker(async (broker) => {
      const c = RawClient.memory(broker, 5);
      c.send({
        ...CONNECT5,
        clientId: "wr2",
        will: { topic: "w", payload: Buffer.from("x"), qos: 0, retain: true },
      });
      await refusedWith(c, 0x9a);
      const d = RawClient.memory(broker, 5);
      const ack = await d.connect();
      assert.equal(ack.properties?.retainAvailable, false);
    }, { capabilities: { retainAvailable: false } });
  });

  it("MQTT-3.2.2-14 (5.0) a RETAIN=1 PUBLISH when Retain Available is 0: DISCONNECT 0x9A", async () => {
    await withBroker(async (broker) => {
      const c = await client5(broker);
      c.publish("rt/t", "x", { qos: 0, retain: true });
      await expectDisconnect(c, 0x9a);
      assert.equal(broker.getRetained("rt/t"), undefined);
    }, { capabilities: { retainAvailable: false } });
  });

  it("MQTT-3.2.2-15 (5.0) a packet above the announced Maximum Packet Size: DISCONNECT 0x95", async () => {
    await withBroker(async (broker) => {
      const c = RawClient.memory(broker, 5);
      const ack = await c.connect();
      assert.equal(ack.properties?.maximumPacketSize, 128);
      c.publish("big/t", "x".repeat(200), { qos: 0 });
      await expectDisconnect(c, 0x95);
    }, { limits: { maxPacketSize: 128 } });
  });

  it("MQTT-3.2.2-16 (5.0) an Assigned Client Identifier is used by no other current session", async () => {
    await withBroker(async (broker) => {
      for (let i = 0; i < 5; i++) {
        const s = await client5(broker, {
          clientId: `stored${i}`,
          properties: { sessionExpiryInterval: 60 },
        });
        await drop(broker, s, `stored${i}`);
      }
      const before = new Set([...broker.sessions()].map((s) => s.clientId));
      const assigned = new Set<string>();
      for (let i = 0; i < 20; i++) {
        const c = RawClient.memory(broker, 5);
        const ack = await c.connect({ clientId: "" });
        const id = ack.properties?.assignedClientIdentifier;
        assert.ok(typeof id === "string" && id.length > 0);
        assert.equal(before.has(id), false);
        assert.equal(assigned.has(id), false);
        assigned.add(id);
      }
    });
  });

  it("MQTT-3.2.2-17 (5.0) a Topic Alias above the server's Topic Alias Maximum: DISCONNECT 0x94", async () => {
    await withBroker(async (broker) => {
      const c = RawClient.memory(broker, 5);
      assert.equal((await c.connect()).properties?.topicAliasMaximum, 3);
      c.publish("al/t", "x", { qos: 0, properties: { topicAlias: 4 } });
      await expectDisconnect(c, 0x94);
    }, { limits: { topicAliasMaximum: 3 } });
  });

  it("MQTT-3.2.2-18 (5.0) any Topic Alias when the server announced none: DISCONNECT 0x94", async () => {
    await withBroker(async (broker) => {
      const c = RawClient.memory(broker, 5);
      const ack = await c.connect();
      assert.equal(ack.properties?.topicAliasMaximum ?? 0, 0);
      c.publish("al/t", "x", { qos: 0, properties: { topicAlias: 1 } });
      await expectDisconnect(c, 0x94);
    }, { limits: { topicAliasMaximum: 0 } });
  });

  it("MQTT-3.2.2-19 MQTT-3.2.2-20 (5.0) a CONNACK leaves out Reason String and User Properties that would exceed the client's Maximum Packet Size", async () => {
    await withBroker(async (broker) => {
      const tap = new Tap5(broker);
      tap.send({ ...CONNECT5, clientId: "small", username: "deny", properties: { maximumPacketSize: 16 } });
      const f = await tap.waitFor(2);
      const ack = decode5(f);
      assert.ok(ack.reasonCode >= 0x80);
      assert.ok(f.bytes.length <= 16, `CONNACK of ${f.bytes.length} bytes within 16`);
      assert.equal(ack.properties?.reasonString, undefined);
      assert.equal(ack.properties?.userProperties, undefined);
    }, { auth: denyByName });
  });

  it("MQTT-3.2.2-22 (5.0) without Server Keep Alive in CONNACK the client's Keep Alive is used", async () => {
    const clock = new FakeClock();
    await withBroker(async (broker) => {
      const c = RawClient.memory(broker, 5);
      const ack = await c.connect({ keepalive: 20 });
      assert.equal(ack.properties?.serverKeepAlive, undefined);
      clock.advance(29_900);
      assert.deepEqual(await c.collect(20), []);
      assert.equal(c.closed, false);
      clock.advance(200);
      await expectDisconnect(c, 0x8d);
    }, { clock });
  });
});
