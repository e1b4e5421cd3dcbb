/**
 * The embedding API: what a service that imports the broker from mod.ts can do with it.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { AllowHook, Broker, connectMemory, type Hook, type Message } from "../../mod.ts";
import { RawClient } from "../_helpers/raw_client.ts";
import { testBroker, until } from "../_helpers/broker.ts";

describe("embedding API", () => {
  it("broker.publish() is delivered like a client's message, retained when asked", async () => {
    const broker = testBroker();
    const sub = RawClient.memory(broker);
    await sub.connect();
    await sub.subscribe("svc/#", 1);
    await broker.publish("svc/state", "up", { qos: 1, retain: true });
    const m = await sub.expect("publish");
    assert.equal(m.topic, "svc/state");
    assert.equal(m.payload.toString(), "up");
    assert.equal(m.qos, 1);
    assert.equal(m.retain, false, "live delivery clears retain [MQTT-3.3.1-9]");
    assert.deepEqual(broker.retainedMessages("svc/#").map((r) => r.topic), ["svc/state"]);
    assert.deepEqual(broker.stats.messagesSentByQos, [0, 1, 0]);
    await broker.close();
  });

  it("broker.publish() refuses a bad topic or QoS with a clear error", async () => {
    const broker = testBroker();
    await assert.rejects(broker.publish("a/+", "x"), /Cannot publish: .*wildcard/);
    await assert.rejects(broker.publish("a", "x", { qos: 3 as 0 }), /Cannot publish with QoS 3/);
    await broker.close();
  });

  it("onPublish hooks can modify or drop messages from clients and from the API", async () => {
    const seen: string[] = [];
    const rewrite: Hook = {
      id: "rewrite",
      onPublish(_client, message: Message) {
        seen.push(message.topic);
        if (message.topic === "drop/me") return null;
        return { ...message, payload: new TextEncoder().encode("changed") };
      },
    };
    const broker = testBroker({ hooks: [rewrite] });
    const sub = RawClient.memory(broker);
    await sub.connect();
    await sub.subscribe("#", 0);
    await broker.publish("drop/me", "x");
    await broker.publish("keep", "original");
    const m = await sub.expect("publish");
    assert.equal(m.topic, "keep");
    assert.equal(m.payload.toString(), "changed");
    assert.deepEqual(seen, ["drop/me", "keep"]);
    await broker.close();
  });

  it("lists sessions and subscriptions, deletes retained messages and disconnects clients", async () => {
    const broker = testBroker();
    const sub = RawClient.memory(broker);
    await sub.connect({
      clientId: "watcher",
      will: { topic: "wills/watcher", payload: "gone", qos: 0, retain: true },
    });
    await sub.subscribe([["a/#", 1], ["b", 0], ["$share/g/c", 0]]);
    assert.equal(broker.subscriptionCount, 3, "shared subscriptions count too");
    assert.deepEqual(
      [...broker.subscriptions()].map((s) => [s.clientId, s.filter, s.qos]).sort(),
      [["watcher", "$share/g/c", 0], ["watcher", "a/#", 1], ["watcher", "b", 0]],
    );
    assert.deepEqual([...broker.sessions()].map((s) => s.clientId), ["watcher"]);
    await broker.publish("r/1", "x", { retain: true });
    assert.equal(broker.deleteRetained("r/1"), true);
    assert.equal(broker.deleteRetained("r/1"), false);
    assert.equal(broker.retainedCount, 0);
    assert.equal(broker.disconnectClient("nobody"), false);
    assert.equal(broker.disconnectClient("watcher"), true);
    assert.equal(await sub.waitClosed(), true);
    await until(() => broker.getRetained("wills/watcher") !== undefined, 1000, "the will of a kicked client");
    await broker.close();
  });

  it("sysValues() reports the counters without $SYS publishing", async () => {
    const broker = testBroker();
    const c = RawClient.memory(broker);
    await c.connect();
    c.publish("x", "1");
    await until(() => broker.stats.messagesReceived === 1, 1000, "the publish");
    const values = broker.sysValues();
    assert.equal(values.get("$SYS/broker/clients/connected"), "1");
    assert.equal(values.get("$SYS/broker/messages/received"), "1");
    await broker.close();
  });

  it("close() disconnects every client without wills and refuses new connections", async () => {
    const broker = new Broker({ hooks: [new AllowHook()], sysInterval: 0 });
    const watcher = RawClient.memory(broker);
    await watcher.connect({ will: { topic: "w", payload: "x", qos: 0, retain: true } });
    await broker.close();
    assert.equal(await watcher.waitClosed(), true);
    assert.equal(broker.getRetained("w"), undefined, "no will on a broker shutdown");
    let closed = false;
    const late = connectMemory(broker.accept);
    late.onClose = () => (closed = true);
    await until(() => closed, 1000, "the late connection to close");
  });

  it("without an auth hook every client is refused", async () => {
    const broker = new Broker({ sysInterval: 0 });
    const c = RawClient.memory(broker);
    const ack = await c.connect();
    assert.equal(ack.returnCode, 5);
    await broker.close();
  });
});
