/**
 * `workers: 2` through the CLI: shared subscriptions once cluster-wide, retained messages across workers, and a
 * persistent session taken over from one worker by the other. Node only: the hub and the bus are the same code on
 * every runtime, and routing_test.ts covers each runtime's thread start and shared port.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { runsOn } from "../_helpers/runtime.ts";
import { type Probe, probe, probes, probesOnBoth, sleep, until, withWorkers, workersOf } from "./_workers.ts";

if (runsOn("node")) {
  describe("workers: 2, shared subscriptions, retained messages, takeover", () => {
    const ctx = withWorkers();
    const clients = ctx.clients;

    /** One probe on each worker, from up to 16 tries. */
    async function onEachWorker(prefix: string): Promise<Map<string, Probe>> {
      const byWorker = new Map<string, Probe>();
      for (let i = 0; i < 16 && byWorker.size < 2; i++) {
        const p = await probe(ctx.w.url, `${prefix}${i}`);
        clients.push(p);
        if (!byWorker.has(p.worker)) byWorker.set(p.worker, p);
      }
      assert.equal(byWorker.size, 2, "no client landed on the second worker in 16 tries");
      return byWorker;
    }

    it("delivers each message of a shared subscription to one member cluster-wide", async () => {
      const members = await probesOnBoth(ctx.w.url, "member-", 8);
      clients.push(...members);
      assert.deepEqual(workersOf(members), ["worker-0", "worker-1"]);
      await Promise.all(members.map((m) => m.client.subscribeAsync("$share/g/job/+", { qos: 1 })));
      const [publisher] = await probes(ctx.w.url, "jobpub-", 1);
      clients.push(publisher!);
      for (let i = 0; i < 40; i++) await publisher!.client.publishAsync(`job/${i}`, `${i}`, { qos: 1 });
      const got = () => members.flatMap((m) => m.received.map((r) => r.payload));
      assert.ok(await until(() => got().length >= 40, 10_000), `${got().length} of 40 delivered`);
      await sleep(200);
      assert.deepEqual(got().map(Number).sort((a, b) => a - b), Array.from({ length: 40 }, (_, i) => i));
      // Both workers' members had turns.
      const perWorker = new Set(members.filter((m) => m.received.length > 0).map((m) => m.worker));
      assert.equal(perWorker.size, 2);
    });

    it("shows a message retained on one worker to a subscriber on the other", async () => {
      const byWorker = await onEachWorker("ret-");
      const setter = byWorker.get("worker-0")!;
      await setter.client.publishAsync("keep/me", "kept", { qos: 1, retain: true });
      await sleep(100);
      // A new subscriber on the other worker gets it from that worker's own retained store.
      const reader = byWorker.get("worker-1")!;
      await reader.client.subscribeAsync("keep/#", { qos: 1 });
      assert.ok(await until(() => reader.received.length > 0));
      assert.deepEqual(reader.received[0], { topic: "keep/me", payload: "kept", qos: 1 });
      // Cleared on the other worker: gone for a new subscriber on the first.
      await reader.client.publishAsync("keep/me", "", { qos: 1, retain: true });
      await sleep(100);
      await setter.client.subscribeAsync("keep/#", { qos: 1 });
      await sleep(200);
      assert.deepEqual(setter.received.filter((r) => r.topic === "keep/me"), []);
    });

    it("moves a persistent session to the worker its client reconnects to, with its queued messages", async () => {
      const [publisher] = await probes(ctx.w.url, "takepub-", 1);
      clients.push(publisher!);
      const options = {
        clean: false,
        protocolVersion: 5 as const,
        properties: { sessionExpiryInterval: 300 },
      };
      let p = await probe(ctx.w.url, "persistent", options);
      await p.client.subscribeAsync("queue/#", { qos: 1 });
      const first = p.worker;
      let moved = false;
      // Reconnect until the kernel puts the client on the other worker (1 in 2 per try).
      for (let attempt = 0; attempt < 12 && !moved; attempt++) {
        const last = p.worker;
        await p.client.endAsync();
        await publisher!.client.publishAsync("queue/x", `while away ${attempt}`, { qos: 1 });
        await sleep(50);
        p = await probe(ctx.w.url, "persistent", options);
        assert.equal(p.sessionPresent, true, `attempt ${attempt} on ${p.worker}`);
        assert.ok(
          await until(() => p.received.some((r) => r.payload === `while away ${attempt}`)),
          `attempt ${attempt}: the queued message did not arrive on ${p.worker} (was on ${last})`,
        );
        moved = p.worker !== last;
      }
      clients.push(p);
      assert.ok(moved, `the client stayed on ${first} in 12 reconnects`);
      // Its subscription lives on the new worker now: a new message still arrives, once.
      p.received.length = 0;
      await publisher!.client.publishAsync("queue/y", "after the move", { qos: 1 });
      assert.ok(await until(() => p.received.length > 0));
      await sleep(200);
      assert.deepEqual(p.received.map((r) => r.payload), ["after the move"]);
    });

    it("misses no QoS 1 message while its persistent session moves between workers in a stream of them", async () => {
      const [publisher] = await probes(ctx.w.url, "streampub-", 1);
      clients.push(publisher!);
      const options = {
        clean: false,
        protocolVersion: 5 as const,
        properties: { sessionExpiryInterval: 300 },
      };
      let p = await probe(ctx.w.url, "mover", options);
      await p.client.subscribeAsync("stream/#", { qos: 1 });
      // One QoS 1 message at a time, each acknowledged before the next; bounded.
      let acked = 0;
      let stop = false;
      const pumping = (async () => {
        for (let i = 0; i < 5000 && !stop; i++) {
          await publisher!.client.publishAsync("stream/x", String(i), { qos: 1 });
          acked = i + 1;
        }
      })();
      const got = new Set<string>();
      let moves = 0;
      for (let attempt = 0; attempt < 40 && moves < 8; attempt++) {
        await sleep(20);
        const last = p.worker;
        await p.client.endAsync();
        for (const r of p.received) got.add(r.payload);
        p = await probe(ctx.w.url, "mover", options);
        if (p.worker !== last) moves++;
      }
      stop = true;
      await pumping;
      clients.push(p);
      assert.ok(moves >= 3, `the session moved only ${moves} times in 40 reconnects`);
      const collect = () => {
        for (const r of p.received) got.add(r.payload);
        return got.size >= acked;
      };
      await until(collect, 10_000);
      const missing = Array.from({ length: acked }, (_, i) => String(i)).filter((i) => !got.has(i));
      assert.deepEqual(missing, [], `${missing.length} of ${acked} acknowledged messages never arrived`);
      if (process.env.SHOW_TIMES) console.log(`# ${acked} messages, ${moves} moves`);
    });

    it("closes the old connection when the client id connects on the other worker", async () => {
      let previous = await probe(ctx.w.url, "twice");
      clients.push(previous);
      for (let i = 0; i < 16; i++) {
        let closed = false;
        previous.client.on("close", () => (closed = true));
        const next = await probe(ctx.w.url, "twice");
        clients.push(next);
        if (next.worker !== previous.worker) {
          assert.ok(await until(() => closed), `the connection on ${previous.worker} was not closed`);
          assert.ok(next.client.connected);
          return;
        }
        previous = next;
      }
      assert.fail("16 connections landed on the same worker");
    });
  });
}
