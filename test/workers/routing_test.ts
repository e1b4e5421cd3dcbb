/**
 * `workers: 2` through the CLI: messages cross workers at QoS 0, 1 and 2, once per subscriber. Runs on every
 * runtime: starting the worker threads and sharing the port differ per runtime.
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { killLeftovers } from "../_helpers/cli_process.ts";
import {
  endAll,
  type Probe,
  probesOnBoth,
  startWorkers,
  until,
  type Workers,
  workersOf,
} from "./_workers.ts";

describe("workers: 2, routing", () => {
  let w: Workers;
  let subs: Probe[] = [];
  let pubs: Probe[] = [];

  before(async () => {
    w = await startWorkers(2);
  });
  after(async () => {
    await endAll([...subs, ...pubs]);
    const { code } = await w.stop();
    killLeftovers();
    assert.equal(code, 0);
  });

  it("delivers messages published on either worker to subscribers on both, once, at QoS 0/1/2", async () => {
    subs = await probesOnBoth(w.url, "sub-", 8);
    pubs = await probesOnBoth(w.url, "pub-", 8);
    // The kernel spreads connections over the workers (unevenly: probesOnBoth adds clients until both have
    // some); both must have subscribers and publishers for the test to mean anything.
    assert.deepEqual(workersOf(subs), ["worker-0", "worker-1"]);
    assert.deepEqual(workersOf(pubs), ["worker-0", "worker-1"]);
    await Promise.all(subs.map((s) => s.client.subscribeAsync("r/#", { qos: 2 })));
    for (const p of pubs) {
      for (const qos of [0, 1, 2] as const) {
        await p.client.publishAsync(`r/${p.id}`, `${p.id}:${qos}`, { qos });
      }
    }
    const expected = pubs.flatMap((p) => [0, 1, 2].map((qos) => `${p.id}:${qos}`)).sort();
    assert.ok(await until(() => subs.every((s) => s.received.length >= expected.length), 10_000));
    // A moment for duplicates to show up.
    await new Promise((r) => setTimeout(r, 200));
    for (const s of subs) {
      assert.deepEqual(
        s.received.map((m) => m.payload).sort(),
        expected,
        `subscriber ${s.id} on ${s.worker}`,
      );
      for (const m of s.received) assert.equal(m.qos, Number(m.payload.split(":")[1]));
    }
  });

  it("a message published on the other worker right after SUBACK reaches the new subscription", async () => {
    // The SUBACK waits until the other worker routes the filter here; before, a publish sent the moment it came
    // could miss the subscription by a thread hop.
    for (const s of subs) {
      const p = pubs.find((x) => x.worker !== s.worker)!;
      for (let i = 0; i < 5; i++) {
        const topic = `fresh/${s.id}/${i}`;
        await s.client.subscribeAsync(topic, { qos: 1 });
        await p.client.publishAsync(topic, `${s.id}:${i}`, { qos: 1 });
      }
    }
    const want = (s: Probe) => s.received.filter((m) => m.topic.startsWith(`fresh/${s.id}/`)).length;
    assert.ok(await until(() => subs.every((s) => want(s) === 5), 5000));
    for (const s of subs) assert.equal(want(s), 5, `subscriber ${s.id} on ${s.worker}`);
  });

  it("counts every worker's clients in $SYS/broker/cluster/clients/connected", async () => {
    const watcher = subs[0]!;
    let total = -1;
    watcher.client.on("message", (topic, payload) => {
      if (topic === "$SYS/broker/cluster/clients/connected") total = Number(payload.toString());
    });
    await watcher.client.subscribeAsync("$SYS/broker/cluster/clients/connected");
    const expected = subs.length + pubs.length;
    assert.ok(await until(() => total === expected, 6000), `total ${total}, expected ${expected}`);
  });
});
