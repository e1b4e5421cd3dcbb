/**
 * Joining a cluster fails with a clear message: no servers, unreachable servers, a bad node name, a node name
 * already live. Runs on Node only: it starts nats-server (cross_runtime_test.ts covers the other runtimes).
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { runsOn } from "../_helpers/runtime.ts";
import { freePort, type NatsCluster, startNats } from "../_helpers/nats.ts";
import { createNatsCluster } from "../../adapters/cluster/mod.ts";
import { testBroker } from "../_helpers/broker.ts";
import { startCliNode, startNode, type TestNode } from "./_cluster.ts";
import { killLeftovers } from "../_helpers/cli_process.ts";

if (runsOn("node")) {
  describe("cluster: start-up errors", () => {
    let nats: NatsCluster;
    let first: TestNode;

    before(async () => {
      nats = await startNats(1);
      first = await startNode("same", nats.urls, { heartbeatMs: 200, deadAfterMs: 1000 });
    });

    after(async () => {
      await first?.broker.close();
      killLeftovers();
      await nats?.stop();
    });

    it("refuses no servers and bad node names", async () => {
      await assert.rejects(createNatsCluster({ node: "n", servers: [] }), /no NATS servers given/);
      await assert.rejects(
        createNatsCluster({ node: "bad name", servers: nats.urls }),
        /Cannot use cluster node name "bad name"/,
      );
    });

    it("names the servers it cannot reach", async () => {
      const url = `nats://127.0.0.1:${await freePort()}`;
      await assert.rejects(
        createNatsCluster({ node: "n", servers: [url], connectTimeoutMs: 1000 }),
        (err: Error) => err.message.startsWith(`Cannot connect to NATS at ${url}:`),
      );
    });

    it("refuses a second live node with the same name", async () => {
      const cluster = await createNatsCluster({ node: "same", servers: nats.urls, heartbeatMs: 200 });
      const broker = testBroker({ cluster });
      await assert.rejects(
        broker.listen(),
        /Cannot join the cluster as node "same": a live node already uses that name/,
      );
      await broker.close();
    });

    it("the CLI exits with a log line when NATS cannot be reached", async () => {
      const url = `nats://127.0.0.1:${await freePort()}`;
      await assert.rejects(
        startCliNode("lonely", [url], "node"),
        /cannot join the cluster.*Cannot connect to NATS/s,
      );
    });
  });
}
