/**
 * The rules by which a live node ends sessions of departed nodes (adapters/cluster/_nats_session_sweep.ts), on an
 * in-memory stand-in for the `{prefix}_sessions` bucket: what expires when, what never does, and that a node taken
 * for dead for a moment keeps its sessions. test/cluster/session_sweep_test.ts runs the same code against NATS.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { KV } from "@nats-io/kv";
import { NatsSessionSweep } from "../../adapters/cluster/_nats_session_sweep.ts";
import type { NatsQueues } from "../../adapters/cluster/_nats_queues.ts";
import { kvKey } from "../../src/cluster/subjects.ts";
import { silentLogger } from "../../src/logger.ts";

const EVERY = 1000;
const LIVE = "live-0123456789ab";
const DEAD = "gone-0123456789ab";

interface Entry {
  key: string;
  value: Uint8Array;
  revision: number;
}

/** A bucket of session records, the forgotten queues, and a sweep over them as node `LIVE`. */
function setup(live: string[] = [LIVE]) {
  const records = new Map<string, Entry>();
  let revision = 0;
  const forgotten: string[] = [];
  const put = (clientId: string, record: { b: string; e: number; d?: number }) => {
    const key = kvKey(clientId);
    records.set(key, {
      key,
      value: new TextEncoder().encode(JSON.stringify({ s: [], ...record })),
      revision: ++revision,
    });
  };
  const kv = {
    status: () => Promise.resolve({ values: records.size }),
    watch: () => {
      const entries = [...records.values()];
      const it = (async function* () {
        for (let i = 0; i < entries.length; i++) {
          yield { ...entries[i]!, operation: "PUT", delta: entries.length - 1 - i };
        }
      })();
      return Promise.resolve(Object.assign(it, { stop() {} }));
    },
    delete: (key: string, opts: { previousSeq: number }) => {
      if (records.get(key)?.revision !== opts.previousSeq) {
        return Promise.reject(new Error("wrong last sequence"));
      }
      records.delete(key);
      return Promise.resolve();
    },
  } as unknown as KV;
  const queues = { forget: (node: string, clientId: string) => forgotten.push(`${node}/${clientId}`) };
  const boots = [...live];
  const sweep = new NatsSessionSweep({
    kv,
    boot: LIVE,
    logger: silentLogger,
    everyMs: EVERY,
    liveBoots: () => boots,
    queues: queues as unknown as NatsQueues,
  });
  const has = (clientId: string) => records.has(kvKey(clientId));
  return { put, sweep, has, forgotten, boots };
}

describe("cluster: ending the sessions of departed nodes", () => {
  it("a departed node's expired session ends at the second sweep that finds it; its queue is forgotten", async () => {
    const { put, sweep, has, forgotten } = setup();
    put("old", { b: DEAD, e: 1, d: 0 });
    assert.equal(await sweep.sweep(10_000), 0, "the first sweep only notes it");
    assert.ok(has("old"));
    assert.equal(await sweep.sweep(10_000 + EVERY), 1);
    assert.equal(has("old"), false);
    assert.deepEqual(forgotten, ["gone/old"]);
  });

  it("a live node's sessions and sessions that never expire stay", async () => {
    const { put, sweep, has } = setup();
    put("mine", { b: LIVE, e: 0, d: 0 });
    put("forever", { b: DEAD, e: 0xffff_ffff, d: 0 });
    for (const now of [10_000, 20_000, 1e12]) assert.equal(await sweep.sweep(now), 0);
    assert.ok(has("mine") && has("forever"));
  });

  it("a session connected when its node died expires counting from when it was first found orphaned", async () => {
    const { put, sweep, has } = setup();
    put("held", { b: DEAD, e: 3 });
    await sweep.sweep(50_000);
    assert.equal(await sweep.sweep(52_999), 0, "not before its 3 s have passed");
    assert.ok(has("held"));
    assert.equal(await sweep.sweep(53_000), 1);
  });

  it("a session whose expiry runs out later ends then, not at the second sweep", async () => {
    const { put, sweep, has } = setup();
    put("later", { b: DEAD, e: 60, d: 10_000 });
    await sweep.sweep(11_000);
    assert.equal(await sweep.sweep(69_999), 0);
    assert.ok(has("later"));
    assert.equal(await sweep.sweep(70_000), 1);
  });

  it("a node taken for dead for a moment keeps its sessions, and the count starts again", async () => {
    const { put, sweep, has, boots } = setup([LIVE, DEAD]);
    put("slow", { b: DEAD, e: 0 });
    boots.pop(); // its beats stopped for a while
    assert.equal(await sweep.sweep(10_000), 0);
    boots.push(DEAD); // and came back
    assert.equal(await sweep.sweep(10_000 + EVERY), 0);
    boots.pop(); // gone again, for good
    assert.equal(await sweep.sweep(10_000 + 2 * EVERY), 0, "found orphaned once more: the count restarts");
    assert.ok(has("slow"));
    assert.equal(await sweep.sweep(10_000 + 3 * EVERY), 1);
  });

  it("a record rewritten since the last sweep (its client came back meanwhile) starts the count again", async () => {
    const { put, sweep, has } = setup();
    put("back", { b: DEAD, e: 1, d: 0 });
    await sweep.sweep(10_000);
    put("back", { b: DEAD, e: 1, d: 0 }); // a new revision
    assert.equal(await sweep.sweep(10_000 + EVERY), 0);
    assert.ok(has("back"));
  });
});
