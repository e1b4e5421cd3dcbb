/**
 * Failures: a broker node killed with SIGKILL (its clients resume on another node, their wills go out once,
 * published by one survivor) and a NATS server killed in a 3-server NATS cluster (routing carries on).
 * The killed node is a CLI child process on Bun and another runs on Deno, next to in-process Node brokers, so one
 * cluster mixes the three runtimes. Runs on Node only: it starts nats-server and broker processes; the code
 * under test is the same on every runtime.
 */

import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { runsOn } from "../_helpers/runtime.ts";
import { until } from "../_helpers/broker.ts";
import { killLeftovers, signalProcess } from "../_helpers/cli_process.ts";
import { type NatsCluster, startNats } from "../_helpers/nats.ts";
import {
  type CliNode,
  connect,
  connectLater,
  endClients,
  inbox,
  type Packet,
  type Received,
  settle,
  startCliNode,
  startNode,
  type TestNode,
} from "./_cluster.ts";

if (runsOn("node")) {
  describe("cluster: failures", () => {
    const nodes: TestNode[] = [];
    const clusters: NatsCluster[] = [];
    const children: CliNode[] = [];

    after(async () => {
      await endClients();
      for (const n of nodes) await n.broker.close().catch(() => {});
      for (const c of children) signalProcess(c.run, "SIGKILL");
      killLeftovers();
      for (const c of clusters) await c.stop();
    });

    it("kill -9 of a node: others keep working, its client resumes elsewhere, its will goes out once", async () => {
      const nats = await startNats(1);
      clusters.push(nats);
      const [doomed, deno] = await Promise.all([
        startCliNode("doomed", nats.urls, "bun"),
        startCliNode("on-deno", nats.urls, "deno"),
      ]);
      children.push(doomed, deno);
      const y = await startNode("y", nats.urls);
      const z = await startNode("z", nats.urls);
      nodes.push(y, z);

      const watchers = [await connect(y.url), await connect(z.url), await connect(deno.url)];
      const wills = watchers.map((w) => inbox(w));
      for (const w of watchers) await w.subscribeAsync("will/#", { qos: 1 });
      const options = {
        clientId: "victim",
        clean: false,
        properties: { sessionExpiryInterval: 300 },
        will: { topic: "will/victim", payload: "gone", qos: 1 },
      };
      const victim = await connect(doomed.url, options);
      await victim.subscribeAsync("after/#", { qos: 1 });
      // v5 wills with a delay: one waits it out, one is cancelled by its client resuming on a survivor.
      const delayed = (id: string, seconds: number) => ({
        clientId: id,
        clean: false,
        properties: { sessionExpiryInterval: 300 },
        will: { topic: `will/${id}`, payload: id, qos: 1, properties: { willDelayInterval: seconds } },
      });
      await connect(doomed.url, delayed("patient", 1));
      await connect(doomed.url, { clientId: "fleeting", properties: { sessionExpiryInterval: 0 } });
      await connect(doomed.url, delayed("returning", 3));
      // Other nodes' clients talk through the doomed node's NATS before and after it dies.
      const talker = await connect(y.url);
      const listener = await connect(deno.url);
      const heard = inbox(listener);
      await listener.subscribeAsync("chat", { qos: 1 });
      await talker.publishAsync("chat", "before", { qos: 1 });
      await until(() => heard.length === 1, 5000, "a message from node y to the deno node");
      await settle(300); // the will reaches KV

      const killedAt = Date.now();
      signalProcess(doomed.run, "SIGKILL");
      await doomed.run.exited;
      await talker.publishAsync("chat", "after", { qos: 1 });
      await until(() => heard.length === 2, 5000, "a message after the kill");

      await connect(y.url, delayed("returning", 3));
      const back = connectLater(z.url, options);
      let present: boolean | undefined;
      back.on("connect", (p: Packet) => (present = p.sessionPresent));
      back.connect();
      await until(() => present !== undefined, 5000, "CONNACK on a surviving node");
      const resumedMs = Date.now() - killedAt;
      assert.equal(present, true);
      const got = inbox(back);
      // A session that was to end with its connection is not resumed from the dead node's record.
      const fleeting = connectLater(y.url, {
        clientId: "fleeting",
        clean: false,
        properties: { sessionExpiryInterval: 60 },
      });
      let fleetingPresent: boolean | undefined;
      fleeting.on("connect", (p: Packet) => (fleetingPresent = p.sessionPresent));
      fleeting.connect();
      await until(() => fleetingPresent !== undefined, 5000, "CONNACK for the clean session's client");
      assert.equal(fleetingPresent, false);
      await talker.publishAsync("after/x", "resumed", { qos: 1 });
      await until(() => got.length === 1, 5000, "a message on the resumed subscription");

      await until(() => wills.every((w) => w.length >= 1), 8000, "the will on every watcher");
      const willMs = Date.now() - killedAt;
      await until(() => wills.every((w) => w.length >= 2), 8000, "the delayed will on every watcher");
      const delayedMs = Date.now() - killedAt;
      assert.ok(delayedMs >= willMs + 800, `the delayed will came ${delayedMs - willMs} ms after the others`);
      await settle(2500); // a second survivor's copy, or the cancelled will, would arrive by now
      const payloads = wills.map((w) => w.map((m) => m.payload));
      assert.deepEqual(payloads, [["gone", "patient"], ["gone", "patient"], ["gone", "patient"]]);
      process.stdout.write(
        `# failover: client resumed ${resumedMs} ms after kill -9, will out within ${willMs} ms\n`,
      );
    });

    it("NATS fully down: each node serves its own clients, and the cluster catches up when NATS returns", async () => {
      const nats = await startNats(1);
      clusters.push(nats);
      const a = await startNode("da", nats.urls, { prefix: "down" });
      const b = await startNode("db", nats.urls, { prefix: "down" });
      nodes.push(a, b);
      // The watcher on b is fenced too (b cannot tell the outage from its own cut): it comes back once.
      const seen: Received[] = [];
      const watch = async () => {
        const w = await connect(b.url);
        w.on("message", (topic: string, payload: Uint8Array) => {
          seen.push({ topic, payload: new TextDecoder().decode(payload), packet: undefined });
        });
        await w.subscribeAsync(["will/#", "back/t", "held/#"], { qos: 1 });
        return w;
      };
      const watcher = await watch();
      let watcherFenced: number | undefined;
      watcher.on("disconnect", (p: Packet) => (watcherFenced = p.reasonCode));
      const wills = {
        get length() {
          return seen.filter((m) => m.topic.startsWith("will/")).length;
        },
      };
      const remote = {
        get length() {
          return seen.filter((m) => m.topic === "back/t").length;
        },
      };
      const held = () => seen.filter((m) => m.topic.startsWith("held/")).map((m) => m.payload);
      await connect(a.url, { clientId: "alive", will: { topic: "will/alive", payload: "x", qos: 1 } });
      await settle(300);

      await nats.servers[0]!.kill();
      await settle(300);
      const started = Date.now();
      const local = await connect(a.url, { clientId: "local-only" });
      const connectMs = Date.now() - started;
      const got = inbox(local);
      await local.subscribeAsync("local/t", { qos: 1 });
      await local.publishAsync("local/t", "served", { qos: 1 });
      await local.publishAsync("back/kept", "during the outage", { qos: 1, retain: true });
      await local.publishAsync("held/1", "qos 1 waits for NATS", { qos: 1 });
      await local.publishAsync("held/0", "qos 0 is lost", { qos: 0 });
      await until(() => got.length === 1, 3000, "local delivery without NATS");
      assert.ok(connectMs < 1500, `a client waited ${connectMs} ms to connect while NATS was down`);
      let fenced: number | undefined;
      local.on("disconnect", (p: Packet) => (fenced = p.reasonCode));
      // Past deadAfterMs - 2 heartbeats without NATS a node fences itself (it cannot tell this from being cut
      // off alone): its clients are told to go elsewhere, once, and are served locally when they come back.
      await until(() => fenced !== undefined, 3000, "the node fencing itself");
      assert.equal(fenced, 0x9c);
      await until(() => watcherFenced !== undefined, 3000, "the other node fencing itself");
      assert.equal(watcherFenced, 0x9c);
      await watch();
      await settle(800); // longer than deadAfterMs in all: nobody may be judged dead for NATS's silence
      const again = await connect(a.url, { clientId: "local-only" });

      await nats.servers[0]!.restart();
      const deadline = Date.now() + 15_000;
      while (remote.length === 0 && Date.now() < deadline) {
        await again.publishAsync("back/t", "again", { qos: 1 });
        await settle(200);
      }
      assert.ok(remote.length > 0, "routing resumed when NATS came back");
      await until(() => held().length > 0, 5000, "the QoS 1 message held during the outage");
      assert.deepEqual(held(), ["qos 1 waits for NATS"]);
      assert.ok(a.broker.clusterStatus()!.lost >= 1);
      await until(
        () => b.broker.getRetained("back/kept") !== undefined,
        15_000,
        "the retained write retried",
      );
      await settle(1500);
      assert.equal(wills.length, 0, "no will of a live client went out");
    });

    it("a NATS server dies in a 3-server NATS cluster: routing and retained messages carry on", async () => {
      const nats = await startNats(3);
      clusters.push(nats);
      const [s0, s1, s2] = nats.urls as [string, string, string];
      const a = await startNode("fa", [s0, s1, s2], { noRandomize: true, replicas: 3, prefix: "fo" });
      const b = await startNode("fb", [s1, s2, s0], { noRandomize: true, replicas: 3, prefix: "fo" });
      // A node that knows only the server about to die: cut off from the cluster, it keeps its client.
      const c = await startNode("fc", [s0], { replicas: 3, prefix: "fo", ignoreDiscoveredServers: true });
      nodes.push(a, b, c);
      const split = {
        clientId: "split",
        clean: false,
        properties: { sessionExpiryInterval: 60 },
        will: { topic: "fo/will", payload: "split", qos: 1 as const },
      };
      const stranded = await connect(c.url, split);
      let strandedReason: number | undefined;
      let fencedAt = 0;
      stranded.on("disconnect", (p: Packet) => {
        strandedReason = p.reasonCode;
        fencedAt = Date.now();
      });
      const sub = await connect(b.url);
      const got = inbox(sub);
      let willAt = 0;
      sub.on("message", (topic: string) => {
        if (topic === "fo/will" && willAt === 0) willAt = Date.now();
      });
      await sub.subscribeAsync(["fo/t", "fo/will"], { qos: 1 });
      const pub = await connect(a.url);
      await pub.publishAsync("fo/t", "before", { qos: 1 });
      await until(() => got.length === 1, 5000, "routing before the failure");

      const killedAt = Date.now();
      await nats.servers[0]!.kill();
      let n = 0;
      const deadline = Date.now() + 15_000;
      while (!got.some((m) => m.payload.startsWith("after")) && Date.now() < deadline) {
        await pub.publishAsync("fo/t", `after ${n++}`, { qos: 1 });
        await settle(100);
      }
      const recoveredMs = Date.now() - killedAt;
      assert.ok(got.some((m) => m.payload.startsWith("after")), "routing resumed after the NATS server died");

      await pub.publishAsync("fo/kept", "r3", { qos: 1, retain: true });
      const retainAt = Date.now();
      await until(() => b.broker.getRetained("fo/kept") !== undefined, 30_000, "retained replication");
      process.stdout.write(`# failover: retained replicated ${Date.now() - retainAt} ms after publish\n`);
      process.stdout.write(`# failover: routing back ${recoveredMs} ms after a NATS server died\n`);

      // The cut-off node fences itself before the others take it for dead: its client is told to go elsewhere
      // (0x9C), and its will is published once, by a survivor, only after that.
      await until(() => strandedReason !== undefined, 8000, "the cut-off node fencing itself");
      assert.equal(strandedReason, 0x9c);
      assert.equal(c.broker.getClient("split"), undefined);
      const wills = () => got.filter((m) => m.topic === "fo/will").length;
      await until(() => wills() === 1, 20_000, "the fenced client's will from a survivor");
      assert.ok(fencedAt <= willAt, `the will went out ${fencedAt - willAt} ms before the fence`);
      process.stdout.write(
        `# failover: cut-off node fenced ${fencedAt - killedAt} ms after its NATS server died, ` +
          `will out ${willAt - killedAt} ms after\n`,
      );
      // The client resumes on b; when the cut-off node is back, nothing goes out twice.
      const back = connectLater(b.url, split);
      let present: boolean | undefined;
      back.on("connect", (p: Packet) => (present = p.sessionPresent));
      back.connect();
      await until(() => present !== undefined, 8000, "CONNACK on b");
      assert.equal(present, true);
      await nats.servers[0]!.restart();
      await settle(2500);
      assert.equal(wills(), 1, "one will");
      assert.equal(c.broker.getClient("split"), undefined);
      assert.ok(b.broker.getClient("split") !== undefined);
    });
  });
}
