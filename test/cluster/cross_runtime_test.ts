/**
 * One small cluster per runtime: a broker in this test's process (Deno, Bun or Node) and a CLI node on another
 * runtime, joined through nats-server; messages and a retained message cross in both directions. The NATS
 * client and the cluster code run here on every runtime; the longer suites beside this file run on Node only.
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { until } from "../_helpers/broker.ts";
import { killLeftovers, signalProcess } from "../_helpers/cli_process.ts";
import { type NatsCluster, startNats } from "../_helpers/nats.ts";
import { testRuntime } from "../_helpers/runtime.ts";
import {
  type CliNode,
  connect,
  endClients,
  inbox,
  startCliNode,
  startNode,
  type TestNode,
} from "./_cluster.ts";

describe(`cluster: a ${testRuntime} broker and a broker on another runtime`, () => {
  let nats: NatsCluster;
  let here: TestNode;
  let there: CliNode;

  before(async () => {
    nats = await startNats(1);
    here = await startNode(`here-${testRuntime}`, nats.urls);
    there = await startCliNode("there", nats.urls, testRuntime === "node" ? "bun" : "node");
  });

  after(async () => {
    await endClients();
    await here?.broker.close();
    if (there) signalProcess(there.run, "SIGTERM");
    await there?.run.exited;
    killLeftovers();
    await nats?.stop();
  });

  it("routes both ways and shares retained messages", async () => {
    const subHere = await connect(here.url);
    const subThere = await connect(there.url);
    const gotHere = inbox(subHere);
    const gotThere = inbox(subThere);
    await subHere.subscribeAsync("x/+", { qos: 1 });
    await subThere.subscribeAsync("x/#", { qos: 2 });
    await (await connect(here.url)).publishAsync("x/from-here", "h", { qos: 2 });
    await (await connect(there.url)).publishAsync("x/from-there", "t", { qos: 1, retain: true });
    await until(() => gotHere.length === 2 && gotThere.length === 2, 5000, "two messages on each side");
    assert.deepEqual(gotHere.map((m) => m.payload).sort(), ["h", "t"]);
    assert.deepEqual(gotThere.map((m) => m.payload).sort(), ["h", "t"]);
    await until(
      () => here.broker.getRetained("x/from-there") !== undefined,
      5000,
      "the retained message here",
    );
  });
});
