/**
 * Conformance: handling errors (MQTT 3.1.1 section 4.8). Each protocol violation closes the connection it
 * arrived on, and only that one: two bystanders keep exchanging messages.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Hook } from "../../src/hooks/hook.ts";
import { MqttError } from "../../src/errors.ts";
import { RawClient } from "../_helpers/raw_client.ts";
import { testBroker } from "../_helpers/broker.ts";
import { bystanders, connected, publishFrame } from "./_wire.ts";
import { VIOLATIONS_AFTER_CONNECT, VIOLATIONS_BEFORE_CONNECT } from "./_violations.ts";

describe("conformance 4.8 handling errors", () => {
  for (const [what, bytes] of VIOLATIONS_AFTER_CONNECT) {
    it(`MQTT-4.8.0-1 ${what} closes that connection only`, async () => {
      const broker = testBroker();
      const others = await bystanders(broker);
      const c = await connected(broker);
      c.sendBytes(bytes);
      assert.equal(await c.waitClosed(), true, "the offending connection is closed");
      assert.deepEqual(c.packets, [], "nothing is answered to a violation");
      assert.equal(broker.stats.protocolErrors, 1, "counted once");
      await others.check(what);
      await broker.close();
    });
  }

  for (const [what, bytes] of VIOLATIONS_BEFORE_CONNECT) {
    it(`MQTT-4.8.0-1 ${what} closes that connection only, without CONNACK`, async () => {
      const broker = testBroker();
      const others = await bystanders(broker);
      const c = RawClient.memory(broker);
      c.sendBytes(bytes);
      assert.equal(await c.waitClosed(), true);
      assert.deepEqual(c.packets, []);
      assert.equal(broker.stats.protocolErrors, 1);
      await others.check(what);
      await broker.close();
    });
  }

  it("MQTT-4.8.0-1 a violation in the middle of a burst closes the connection after the packets before it", async () => {
    const broker = testBroker();
    const c = await connected(broker);
    await c.subscribe("burst/#", 0);
    c.sendBytes([
      ...publishFrame("burst/1", "1"),
      0xc0,
      0x00,
      0x20,
      0x02,
      0x00,
      0x00, // CONNACK from a client
      ...publishFrame("burst/2", "2"),
      0xc0,
      0x00,
    ]);
    assert.equal(await c.waitClosed(), true);
    const got = c.packets.map((p) => (p.cmd === "publish" ? p.topic : p.cmd));
    assert.deepEqual(got, ["burst/1", "pingresp"], "nothing after the violation is processed");
    await broker.close();
  });

  it("MQTT-4.8.0-1 the will is published when a protocol violation closes the connection", async () => {
    const broker = testBroker();
    const sub = await connected(broker);
    await sub.subscribe("will/#", 0);
    const c = await connected(broker, { will: { topic: "will/x", payload: "bad", qos: 0, retain: false } });
    c.sendBytes([0x90, 0x03, 0x00, 0x01, 0x00]);
    assert.equal(await c.waitClosed(), true);
    assert.equal((await sub.expect("publish")).topic, "will/x");
    await broker.close();
  });

  it("MQTT-4.8.0-2 a transient failure while handling a PUBLISH (a hook that throws) closes that connection", async () => {
    const failing: Hook = {
      id: "storage-down",
      onPublish(_client, message) {
        if (message.topic.startsWith("fail/")) throw new Error("Storage unavailable");
        return message;
      },
    };
    const broker = testBroker({ hooks: [failing] });
    const others = await bystanders(broker);
    const sub = await connected(broker);
    await sub.subscribe("fail/#", 0);
    const c = await connected(broker);
    c.publish("fail/x", "lost", { qos: 1, messageId: 1 });
    assert.equal(await c.waitClosed(), true);
    assert.deepEqual(c.packets, [], "no PUBACK for a message that was not taken");
    assert.deepEqual(await sub.collect(40), []);
    await others.check("after a failing hook");
    await broker.close();
  });

  it("MQTT-4.8.0-2 an asynchronous transient failure closes that connection", async () => {
    const failing: Hook = {
      id: "storage-down-async",
      async onPublish(_client, message) {
        await new Promise((r) => setTimeout(r, 5));
        if (message.topic.startsWith("fail/")) throw new Error("Storage timed out");
        return message;
      },
    };
    const broker = testBroker({ hooks: [failing] });
    const others = await bystanders(broker);
    const c = await connected(broker);
    c.publish("fail/y", "lost", { qos: 2, messageId: 4 });
    assert.equal(await c.waitClosed(), true);
    assert.deepEqual(c.packets, [], "no PUBREC");
    await others.check("after an async failing hook");
    await broker.close();
  });

  it("MQTT-4.8.0-2 a hook refusing with an MqttError is not a transient error: the connection stays open", async () => {
    const refusing: Hook = {
      id: "refuse",
      onPublish(_client, message) {
        if (message.topic === "refused") throw new MqttError(0x87, "Not today");
        return message;
      },
    };
    const broker = testBroker({ hooks: [refusing] });
    const c = await connected(broker);
    c.publish("refused", "x", { qos: 1, messageId: 5 });
    assert.equal((await c.expect("puback")).messageId, 5);
    assert.equal(c.closed, false);
    await broker.close();
  });

  it("MQTT-4.8.0-2 a packet larger than the inbound buffer limit closes that connection", async () => {
    const broker = testBroker({ limits: { maxPacketSize: 256 } });
    const others = await bystanders(broker);
    const ok = await connected(broker);
    await ok.subscribe("size/#", 0);
    const fits = publishFrame("size/fits", "x".repeat(242));
    assert.equal(fits.length, 256, "a packet of exactly the limit is accepted");
    ok.sendBytes(fits);
    assert.equal((await ok.expect("publish")).topic, "size/fits");
    const c = await connected(broker);
    c.sendBytes(publishFrame("size/big", "x".repeat(300)));
    assert.equal(await c.waitClosed(), true);
    assert.deepEqual(await ok.collect(40), []);
    assert.equal(broker.stats.protocolErrors, 1);
    await others.check("after an oversized packet");
    await broker.close();
  });
});
