/**
 * `workers: 2` through the CLI: a worker thread that dies (SIGUSR2 makes the supervisor terminate the last one
 * abruptly, as a crash would) takes only its own clients down; a surviving worker publishes their wills once; the
 * supervisor starts a new worker on the same port and routing spans both again. Node only: the supervisor and the
 * hub are the same code on every runtime. SIGHUP reaches every worker.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { runsOn } from "../_helpers/runtime.ts";
import { type Probe, probe, probesOnBoth, sleep, until, withWorkers, workersOf } from "./_workers.ts";

if (runsOn("node")) {
  describe("workers: 2, a worker dies", () => {
    const ctx = withWorkers();
    const clients = ctx.clients;

    it("publishes the wills of the dead worker's clients once, keeps the others, and restarts it", async () => {
      const willed = await probesOnBoth(ctx.w.url, "willed-", 8, (id) => ({
        will: { topic: `will/${id}`, payload: "gone", qos: 1, retain: false },
      }));
      clients.push(...willed);
      assert.deepEqual(workersOf(willed), ["worker-0", "worker-1"]);
      // A watcher on worker 0, the survivor.
      let watcher: Probe | undefined;
      for (let i = 0; i < 16 && watcher === undefined; i++) {
        const p = await probe(ctx.w.url, `watcher-${i}`);
        clients.push(p);
        if (p.worker === "worker-0") watcher = p;
      }
      assert.ok(watcher, "no client landed on worker 0 in 16 tries");
      await watcher.client.subscribeAsync("will/#", { qos: 1 });
      const closed = new Set<string>();
      for (const p of willed) p.client.on("close", () => closed.add(p.id));
      const doomed = willed.filter((p) => p.worker === "worker-1").map((p) => p.id).sort();

      process.kill(ctx.w.run.child.pid!, "SIGUSR2");
      assert.ok(await until(() => closed.size >= doomed.length, 10_000), `closed: ${[...closed]}`);
      assert.ok(await until(() => watcher.received.length >= doomed.length, 10_000));
      await sleep(300);
      assert.deepEqual(watcher.received.map((r) => r.topic).sort(), doomed.map((id) => `will/${id}`));
      assert.deepEqual([...closed].sort(), doomed);
      for (const p of willed) if (p.worker === "worker-0") assert.ok(p.client.connected, `${p.id} lost`);

      await ctx.w.run.waitFor(/worker ended: restarting it worker=1/);
      assert.ok(
        await until(() => (ctx.w.run.output().match(/listening .*worker=1/g) ?? []).length >= 2, 15_000),
      );
      // New clients spread over both workers again and reach each other.
      const again = await probesOnBoth(ctx.w.url, "again-", 8);
      clients.push(...again);
      assert.deepEqual(workersOf(again), ["worker-0", "worker-1"]);
      await Promise.all(again.map((p) => p.client.subscribeAsync("after/crash", { qos: 1 })));
      await again[0]!.client.publishAsync("after/crash", "hello", { qos: 1 });
      assert.ok(await until(() => again.every((p) => p.received.length === 1)));
    });

    it("makes every worker reload on SIGHUP, and keeps running", async () => {
      process.kill(ctx.w.run.child.pid!, "SIGHUP");
      assert.ok(await until(() => /reloaded .*worker=0/.test(ctx.w.run.output()), 10_000));
      assert.ok(await until(() => /reloaded .*worker=1/.test(ctx.w.run.output()), 10_000));
      const p = await probe(ctx.w.url, "after-hup");
      clients.push(p);
      assert.ok(p.client.connected);
    });
  });
}
