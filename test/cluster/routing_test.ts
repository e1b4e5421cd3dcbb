/**
 * Routing across a cluster on NATS: two in-process broker nodes on one nats-server, driven by MQTT.js.
 * Runs on Node only: it starts nats-server, and the path under test (the broker core and the NATS client) is
 * the same code on every runtime; cross_runtime_test.ts mixes runtimes in one cluster.
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { runsOn } from "../_helpers/runtime.ts";
import { createHttpApp } from "../../src/http/http_app.ts";
import { until } from "../_helpers/broker.ts";
import { finishProcess, startProcess } from "../_helpers/cli_process.ts";
import { type NatsCluster, startNats } from "../_helpers/nats.ts";
import { connect, endClients, inbox, settle, startNode, type TestNode } from "./_cluster.ts";

if (runsOn("node")) {
  describe("cluster: routing between nodes", () => {
    let nats: NatsCluster;
    let a: TestNode;
    let b: TestNode;

    before(async () => {
      nats = await startNats(1);
      a = await startNode("a", nats.urls);
      b = await startNode("b", nats.urls);
    });

    after(async () => {
      await endClients();
      await a?.broker.close();
      await b?.broker.close();
      await nats?.stop();
    });

    it("delivers QoS 0, 1 and 2 across nodes once, through + and # filters that overlap", async () => {
      const sub = await connect(b.url);
      const got = inbox(sub);
      await sub.subscribeAsync({ "r/+/x": { qos: 2 }, "r/#": { qos: 1 } });
      const pub = await connect(a.url);
      for (const qos of [0, 1, 2] as const) await pub.publishAsync(`r/q${qos}/x`, `m${qos}`, { qos });
      await until(() => got.length >= 3, 3000, "three messages");
      await settle();
      assert.deepEqual(got.map((m) => [m.topic, m.payload, m.packet.qos]), [
        ["r/q0/x", "m0", 0],
        ["r/q1/x", "m1", 1],
        ["r/q2/x", "m2", 2],
      ]);
    });

    it("matches the parent level with a/# and escapes what NATS reserves", async () => {
      const sub = await connect(b.url);
      const got = inbox(sub);
      await sub.subscribeAsync("p.q/#", { qos: 1 });
      await sub.subscribeAsync("$odd/ sp*ce/+/>", { qos: 1 });
      await sub.subscribeAsync("e//+", { qos: 1 });
      const pub = await connect(a.url);
      await pub.publishAsync("p.q", "parent", { qos: 1 });
      await pub.publishAsync("p.q/a/b", "child", { qos: 1 });
      await pub.publishAsync("p_q/a", "other", { qos: 1 }); // must not match p.q/#
      await pub.publishAsync("$odd/ sp*ce/x.y/>", "escaped", { qos: 1 });
      await pub.publishAsync("e//z", "empty level", { qos: 1 });
      await pub.publishAsync("e/x/z", "not empty", { qos: 1 });
      await until(() => got.length >= 4, 3000, "four messages");
      await settle();
      assert.deepEqual(got.map((m) => m.payload).sort(), ["child", "empty level", "escaped", "parent"]);
    });

    it("carries v5 properties, with message expiry counting down", async () => {
      const sub = await connect(b.url);
      const got = inbox(sub);
      await sub.subscribeAsync("props/t", { qos: 1 });
      const pub = await connect(a.url);
      await pub.publishAsync("props/t", "x", {
        qos: 1,
        properties: {
          userProperties: { k: "v" },
          contentType: "text/plain",
          responseTopic: "reply/here",
          correlationData: Buffer.from([1, 2, 3]),
          messageExpiryInterval: 100,
          payloadFormatIndicator: true,
        },
      });
      await until(() => got.length === 1, 3000, "the message");
      const p = got[0]!.packet.properties;
      assert.deepEqual({ ...p.userProperties }, { k: "v" });
      assert.equal(p.contentType, "text/plain");
      assert.equal(p.responseTopic, "reply/here");
      assert.deepEqual([...p.correlationData], [1, 2, 3]);
      assert.ok(
        p.messageExpiryInterval <= 100 && p.messageExpiryInterval >= 98,
        String(p.messageExpiryInterval),
      );
      assert.equal(p.payloadFormatIndicator, true);
    });

    it("honours No Local on the publisher's node and delivers to the other node", async () => {
      const both = await connect(a.url, { clientId: "nl-pub" });
      const mine = inbox(both);
      await both.subscribeAsync("nl/t", { qos: 1, nl: true });
      const other = await connect(b.url);
      const theirs = inbox(other);
      await other.subscribeAsync("nl/t", { qos: 1 });
      await both.publishAsync("nl/t", "x", { qos: 1 });
      await until(() => theirs.length === 1, 3000, "the other node's copy");
      await settle();
      assert.equal(mine.length, 0);
    });

    it("keeps a retain flag only with Retain As Published", async () => {
      const sub = await connect(b.url);
      const got = inbox(sub);
      await sub.subscribeAsync("rap/keep", { qos: 1, rap: true });
      await sub.subscribeAsync("rap/drop", { qos: 1 });
      const pub = await connect(a.url);
      await pub.publishAsync("rap/keep", "k", { qos: 1, retain: true });
      await pub.publishAsync("rap/drop", "d", { qos: 1, retain: true });
      await until(() => got.length === 2, 3000, "two messages");
      const flags = Object.fromEntries(got.map((m) => [m.topic, m.packet.retain]));
      assert.deepEqual(flags, { "rap/keep": true, "rap/drop": false });
    });

    it("sends each message of a shared subscription to one member cluster-wide", async () => {
      const members = [
        await connect(a.url),
        await connect(a.url),
        await connect(b.url),
        await connect(b.url),
      ];
      const boxes = members.map((m) => inbox(m));
      for (const m of members) await m.subscribeAsync("$share/g/work/+", { qos: 1 });
      const pub = await connect(b.url);
      const n = 40;
      for (let i = 0; i < n; i++) await pub.publishAsync(`work/${i}`, String(i), { qos: 1 });
      await until(() => boxes.reduce((s, b) => s + b.length, 0) >= n, 5000, "every job");
      await settle(300);
      const all = boxes.flat().map((m) => Number(m.payload)).sort((x, y) => x - y);
      assert.deepEqual(all, Array.from({ length: n }, (_, i) => i));
      // Both nodes took part.
      assert.ok(boxes[0]!.length + boxes[1]!.length > 0 && boxes[2]!.length + boxes[3]!.length > 0);
    });

    it("carries messages between mosquitto_pub on one node and mosquitto_sub on another (3.1.1 and 5)", async () => {
      for (const version of ["mqttv311", "mqttv5"]) {
        const topic = `mosq/${version}`;
        const sub = startProcess("mosquitto_sub", [
          ...["-h", "127.0.0.1", "-p", String(b.port), "-V", version, "-t", "mosq/#", "-q", "2", "-C", "2"],
          ...["-F", "%t %q %p"],
        ]);
        await until(
          () => [...b.broker.subscriptions()].some((s) => s.filter === "mosq/#"),
          5000,
          "the subscription",
        );
        await settle(100); // NATS has the new interest
        for (const qos of ["1", "2"]) {
          const pub = startProcess("mosquitto_pub", [
            ...[
              "-h",
              "127.0.0.1",
              "-p",
              String(a.port),
              "-V",
              version,
              "-t",
              topic,
              "-q",
              qos,
              "-m",
              `q${qos}`,
            ],
          ]);
          assert.equal((await finishProcess(pub)).code, 0);
        }
        // The output may still be on its way when the process exits: wait for the text itself.
        await until(() => sub.output().includes(`${topic} 2 q2`), 5000, "mosquitto_sub's second line");
        const { code, output } = await finishProcess(sub);
        assert.equal(code, 0);
        assert.deepEqual(output.trim().split("\n"), [`${topic} 1 q1`, `${topic} 2 q2`]);
      }
    });

    it("reports the nodes, their clients and the traffic in $SYS, /api/v1/cluster and /metrics", async () => {
      await connect(a.url, { clientId: "counted-a" });
      await connect(b.url, { clientId: "counted-b" });
      // Client counts travel with the beats (every 250 ms here).
      await until(
        () =>
          b.broker.clusterStatus()?.members.find((m) => m.node === "a")?.clients ===
            a.broker.connectedCount(),
        3000,
        "a's beat with its client count",
      );
      const sys = b.broker.sysValues();
      assert.equal(sys.get("$SYS/broker/cluster/node"), "b");
      assert.equal(sys.get("$SYS/broker/cluster/nodes"), "2");
      assert.equal(
        sys.get("$SYS/broker/cluster/clients/connected"),
        String(a.broker.connectedCount() + b.broker.connectedCount()),
      );
      assert.ok(Number(sys.get("$SYS/broker/cluster/messages/received")) > 0);

      const http = createHttpApp({ broker: b.broker, runtime: { name: "test", version: "0" } });
      const cluster = await (await http.app.request("/api/v1/cluster")).json();
      assert.deepEqual(cluster.members.map((m: { node: string }) => m.node), ["a", "b"]);
      assert.equal(cluster.connected, true);
      const overview = await (await http.app.request("/api/v1/overview")).json();
      assert.deepEqual(overview.cluster.members.map((m: { node: string }) => m.node), ["a", "b"]);
      assert.match(await (await http.app.request("/")).text(), /id="fact-cluster"/);
      const clients = await (await http.app.request("/api/v1/clients?clientId=counted-b")).json();
      assert.equal(clients.items[0].node, "b");
      const metrics = await (await http.app.request("/metrics")).text();
      assert.match(metrics, /^comqtt_cluster_nodes\{node="b"\} 2$/m);
      assert.match(metrics, /^comqtt_cluster_messages_total\{direction="in"\} [1-9]/m);
      assert.match(metrics, /^comqtt_cluster_nats_rtt_seconds [0-9.e-]+$/m);
      http.close();
    });

    it("lists every node's clients in /api/v1/clients, each with its node, and the dashboard shows the node", async () => {
      await connect(a.url, { clientId: "listed-a1", username: "ann" });
      await connect(a.url, { clientId: "listed-a2" });
      await connect(b.url, { clientId: "listed-b1" });
      await until(() => a.broker.clusterStatus()!.members.length === 2, 3000, "both nodes known");
      const http = createHttpApp({ broker: a.broker, runtime: { name: "test", version: "0" } });
      const get = async (query: string) => await (await http.app.request(`/api/v1/clients?${query}`)).json();
      const all = await get("clientId=listed-");
      assert.equal(all.total, 3);
      assert.deepEqual(
        all.items.map((c: { clientId: string; node: string }) => [c.clientId, c.node]),
        [["listed-a1", "a"], ["listed-a2", "a"], ["listed-b1", "b"]],
      );
      assert.deepEqual(all.unreachable, []);
      const remote = all.items[2];
      assert.equal(remote.protocolVersion, 5);
      assert.match(remote.address, /^127\.0\.0\.1:\d+$/);
      assert.equal(typeof all.items[0].messagesIn, "number", "this node's rows carry their activity");
      const onB = await get("clientId=listed-&node=b");
      assert.deepEqual(onB.items.map((c: { clientId: string }) => c.clientId), ["listed-b1"]);
      assert.equal(onB.total, 1);
      const paged = await get("clientId=listed-&limit=1&offset=2");
      assert.deepEqual([paged.total, paged.items[0].clientId], [3, "listed-b1"]);
      assert.equal((await get("q=ann")).items[0].clientId, "listed-a1");
      const page = await (await http.app.request("/")).text();
      assert.match(page, /<th id="clients-node" hidden>Node<\/th>/);
      http.close();
    });

    it("stops routing to a node once its last subscriber leaves, and 3.1.1 clients take part", async () => {
      const one = await connect(b.url, { protocolVersion: 4 });
      const two = await connect(b.url, { protocolVersion: 4 });
      const got1 = inbox(one);
      const got2 = inbox(two);
      await one.subscribeAsync("rc/t", { qos: 1 });
      await two.subscribeAsync("rc/t", { qos: 1 });
      const pub = await connect(a.url, { protocolVersion: 4 });
      await one.unsubscribeAsync("rc/t");
      await pub.publishAsync("rc/t", "still", { qos: 1 });
      await until(() => got2.length === 1, 3000, "the remaining subscriber's copy");
      assert.equal(got1.length, 0);
    });
  });
}
