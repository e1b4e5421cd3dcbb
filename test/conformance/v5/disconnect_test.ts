/**
 * Conformance, MQTT 5.0: DISCONNECT (section 3.14), one test or more per normative statement, named
 * `MQTT-x.y.z-n (5.0)`.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type { Broker } from "../../../src/broker.ts";
import { FakeClock } from "../../../src/clock.ts";
import { RawClient } from "../../_helpers/raw_client.ts";
import { testBroker } from "../../_helpers/broker.ts";
import {
  expectDisconnect,
  ScriptedAuth,
  SERVER_DISCONNECT_CODES,
  sleep,
  subscribeV5,
  v5Client,
  wireSize,
} from "./_v5_kit.ts";
import { auth, authenticated, connectWithAuth, drain, watcher, WILL } from "./_v5_auth.ts";

describe("conformance 5.0 3.14 DISCONNECT", () => {
  it("MQTT-3.14.0-1 (5.0) a refused enhanced authentication is answered with CONNACK, never DISCONNECT", async () => {
    const broker = testBroker({
      hooks: [new ScriptedAuth("M", (s) => (s.round === 0 ? { result: "continue" } : { result: "fail" }))],
    });
    const c = RawClient.memory(broker, 5);
    connectWithAuth(c, "M");
    await c.expect("auth");
    auth(c, 0x18, "M", "bad");
    const packets = await drain(c);
    assert.deepEqual(packets.map((p) => p.cmd), ["connack"]);
    assert.ok(packets[0].reasonCode >= 0x80);
    assert.equal(c.closed, true);
    await broker.close();
  });

  for (
    const [why, send] of [
      ["a PUBLISH during the exchange", (c: RawClient) => c.publish("t", "x")],
      [
        "a SUBSCRIBE during the exchange",
        (c: RawClient) =>
          c.send({
            cmd: "subscribe",
            messageId: 1,
            subscriptions: [{ topic: "t", qos: 0, nl: false, rap: false, rh: 0 }],
          }),
      ],
      ["a PINGREQ during the exchange", (c: RawClient) => c.send({ cmd: "pingreq" })],
      ["an AUTH with reserved flags during the exchange", (c: RawClient) => c.sendBytes([0xf1, 0x00])],
    ] as const
  ) {
    it(`MQTT-3.14.0-1 (5.0) ${why} closes the connection without DISCONNECT (no CONNACK below 0x80 was sent)`, async () => {
      const broker = testBroker({ hooks: [new ScriptedAuth("M", () => ({ result: "continue" }))] });
      const c = RawClient.memory(broker, 5);
      connectWithAuth(c, "M");
      await c.expect("auth");
      send(c);
      const packets = await drain(c);
      assert.equal(c.closed, true, "closed");
      assert.equal(
        packets.some((p) => p.cmd === "disconnect"),
        false,
        "no DISCONNECT before a successful CONNACK",
      );
      for (const p of packets) {
        assert.equal(p.cmd, "connack", "at most a refusing CONNACK");
        assert.ok(p.reasonCode >= 0x80);
      }
      await broker.close();
    });
  }

  it("MQTT-3.14.0-1 (5.0) a CONNECT with a Protocol Error in its properties gets no DISCONNECT", async () => {
    const broker = testBroker();
    const c = RawClient.memory(broker, 5);
    // Receive Maximum 0 is a Protocol Error (3.1.2.11.3).
    const body = [0, 4, ...new TextEncoder().encode("MQTT"), 5, 0x02, 0, 0, 3, 0x21, 0, 0, 0, 1, 0x61];
    c.sendBytes([0x10, body.length, ...body]);
    const packets = await drain(c);
    assert.equal(c.closed, true);
    assert.equal(packets.some((p) => p.cmd === "disconnect"), false);
    for (const p of packets) assert.ok(p.cmd === "connack" && p.reasonCode >= 0x80, JSON.stringify(p));
    await broker.close();
  });

  for (const b0 of [0xe1, 0xe2, 0xe8, 0xef]) {
    it(`MQTT-3.14.1-1 (5.0) a DISCONNECT with flags 0x${(b0 & 0xf).toString(16)} is malformed: close, and the will is published`, async () => {
      const broker = testBroker();
      const w = await watcher(broker, "will/t");
      const c = await v5Client(broker, { will: WILL });
      c.sendBytes([b0, 0x00]);
      await expectDisconnect(c, 0x81);
      const m = await w.expect("publish");
      assert.equal(m.payload.toString(), "gone", "not a normal disconnection: the will goes out");
      await broker.close();
    });
  }

  it("MQTT-3.14.1-1 (5.0) a DISCONNECT with flags 0000 is a normal disconnection (control case)", async () => {
    const broker = testBroker();
    const w = await watcher(broker, "will/t");
    const c = await v5Client(broker, { will: WILL });
    c.sendBytes([0xe0, 0x00]);
    assert.equal(await c.waitClosed(), true);
    assert.deepEqual(c.packets, [], "the server answers a DISCONNECT with nothing");
    assert.deepEqual(await w.collect(60), []);
    await broker.close();
  });

  /**
   * Ways to make the server send DISCONNECT: [what, expected code (undefined: any defined code of 0x80 or above),
   * set-up returning the client to watch].
   */
  const scenarios: Array<
    [string, number | undefined, () => Promise<{ broker: Broker; c: RawClient; clock?: FakeClock }>]
  > = [
    ["session taken over", 0x8e, async () => {
      const broker = testBroker();
      const c = await v5Client(broker, { clientId: "dup" });
      await v5Client(broker, { clientId: "dup" });
      return { broker, c };
    }],
    ["server shutting down", 0x8b, async () => {
      const broker = testBroker();
      const c = await v5Client(broker);
      void broker.close();
      return { broker, c };
    }],
    ["keep-alive timeout", 0x8d, async () => {
      const clock = new FakeClock();
      const broker = testBroker({ clock });
      const c = await v5Client(broker, { keepalive: 1 });
      clock.advance(2000);
      return { broker, c, clock };
    }],
    ["administrative action (broker.disconnectClient)", 0x98, async () => {
      const broker = testBroker();
      const c = await v5Client(broker, { clientId: "admin" });
      assert.equal(broker.disconnectClient("admin"), true);
      return { broker, c };
    }],
    ["malformed packet", 0x81, async () => {
      const broker = testBroker();
      const c = await v5Client(broker);
      c.sendBytes([0xc1, 0x00]);
      return { broker, c };
    }],
    ["protocol error", 0x82, async () => {
      const broker = testBroker();
      const c = await v5Client(broker);
      c.sendBytes([0x82, 0x03, 0x00, 0x01, 0x00]);
      return { broker, c };
    }],
    ["topic alias above the maximum", 0x94, async () => {
      const broker = testBroker({ limits: { topicAliasMaximum: 2 } });
      const c = await v5Client(broker);
      c.publish("a/t", "x", { properties: { topicAlias: 3 } });
      return { broker, c };
    }],
    ["receive maximum exceeded", 0x93, async () => {
      const broker = testBroker({ limits: { receiveMaximum: 1 } });
      const c = await v5Client(broker);
      c.publish("q2/a", "1", { qos: 2, messageId: 1 });
      await c.expect("pubrec");
      c.publish("q2/b", "2", { qos: 2, messageId: 2 });
      return { broker, c };
    }],
    ["QoS not supported", 0x9b, async () => {
      const broker = testBroker({ capabilities: { maximumQoS: 1 } });
      const c = await v5Client(broker);
      c.publish("q/t", "x", { qos: 2, messageId: 1 });
      return { broker, c };
    }],
    ["retain not supported", 0x9a, async () => {
      const broker = testBroker({ capabilities: { retainAvailable: false } });
      const c = await v5Client(broker);
      c.publish("r/t", "x", { retain: true });
      return { broker, c };
    }],
    ["subscription identifiers not supported", 0xa1, async () => {
      const broker = testBroker({ capabilities: { subscriptionIdentifiersAvailable: false } });
      const c = await v5Client(broker);
      c.send({
        cmd: "subscribe",
        messageId: 1,
        subscriptions: [{ topic: "t", qos: 0, nl: false, rap: false, rh: 0 }],
        properties: { subscriptionIdentifier: 4 },
      });
      return { broker, c };
    }],
    ["packet too large", 0x95, async () => {
      const broker = testBroker({ limits: { maxPacketSize: 200 } });
      const c = await v5Client(broker);
      c.publish("big", "x".repeat(400));
      return { broker, c };
    }],
    ["re-authentication refused by the hook", 0x87, async () => {
      const broker = testBroker({
        hooks: [
          new ScriptedAuth("R", (s) => (s.reauthenticate ? { result: "fail" } : { result: "success" })),
        ],
      });
      const { c } = await authenticated(broker, "R", 0);
      auth(c, 0x19, "R");
      return { broker, c };
    }],
    ["re-authentication refused by the hook with a CONNACK-only code (0x86)", undefined, async () => {
      const broker = testBroker({
        hooks: [
          new ScriptedAuth(
            "B",
            (s) => (s.reauthenticate ? { result: "fail", reasonCode: 0x86 } : { result: "success" }),
          ),
        ],
      });
      const { c } = await authenticated(broker, "B", 0);
      auth(c, 0x19, "B");
      return { broker, c };
    }],
    ["re-authentication whose method no hook takes up any more", undefined, async () => {
      const broker = testBroker({
        hooks: [new ScriptedAuth("U", (s) => (s.reauthenticate ? undefined : { result: "success" }))],
      });
      const { c } = await authenticated(broker, "U", 0);
      auth(c, 0x19, "U");
      return { broker, c };
    }],
  ];

  for (const [what, code, setup] of scenarios) {
    const expected = code === undefined
      ? "a defined failure code"
      : `a defined code (0x${code.toString(16)})`;
    it(`MQTT-3.14.2-1 (5.0) MQTT-3.14.2-2 (5.0) MQTT-3.14.4-2 (5.0) ${what}: ${expected}, no Session Expiry Interval, then close`, async () => {
      const { broker, c } = await setup();
      const p = await c.expect("disconnect");
      assert.ok(
        SERVER_DISCONNECT_CODES.has(p.reasonCode),
        `0x${Number(p.reasonCode).toString(16)} is not a DISCONNECT Reason Code`,
      );
      if (code === undefined) assert.ok(p.reasonCode >= 0x80);
      else assert.equal(p.reasonCode, code);
      assert.equal(
        p.properties?.sessionExpiryInterval,
        undefined,
        "a server never sends a Session Expiry Interval",
      );
      assert.equal(await c.waitClosed(), true, "closed after DISCONNECT");
      assert.deepEqual(c.packets, [], "nothing after DISCONNECT");
      await broker.close();
    });
  }

  it("MQTT-3.14.2-2 (5.0) a session with a long expiry still gets a DISCONNECT without Session Expiry Interval", async () => {
    const broker = testBroker();
    const c = await v5Client(broker, {
      clientId: "sei",
      clean: false,
      properties: { sessionExpiryInterval: 600 },
    });
    await v5Client(broker, { clientId: "sei", clean: false, properties: { sessionExpiryInterval: 600 } });
    const p = await c.expect("disconnect");
    assert.equal(p.reasonCode, 0x8e);
    assert.equal(p.properties?.sessionExpiryInterval, undefined);
    await broker.close();
  });

  it("MQTT-3.14.2-3 (5.0) MQTT-3.14.2-4 (5.0) a DISCONNECT whose Reason String would exceed the client's Maximum Packet Size is sent without it", async () => {
    const reason = "re-authentication refused because " + "the credentials expired ".repeat(8);
    const broker = testBroker({
      hooks: [
        new ScriptedAuth("L", (s) => (s.reauthenticate ? { result: "fail", reason } : { result: "success" })),
      ],
    });
    const { c } = await authenticated(broker, "L", 0, { properties: { maximumPacketSize: 64 } });
    auth(c, 0x19, "L");
    const p = await c.expect("disconnect");
    assert.equal(p.reasonCode, 0x87);
    assert.ok(
      wireSize(p) <= 64,
      `DISCONNECT of ${wireSize(p)} bytes exceeds the client's Maximum Packet Size of 64`,
    );
    assert.equal(p.properties?.userProperties, undefined);
    assert.equal(await c.waitClosed(), true);
    await broker.close();
  });

  it("MQTT-3.14.2-3 (5.0) a Reason String that fits may be sent (control case)", async () => {
    const broker = testBroker({
      hooks: [
        new ScriptedAuth(
          "S",
          (s) => (s.reauthenticate ? { result: "fail", reason: "expired" } : { result: "success" }),
        ),
      ],
    });
    const { c } = await authenticated(broker, "S", 0, { properties: { maximumPacketSize: 1000 } });
    auth(c, 0x19, "S");
    const p = await c.expect("disconnect");
    assert.equal(p.reasonCode, 0x87);
    assert.ok(wireSize(p) <= 1000);
    await broker.close();
  });

  it("MQTT-3.14.4-1 (5.0) nothing follows a DISCONNECT, not even answers to packets that came in the same write", async () => {
    const broker = testBroker({ limits: { topicAliasMaximum: 2 } });
    const c = await v5Client(broker);
    await subscribeV5(c, [["after/#", { qos: 0 }]]);
    const p = await v5Client(broker);
    // An alias above the maximum (DISCONNECT 0x94), then a PINGREQ and a PUBLISH the client would receive.
    const bad = rawBytes.publishWithAlias("after/x", 9);
    c.sendBytes([...bad, 0xc0, 0x00]);
    const d = await c.expect("disconnect");
    assert.equal(d.reasonCode, 0x94);
    p.publish("after/y", "late");
    await sleep(30);
    assert.equal(c.closed, true);
    assert.deepEqual(c.packets, [], "no PINGRESP or PUBLISH after DISCONNECT");
    await broker.close();
  });

  it("MQTT-3.14.4-1 (5.0) MQTT-3.14.4-2 (5.0) a taken-over connection gets DISCONNECT 0x8E last and is closed while traffic continues", async () => {
    const broker = testBroker();
    const c = await v5Client(broker, {
      clientId: "taken",
      clean: false,
      properties: { sessionExpiryInterval: 60 },
    });
    await subscribeV5(c, [["tk/#", { qos: 1 }]]);
    const p = await v5Client(broker);
    const n = await v5Client(broker, {
      clientId: "taken",
      clean: false,
      properties: { sessionExpiryInterval: 60 },
    });
    for (let i = 0; i < 5; i++) p.publish("tk/x", `m${i}`, { qos: 1, messageId: i + 1 });
    const d = await c.expect("disconnect");
    assert.equal(d.reasonCode, 0x8e);
    assert.equal(await c.waitClosed(), true);
    await sleep(20);
    assert.deepEqual(c.packets, [], "nothing after DISCONNECT on the old connection");
    for (let i = 0; i < 5; i++) {
      const m = await n.expect("publish");
      assert.equal(m.payload.toString(), `m${i}`, "the new connection gets them");
      n.send({ cmd: "puback", messageId: m.messageId });
    }
    await broker.close();
  });

  for (
    const [how, body] of [["Reason Code 0x00", [0xe0, 0x01, 0x00]], ["no Reason Code (Remaining Length 0)", [
      0xe0,
      0x00,
    ]]] as const
  ) {
    it(`MQTT-3.14.4-3 (5.0) DISCONNECT with ${how} discards the will`, async () => {
      const broker = testBroker();
      const w = await watcher(broker, "will/t");
      const c = await v5Client(broker, { will: WILL });
      c.sendBytes([...body]);
      assert.equal(await c.waitClosed(), true);
      assert.deepEqual(await w.collect(80), [], "no will");
      await broker.close();
    });
  }

  it("MQTT-3.14.4-3 (5.0) DISCONNECT 0x00 discards a will with a Will Delay Interval too, also after the delay", async () => {
    const clock = new FakeClock();
    const broker = testBroker({ clock });
    const w = await watcher(broker, "will/t");
    const c = await v5Client(broker, {
      clientId: "delayed",
      clean: false,
      properties: { sessionExpiryInterval: 60 },
      will: { ...WILL, properties: { willDelayInterval: 5 } },
    });
    c.send({ cmd: "disconnect", reasonCode: 0 });
    assert.equal(await c.waitClosed(), true);
    clock.advance(10_000);
    assert.deepEqual(await w.collect(60), []);
    await broker.close();
  });

  it("MQTT-3.14.4-3 (5.0) control: DISCONNECT 0x04 and a dropped connection both publish the will", async () => {
    const broker = testBroker();
    const w = await watcher(broker, "will/t");
    const a = await v5Client(broker, { will: { ...WILL, payload: Buffer.from("with will") } });
    a.send({ cmd: "disconnect", reasonCode: 0x04 });
    assert.equal((await w.expect("publish")).payload.toString(), "with will");
    const b = await v5Client(broker, { will: { ...WILL, payload: Buffer.from("dropped") } });
    b.destroy();
    assert.equal((await w.expect("publish")).payload.toString(), "dropped");
    await broker.close();
  });
});

/** Raw PUBLISH bytes mqtt-packet would refuse to build. */
const rawBytes = {
  /** A QoS 0 v5 PUBLISH with a Topic Alias property. */
  publishWithAlias(topic: string, alias: number): number[] {
    const t = [...new TextEncoder().encode(topic)];
    const props = [0x23, alias >> 8, alias & 0xff];
    const body = [t.length >> 8, t.length & 0xff, ...t, props.length, ...props, 0x78];
    return [0x30, body.length, ...body];
  },
};
