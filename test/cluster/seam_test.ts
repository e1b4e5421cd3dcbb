/**
 * The cluster seam in the broker, without NATS: a recording bus stands in for the other nodes. It proves what the
 * broker hands to any bus (each message once, interest per session and filter, retained changes, session records,
 * wills) and what it does with what a bus hands back (remote messages, shared deliveries, sessions moving in and
 * out). In memory, on every runtime.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { ClientInfo } from "../../src/hooks/hook.ts";
import type { Message } from "../../src/message.ts";
import type {
  ClusterBus,
  ClusterNode,
  ClusterSessionRecord,
  HandedSession,
} from "../../src/cluster/cluster_bus.ts";
import { testBroker, until } from "../_helpers/broker.ts";
import { RawClient } from "../_helpers/raw_client.ts";
import { Buffer } from "node:buffer";

class RecordingBus implements ClusterBus {
  readonly node = "test";
  local: ClusterNode | undefined;
  forwarded: Message[] = [];
  /** Interest counts by filter, and by `group/filter` for shared subscriptions. */
  counts = new Map<string, number>();
  shared = new Map<string, number>();
  retained: Message[] = [];
  records = new Map<string, ClusterSessionRecord | undefined>();
  wills = new Map<string, Message | undefined>();
  handing = new Map<string, HandedSession>();

  start(local: ClusterNode): Promise<void> {
    this.local = local;
    return Promise.resolve();
  }
  forward(message: Message): void {
    this.forwarded.push(message);
  }
  interest(filter: string, delta: 1 | -1): void {
    this.counts.set(filter, (this.counts.get(filter) ?? 0) + delta);
  }
  sharedInterest(group: string, filter: string, delta: 1 | -1): void {
    const key = `${group}/${filter}`;
    this.shared.set(key, (this.shared.get(key) ?? 0) + delta);
  }
  retain(message: Message): void {
    this.retained.push(message);
  }
  acquired: string[] = [];
  acquire(clientId: string): Promise<HandedSession | undefined> {
    this.acquired.push(clientId);
    return Promise.resolve(this.handing.get(clientId));
  }
  sessionChanged(clientId: string, record: ClusterSessionRecord | undefined): void {
    this.records.set(clientId, record);
  }
  will(info: ClientInfo, will: Message | undefined): void {
    this.wills.set(info.id, will);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

function recordingBus(): RecordingBus {
  return new RecordingBus();
}

const text = (m: Message) => new TextDecoder().decode(m.payload);

describe("cluster seam: what the broker hands to a bus", () => {
  it("forwards each routed message once, and never one that came from the bus", async () => {
    const bus = recordingBus();
    const broker = testBroker({ cluster: bus });
    await broker.listen();
    const sub = RawClient.memory(broker);
    await sub.connect();
    await sub.subscribe("t/#", 1);
    const pub = RawClient.memory(broker);
    await pub.connect();
    pub.publish("t/1", "local", { qos: 1, messageId: 1 });
    await pub.expect("puback");
    await sub.expect("publish");
    assert.deepEqual(bus.forwarded.map(text), ["local"]);

    bus.local!.routeRemote({
      topic: "t/2",
      payload: new TextEncoder().encode("remote"),
      qos: 0,
      retain: false,
      receivedAt: Date.now(),
    });
    const p = await sub.expect("publish");
    assert.equal(p.payload.toString(), "remote");
    assert.deepEqual(bus.forwarded.map(text), ["local"]);
    await broker.close();
  });

  it("counts interest per session and filter, and gives it back when sessions go", async () => {
    const bus = recordingBus();
    const broker = testBroker({ cluster: bus });
    await broker.listen();
    const interest = bus.counts;
    const a = RawClient.memory(broker);
    await a.connect({ clientId: "a" });
    const b = RawClient.memory(broker);
    await b.connect({ clientId: "b" });
    await a.subscribe("x/+", 0);
    await a.subscribe("x/+", 1); // the same filter again: no new interest
    await b.subscribe("x/+", 0);
    await b.subscribe("$share/g/y", 0);
    assert.equal(interest.get("x/+"), 2);
    assert.equal(bus.shared.get("g/y"), 1);
    a.send({ cmd: "unsubscribe", messageId: 2, unsubscriptions: ["x/+"] });
    await a.expect("unsuback");
    assert.equal(interest.get("x/+"), 1);
    b.disconnect(); // clean session: its subscriptions end with it
    await until(() => interest.get("x/+") === 0 && bus.shared.get("g/y") === 0, 2000, "interest released");
    await broker.close();
  });

  it("takes a client id over only after every other hook let the client in", async () => {
    const bus = recordingBus();
    const broker = testBroker({ cluster: bus });
    broker.addHook({
      id: "refuse-mallory",
      onConnect(client) {
        if (client.id === "mallory") throw new Error("not today");
      },
    });
    await broker.listen();
    const refused = RawClient.memory(broker);
    assert.notEqual((await refused.connect({ clientId: "mallory" })).returnCode, 0);
    const welcome = RawClient.memory(broker);
    assert.equal((await welcome.connect({ clientId: "alice" })).returnCode, 0);
    assert.deepEqual(bus.acquired, ["alice"]);
    await broker.close();
  });

  it("hands retained changes, session records and wills to the bus", async () => {
    const bus = recordingBus();
    const broker = testBroker({ cluster: bus });
    await broker.listen();
    const c = RawClient.memory(broker, 5);
    await c.connect({
      clientId: "keeper",
      clean: false,
      properties: { sessionExpiryInterval: 60 },
      will: { topic: "w", payload: Buffer.from("bye"), qos: 0, retain: false },
    });
    await c.subscribe("k/#", 1);
    c.publish("k/r", "kept", { retain: true });
    await until(() => bus.retained.length === 1, 2000, "the retained message");
    assert.equal(text(bus.retained[0]!), "kept");
    assert.deepEqual(bus.records.get("keeper")?.subscriptions.map((s) => s.filter), ["k/#"]);
    assert.equal(bus.records.get("keeper")?.expiryInterval, 60);
    await until(() => bus.wills.get("keeper") !== undefined, 2000, "the will");
    c.disconnect(); // graceful: the will is cleared everywhere
    await until(
      () => bus.wills.has("keeper") && bus.wills.get("keeper") === undefined,
      2000,
      "the will cleared",
    );
    await broker.close();
  });
});

describe("cluster seam: what the broker does with what a bus hands back", () => {
  it("delivers a shared message to one local member only through the bus", async () => {
    const bus = recordingBus();
    const broker = testBroker({ cluster: bus });
    await broker.listen();
    const members = [RawClient.memory(broker), RawClient.memory(broker)];
    for (const m of members) {
      await m.connect();
      await m.subscribe("$share/g/job", 0);
    }
    const pub = RawClient.memory(broker);
    await pub.connect();
    pub.publish("job", "local publish");
    await until(() => bus.forwarded.length === 1, 2000, "the forward");
    // A cluster decides which node's member gets it: nothing locally until the bus says so.
    assert.deepEqual([...(await members[0]!.collect(100)), ...(await members[1]!.collect(0))], []);
    bus.local!.routeShared("g", "job", bus.forwarded[0]!);
    const got = [...(await members[0]!.collect(100)), ...(await members[1]!.collect(0))];
    assert.equal(got.length, 1);
    await broker.close();
  });

  it("resumes a session handed over by another node, with Session Present and its queue", async () => {
    const bus = recordingBus();
    const message = (s: string): Message => ({
      topic: "m/1",
      payload: new TextEncoder().encode(s),
      qos: 1,
      retain: false,
      receivedAt: Date.now(),
    });
    bus.handing.set("mover", {
      expiryInterval: 120,
      subscriptions: [{ filter: "m/+", qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }],
      inflight: [{ message: message("inflight"), qos: 1, retain: false, packetId: 7, state: "publish" }],
      queued: [{ message: message("queued"), qos: 1, retain: false }],
    });
    const broker = testBroker({ cluster: bus });
    await broker.listen();
    const c = RawClient.memory(broker, 5);
    const connack = await c.connect({
      clientId: "mover",
      clean: false,
      properties: { sessionExpiryInterval: 120 },
    });
    assert.equal(connack.sessionPresent, true);
    const first = await c.expect("publish");
    assert.deepEqual([first.payload.toString(), first.messageId, first.dup], ["inflight", 7, true]);
    assert.equal((await c.expect("publish")).payload.toString(), "queued");
    assert.equal(broker.getSession("mover")?.subscriptions.has("m/+"), true);
    await broker.close();
  });

  it("hands a session out: the v5 connection gets DISCONNECT 0x8E and the state leaves with it", async () => {
    const bus = recordingBus();
    const broker = testBroker({ cluster: bus });
    await broker.listen();
    const c = RawClient.memory(broker, 5);
    await c.connect({ clientId: "leaver", clean: false, properties: { sessionExpiryInterval: 60 } });
    await c.subscribe("l/#", 1);
    const handed = bus.local!.handOver("leaver");
    const disconnect = await c.expect("disconnect");
    assert.equal(disconnect.reasonCode, 0x8e);
    assert.deepEqual(handed?.subscriptions.map((s) => s.filter), ["l/#"]);
    assert.equal(broker.getSession("leaver"), undefined);
    assert.equal(bus.local!.handOver("nobody"), undefined);
    await broker.close();
  });
});
