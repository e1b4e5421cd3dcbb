/**
 * Messages queued for a persistent session outlive the node that queued them: the node keeps the queue in its
 * JetStream stream, and when it is killed with SIGKILL the node its client reconnects to reads the queue there.
 * The doomed node is a CLI child process (so it can be killed), the others in-process brokers. Runs on Node only:
 * it starts nats-server and a broker process; the code under test is the same on every runtime.
 */

import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { connect as natsConnect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { runsOn } from "../_helpers/runtime.ts";
import { until } from "../_helpers/broker.ts";
import { killLeftovers, signalProcess } from "../_helpers/cli_process.ts";
import { type NatsCluster, startNats } from "../_helpers/nats.ts";
import { RawClient } from "../_helpers/raw_client.ts";
import {
  type CliNode,
  connect,
  connectLater,
  endClients,
  inbox,
  type Packet,
  settle,
  startCliNode,
  startNode,
  type TestNode,
} from "./_cluster.ts";

if (runsOn("node")) {
  describe("cluster: queued messages survive their node", () => {
    const nodes: TestNode[] = [];
    const children: CliNode[] = [];
    let nats: NatsCluster | undefined;

    after(async () => {
      await endClients();
      for (const n of nodes) await n.broker.close().catch(() => {});
      for (const c of children) signalProcess(c.run, "SIGKILL");
      killLeftovers();
      await nats?.stop();
    });

    it("100 QoS 1 messages queued on a node that is killed reach the client on another node", async () => {
      nats = await startNats(1);
      const doomed = await startCliNode("qa", nats.urls, "node");
      children.push(doomed);
      const b = await startNode("qb", nats.urls);
      const c = await startNode("qc", nats.urls);
      nodes.push(b, c);

      const session = { clientId: "keeper", clean: false, properties: { sessionExpiryInterval: 300 } };
      const keeper = await connect(doomed.url, session);
      await keeper.subscribeAsync("q/#", { qos: 1 });
      await keeper.endAsync();

      const publisher = await connect(b.url);
      for (let i = 0; i < 100; i++) await publisher.publishAsync(`q/${i % 3}`, `m${i}`, { qos: 1 });
      // Every PUBACK is in: the node holding the session is killed at once.
      const killedAt = Date.now();
      signalProcess(doomed.run, "SIGKILL");
      await doomed.run.exited;

      const back = connectLater(c.url, session);
      const got = inbox(back);
      let present: boolean | undefined;
      back.on("connect", (p: Packet) => (present = p.sessionPresent));
      back.connect();
      await until(() => present !== undefined, 8000, "CONNACK on a surviving node");
      assert.equal(present, true);
      await until(() => got.length >= 100, 8000, `100 queued messages (got ${got.map((m) => m.payload)})`);
      const resumedMs = Date.now() - killedAt;
      assert.deepEqual(got.map((m) => m.payload), Array.from({ length: 100 }, (_, i) => `m${i}`));
      assert.ok(got.every((m) => m.packet.qos === 1));

      // The new node keeps the session in its own stream, and the dead node's copy is purged.
      const nc = await natsConnect({ servers: nats.urls });
      try {
        const jsm = await jetstreamManager(nc);
        let deadLeft = -1;
        for (let i = 0; i < 40 && deadLeft !== 0; i++) {
          deadLeft = (await jsm.streams.info("mqtt_q_qa")).state.messages;
          if (deadLeft !== 0) await new Promise((r) => setTimeout(r, 100));
        }
        assert.equal(deadLeft, 0, "the dead node's copy of the queue is purged");
      } finally {
        await nc.close();
      }
      process.stdout.write(`# queue takeover: 100 queued messages back ${resumedMs} ms after kill -9\n`);
    });

    it("QoS 1 messages in flight to a connected client when its node is killed come again, DUP set", async () => {
      const doomed = await startCliNode("qd", nats!.urls, "node");
      children.push(doomed);
      const [b, c] = nodes as [TestNode, TestNode];
      // A raw client that takes the messages and never acknowledges them.
      const holder = await RawClient.tcp(doomed.port, 5);
      const session = { clientId: "holder", clean: false, properties: { sessionExpiryInterval: 300 } };
      await holder.connect(session);
      await holder.subscribe("f/#", 1);
      await settle(50);
      const publisher = await connect(b.url);
      for (let i = 0; i < 5; i++) await publisher.publishAsync("f/x", `f${i}`, { qos: 1 });
      for (let i = 0; i < 5; i++) {
        assert.equal((await holder.expect("publish", 3000)).payload.toString(), `f${i}`);
      }
      signalProcess(doomed.run, "SIGKILL");
      await doomed.run.exited;

      const back = connectLater(c.url, {
        clientId: "holder",
        clean: false,
        properties: { sessionExpiryInterval: 300 },
      });
      const got = inbox(back);
      let present: boolean | undefined;
      back.on("connect", (p: Packet) => (present = p.sessionPresent));
      back.connect();
      await until(() => got.length >= 5, 8000, `5 messages in flight (got ${got.length})`);
      assert.equal(present, true);
      assert.deepEqual(got.map((m) => m.payload), ["f0", "f1", "f2", "f3", "f4"]);
      assert.ok(got.every((m) => m.packet.dup === true), "sent again with DUP [MQTT-3.3.1-1]");
    });
  });
}
