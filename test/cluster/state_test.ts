/**
 * What a cluster keeps beyond one node: retained messages (JetStream KV) and sessions that move between nodes
 * with their subscriptions and queued messages, the old connection taken over with 0x8E.
 * Runs on Node only: it starts nats-server, and the code under test is the same on every runtime
 * (cross_runtime_test.ts mixes runtimes in one cluster).
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { runsOn } from "../_helpers/runtime.ts";
import { until } from "../_helpers/broker.ts";
import { type NatsCluster, startNats } from "../_helpers/nats.ts";
import {
  connect,
  connectLater,
  endClients,
  inbox,
  type Packet,
  settle,
  startNode,
  type TestNode,
} from "./_cluster.ts";

if (runsOn("node")) {
  describe("cluster: retained messages and moving sessions", () => {
    let nats: NatsCluster;
    let a: TestNode;
    let b: TestNode;
    const extra: TestNode[] = [];

    before(async () => {
      nats = await startNats(1);
      a = await startNode("a", nats.urls);
      b = await startNode("b", nats.urls);
    });

    after(async () => {
      await endClients();
      for (const n of [a, b, ...extra]) await n?.broker.close().catch(() => {});
      await nats?.stop();
    });

    it("shows a retained message set on one node to a new subscriber on another, and clears it", async () => {
      const pub = await connect(a.url);
      await pub.publishAsync("ret/one", "hello", { qos: 1, retain: true });
      await until(() => b.broker.getRetained("ret/one") !== undefined, 3000, "the retained copy on b");
      const sub = await connect(b.url);
      const got = inbox(sub);
      await sub.subscribeAsync("ret/+", { qos: 1 });
      await until(() => got.length === 1, 3000, "the retained message");
      assert.equal(got[0]!.payload, "hello");
      assert.equal(got[0]!.packet.retain, true);

      const clearer = await connect(b.url);
      await clearer.publishAsync("ret/one", "", { qos: 1, retain: true });
      await until(() => a.broker.getRetained("ret/one") === undefined, 3000, "the clear on a");
      const late = await connect(a.url);
      const none = inbox(late);
      await late.subscribeAsync("ret/+", { qos: 1 });
      await settle();
      assert.equal(none.length, 0);
    });

    it("keeps retained messages when every broker restarts", async () => {
      const pub = await connect(a.url);
      await pub.publishAsync("ret/kept", "still here", { qos: 1, retain: true });
      await until(() => b.broker.getRetained("ret/kept") !== undefined, 3000, "replication");
      await endClients();
      await a.broker.close();
      await b.broker.close();
      a = await startNode("a", nats.urls);
      b = await startNode("b", nats.urls);
      const sub = await connect(b.url);
      const got = inbox(sub);
      await sub.subscribeAsync("ret/kept", { qos: 1 });
      await until(() => got.length === 1, 3000, "the retained message after the restart");
      assert.equal(got[0]!.payload, "still here");
    });

    it("moves a connected session: the old node sends 0x8E, the new one says Session Present", async () => {
      const options = { clientId: "mover", clean: false, properties: { sessionExpiryInterval: 300 } };
      const first = await connect(a.url, options);
      await first.subscribeAsync("move/#", { qos: 1 });
      let reason: number | undefined;
      first.on("disconnect", (p: Packet) => (reason = p.reasonCode));
      const second = connectLater(b.url, options);
      let present: boolean | undefined;
      second.on("connect", (p: Packet) => (present = p.sessionPresent));
      second.connect();
      await until(() => present !== undefined, 3000, "CONNACK from the new node");
      assert.equal(present, true);
      await until(() => reason !== undefined, 3000, "DISCONNECT on the old connection");
      assert.equal(reason, 0x8e);
      assert.equal(a.broker.getSession("mover"), undefined);
      assert.equal(b.broker.getSession("mover")?.subscriptions.has("move/#"), true);
      const got = inbox(second);
      const pub = await connect(a.url);
      await pub.publishAsync("move/x", "after", { qos: 1 });
      await until(() => got.length === 1, 3000, "a message on the new node");
    });

    it("brings the QoS 1 and 2 messages queued while the client was away", async () => {
      const options = { clientId: "traveller", clean: false, properties: { sessionExpiryInterval: 300 } };
      const c = await connect(a.url, options);
      await c.subscribeAsync("away/#", { qos: 2 });
      await c.endAsync();
      const pub = await connect(b.url);
      await pub.publishAsync("away/1", "one", { qos: 1 });
      await pub.publishAsync("away/2", "two", { qos: 2 });
      await pub.publishAsync("away/0", "zero", { qos: 0 }); // not kept for an offline session
      await until(() => a.broker.getSession("traveller")?.queued === 2, 3000, "two queued on a");
      const back = connectLater(b.url, options);
      const got = inbox(back);
      let present: boolean | undefined;
      back.on("connect", (p: Packet) => (present = p.sessionPresent));
      back.connect();
      await until(() => got.length === 2, 3000, "the queued messages");
      await settle();
      assert.equal(present, true);
      assert.deepEqual(got.map((m) => [m.payload, m.packet.qos]), [["one", 1], ["two", 2]]);
      assert.equal(a.broker.getSession("traveller"), undefined);
    });

    it("moves a queue larger than NATS's max_payload, keeping the oldest messages in order", async () => {
      const options = { clientId: "hoarder", clean: false, properties: { sessionExpiryInterval: 300 } };
      const c = await connect(a.url, options);
      await c.subscribeAsync("big/#", { qos: 1 });
      await c.endAsync();
      const payload = new Uint8Array(2000).fill(120);
      for (let i = 0; i < 800; i++) await a.broker.publish(`big/${i}`, payload, { qos: 1 });
      assert.equal(a.broker.getSession("hoarder")?.queued, 800);
      const back = connectLater(b.url, options);
      const got = inbox(back);
      let present: boolean | undefined;
      back.on("connect", (p: Packet) => (present = p.sessionPresent));
      back.connect();
      await until(() => present !== undefined, 5000, "CONNACK");
      assert.equal(present, true);
      const moved = () => b.broker.getSession("hoarder")!;
      await until(
        () => got.length > 0 && moved().queued === 0 && moved().inflight.size === 0,
        5000,
        "the moved queue delivered",
      );
      // About 1 MB of it fits: the oldest, in order.
      assert.ok(got.length > 300 && got.length < 800, String(got.length));
      assert.deepEqual(got.map((m) => m.topic), Array.from({ length: got.length }, (_, i) => `big/${i}`));
    });

    it("a node stopping gracefully hands its sessions, with their queues, to the node their clients go to", async () => {
      const leaving = await startNode("leaving", nats.urls, { shutdownGraceMs: 5000 });
      extra.push(leaving);
      const options = { clientId: "evacuee", clean: false, properties: { sessionExpiryInterval: 300 } };
      const c = await connect(leaving.url, options);
      await c.subscribeAsync("evac/#", { qos: 1 });
      await c.endAsync();
      await leaving.broker.publish("evac/1", "queued before the stop", { qos: 1 });
      const stopping = leaving.broker.close(); // waits for the session to be taken (up to 5 s)
      await settle(100);
      const back = connectLater(a.url, options);
      const got = inbox(back);
      let present: boolean | undefined;
      back.on("connect", (p: Packet) => (present = p.sessionPresent));
      back.connect();
      await until(() => got.length === 1, 5000, "the message queued on the stopping node");
      assert.equal(present, true);
      assert.equal(got[0]!.payload, "queued before the stop");
      const started = Date.now();
      await stopping;
      assert.ok(
        Date.now() - started < 2000,
        "the stop ended once the session was taken, not after the grace",
      );
    });

    it("moves a 3.1.1 persistent session too", async () => {
      const options = { clientId: "old-timer", clean: false, protocolVersion: 4 };
      const c = await connect(a.url, options);
      await c.subscribeAsync("v3/t", { qos: 1 });
      await c.endAsync();
      const pub = await connect(a.url);
      await pub.publishAsync("v3/t", "queued", { qos: 1 });
      const back = connectLater(b.url, options);
      const got = inbox(back);
      let present: boolean | undefined;
      back.on("connect", (p: Packet) => (present = p.sessionPresent));
      back.connect();
      await until(() => got.length === 1, 3000, "the queued message");
      assert.equal(present, true);
    });

    it("never keeps one client id live on two nodes when it connects to both at once", async () => {
      const options = { clientId: "twin", clean: false, properties: { sessionExpiryInterval: 60 } };
      const results = await Promise.allSettled([connect(a.url, options), connect(b.url, options)]);
      assert.ok(results.some((r) => r.status === "fulfilled"));
      await until(
        () =>
          Number(a.broker.getClient("twin") !== undefined) +
              Number(b.broker.getClient("twin") !== undefined) === 1,
        3000,
        "one live connection",
      );
      await settle(300);
      const live = Number(a.broker.getClient("twin") !== undefined) +
        Number(b.broker.getClient("twin") !== undefined);
      assert.equal(live, 1);
      const sessions = Number(a.broker.getSession("twin") !== undefined) +
        Number(b.broker.getSession("twin") !== undefined);
      assert.equal(sessions, 1);
    });
  });
}
