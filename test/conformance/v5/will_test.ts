/**
 * Conformance, MQTT 5.0: the Will Message of CONNECT (sections 3.1.2.5 to 3.1.2.7 and 3.1.3.2 to 3.1.3.4): flags,
 * storage, Will Delay Interval, publication and its properties. Timing runs on a FakeClock. Test names carry
 * "(5.0)" after the id.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { FakeClock } from "../../../src/clock.ts";
import { RawClient } from "../../_helpers/raw_client.ts";
import {
  client5,
  closedSilently,
  connect5Bytes,
  drop,
  propertyValues,
  props,
  publishParts,
  str,
  subscribe5,
  subscriber5,
  tapSubscriber,
  userProp,
  withBroker,
} from "./_v5.ts";

describe("conformance 5.0 3.1 CONNECT: Will Message", () => {
  it("MQTT-3.1.2-7 (5.0) the will is stored with the session and published, with its properties, when the connection drops", async () => {
    await withBroker(async (broker) => {
      const sub = await subscriber5(broker, "will/#", 1);
      const c = await client5(broker, {
        clientId: "w7",
        will: {
          topic: "will/w7",
          payload: Buffer.from("gone"),
          qos: 1,
          retain: false,
          properties: {
            contentType: "text/plain",
            responseTopic: "r/w7",
            correlationData: Buffer.from([1, 2]),
          },
        },
      });
      assert.deepEqual(await sub.collect(30), [], "nothing while the connection is up");
      c.destroy();
      const m = await sub.expect("publish");
      assert.equal(m.topic, "will/w7");
      assert.equal(m.payload.toString(), "gone");
      assert.equal(m.qos, 1);
      assert.equal(m.properties?.contentType, "text/plain");
      assert.equal(m.properties?.responseTopic, "r/w7");
      assert.deepEqual([...m.properties?.correlationData], [1, 2]);
    });
  });

  it("MQTT-3.1.2-8 (5.0) the will waits for the Will Delay Interval after the connection closes", async () => {
    const clock = new FakeClock();
    await withBroker(async (broker) => {
      const sub = await subscriber5(broker, "wd/#", 0);
      const c = await client5(broker, {
        clientId: "wd",
        properties: { sessionExpiryInterval: 100 },
        will: {
          topic: "wd/t",
          payload: Buffer.from("late"),
          qos: 0,
          retain: false,
          properties: { willDelayInterval: 5 },
        },
      });
      await drop(broker, c, "wd");
      clock.advance(4_900);
      assert.deepEqual(await sub.collect(30), [], "not before the delay");
      clock.advance(200);
      const m = await sub.expect("publish");
      assert.equal(m.payload.toString(), "late");
      assert.equal(
        m.properties?.willDelayInterval,
        undefined,
        "Will Delay Interval is not a PUBLISH property",
      );
    }, { clock });
  });

  it("MQTT-3.1.2-8 (5.0) the will goes when the session ends before the Will Delay Interval", async () => {
    const clock = new FakeClock();
    await withBroker(async (broker) => {
      const sub = await subscriber5(broker, "we/#", 0);
      const c = await client5(broker, {
        clientId: "we",
        properties: { sessionExpiryInterval: 2 },
        will: {
          topic: "we/t",
          payload: Buffer.from("x"),
          qos: 0,
          retain: false,
          properties: { willDelayInterval: 60 },
        },
      });
      await drop(broker, c, "we");
      clock.advance(1_900);
      assert.deepEqual(await sub.collect(30), []);
      clock.advance(200);
      assert.equal((await sub.expect("publish")).topic, "we/t");
      assert.equal(broker.getSession("we"), undefined, "the session ended");
    }, { clock });
  });

  it("MQTT-3.1.2-8 (5.0) with Session Expiry 0 the session ends at the close, so a delayed will goes at once", async () => {
    const clock = new FakeClock();
    await withBroker(async (broker) => {
      const sub = await subscriber5(broker, "w0/#", 0);
      const c = await client5(broker, {
        clientId: "w0",
        will: {
          topic: "w0/t",
          payload: Buffer.from("x"),
          qos: 0,
          retain: false,
          properties: { willDelayInterval: 60 },
        },
      });
      c.destroy();
      assert.equal((await sub.expect("publish")).topic, "w0/t");
    }, { clock });
  });

  it("MQTT-3.1.2-8 (5.0) DISCONNECT 0x04 (with will message) publishes the will", async () => {
    await withBroker(async (broker) => {
      const sub = await subscriber5(broker, "w4/#", 0);
      const c = await client5(broker, {
        will: { topic: "w4/t", payload: Buffer.from("bye"), qos: 0, retain: false },
      });
      c.send({ cmd: "disconnect", reasonCode: 0x04 });
      assert.equal((await sub.expect("publish")).payload.toString(), "bye");
      assert.equal(await c.waitClosed(), true);
    });
  });

  it("MQTT-3.1.2-9 (5.0) Will Flag 1 without will properties, topic and payload is malformed: closed", async () => {
    await withBroker(async (broker) => {
      const c = RawClient.memory(broker, 5);
      c.sendBytes(connect5Bytes({ flags: 0x06, payload: str("w9") }));
      await closedSilently(c);
    });
  });

  it("MQTT-3.1.2-10 (5.0) DISCONNECT 0x00 deletes the will: it is never published, not even after the delay", async () => {
    const clock = new FakeClock();
    await withBroker(async (broker) => {
      const sub = await subscriber5(broker, "wn/#", 0);
      const c = await client5(broker, {
        clientId: "wn",
        properties: { sessionExpiryInterval: 10 },
        will: {
          topic: "wn/t",
          payload: Buffer.from("x"),
          qos: 0,
          retain: false,
          properties: { willDelayInterval: 2 },
        },
      });
      c.send({ cmd: "disconnect", reasonCode: 0 });
      await c.waitClosed();
      clock.advance(20_000);
      assert.deepEqual(await sub.collect(50), []);
    }, { clock });
  });

  it("MQTT-3.1.2-10 (5.0) a published will is removed: the session's end later does not send it again", async () => {
    const clock = new FakeClock();
    await withBroker(async (broker) => {
      const sub = await subscriber5(broker, "wo/#", 0);
      const c = await client5(broker, {
        clientId: "wo",
        properties: { sessionExpiryInterval: 10 },
        will: {
          topic: "wo/t",
          payload: Buffer.from("x"),
          qos: 0,
          retain: false,
          properties: { willDelayInterval: 1 },
        },
      });
      await drop(broker, c, "wo");
      clock.advance(1_100);
      await sub.expect("publish");
      clock.advance(20_000);
      assert.equal(broker.getSession("wo"), undefined);
      assert.deepEqual(await sub.collect(50), [], "once only");
    }, { clock });
  });

  for (
    const [id, flags, why] of [
      ["MQTT-3.1.2-11", 0x0a, "Will QoS 1 without the Will Flag"],
      ["MQTT-3.1.2-12", 0x1e, "Will QoS 3"],
      ["MQTT-3.1.2-13", 0x22, "Will Retain without the Will Flag"],
    ] as const
  ) {
    it(`${id} (5.0) ${why} is malformed: closed without CONNACK (broker's choice over 0x81)`, async () => {
      await withBroker(async (broker) => {
        const c = RawClient.memory(broker, 5);
        const will = flags & 0x04 ? [...props(), ...str("w/t"), ...str("m")] : [];
        c.sendBytes(connect5Bytes({ flags, payload: [...str("wf"), ...will] }));
        await closedSilently(c);
      });
    });
  }

  it("MQTT-3.1.2-14 (5.0) Will Retain 0: the will is published as a non-retained message", async () => {
    await withBroker(async (broker) => {
      const sub = await subscriber5(broker, "wr0/#", 0, {}, { rap: true });
      const c = await client5(broker, {
        will: { topic: "wr0/t", payload: Buffer.from("x"), qos: 0, retain: false },
      });
      c.destroy();
      const m = await sub.expect("publish");
      assert.equal(m.retain, false, "retain as published shows the flag it was published with");
      assert.equal(broker.getRetained("wr0/t"), undefined);
    });
  });

  it("MQTT-3.1.2-15 (5.0) Will Retain 1: the will is published as a retained message", async () => {
    await withBroker(async (broker) => {
      const sub = await subscriber5(broker, "wr1/#", 0, {}, { rap: true });
      const c = await client5(broker, {
        will: { topic: "wr1/t", payload: Buffer.from("kept"), qos: 0, retain: true },
      });
      c.destroy();
      assert.equal((await sub.expect("publish")).retain, true);
      const late = await client5(broker);
      await subscribe5(late, [["wr1/t", 0]]);
      const m = await late.expect("publish");
      assert.equal(m.retain, true);
      assert.equal(m.payload.toString(), "kept");
    });
  });

  it("MQTT-3.1.3-9 (5.0) a reconnect within the Will Delay Interval cancels the will", async () => {
    const clock = new FakeClock();
    await withBroker(async (broker) => {
      const sub = await subscriber5(broker, "wc/#", 0);
      const c = await client5(broker, {
        clientId: "wc",
        properties: { sessionExpiryInterval: 100 },
        will: {
          topic: "wc/t",
          payload: Buffer.from("x"),
          qos: 0,
          retain: false,
          properties: { willDelayInterval: 10 },
        },
      });
      await drop(broker, c, "wc");
      clock.advance(5_000);
      const back = RawClient.memory(broker, 5);
      await back.connect({ clientId: "wc", clean: false, properties: { sessionExpiryInterval: 100 } });
      clock.advance(30_000);
      assert.deepEqual(await sub.collect(50), []);
    }, { clock });
  });

  it("MQTT-3.1.3-9 (5.0) a takeover with Clean Start 0 within the Will Delay Interval does not send the will", async () => {
    const clock = new FakeClock();
    await withBroker(async (broker) => {
      const sub = await subscriber5(broker, "wt/#", 0);
      const c = await client5(broker, {
        clientId: "wt",
        properties: { sessionExpiryInterval: 100 },
        will: {
          topic: "wt/t",
          payload: Buffer.from("x"),
          qos: 0,
          retain: false,
          properties: { willDelayInterval: 10 },
        },
      });
      const next = RawClient.memory(broker, 5);
      await next.connect({ clientId: "wt", clean: false, properties: { sessionExpiryInterval: 100 } });
      await c.waitClosed();
      clock.advance(30_000);
      assert.deepEqual(await sub.collect(50), [], "the new connection arrived before the delay ended");
    }, { clock });
  });

  it("MQTT-3.1.3-10 (5.0) the will's User Properties keep their order, repeated names included", async () => {
    await withBroker(async (broker) => {
      const tap = await tapSubscriber(broker, "wu/#", 0);
      const c = RawClient.memory(broker, 5);
      c.sendBytes(connect5Bytes({
        flags: 0x06,
        payload: [
          ...str("wu"),
          ...props(userProp("b", "2"), userProp("a", "1"), userProp("b", "3"), userProp("c", "")),
          ...str("wu/t"),
          ...str("m"),
        ],
      }));
      assert.equal((await c.expect("connack")).reasonCode, 0);
      c.destroy();
      const p = publishParts(await tap.waitFor(3));
      assert.deepEqual(propertyValues(p.properties, 0x26), [["b", "2"], ["a", "1"], ["b", "3"], ["c", ""]]);
    });
  });

  it("MQTT-3.1.3-11 (5.0) a Will Topic that is not valid UTF-8 is refused (closed)", async () => {
    await withBroker(async (broker) => {
      const c = RawClient.memory(broker, 5);
      c.sendBytes(
        connect5Bytes({
          flags: 0x06,
          payload: [...str("w11"), ...props(), ...str([0x61, 0xc3]), ...str("m")],
        }),
      );
      await closedSilently(c);
    });
  });
});
