import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DecisionCache } from "./decision_cache.ts";

describe("DecisionCache", () => {
  it("answers within the ttl, counts hits and misses, keeps expired entries for stale()", () => {
    let now = 0;
    const cache = new DecisionCache<string>({ ttlMs: 1000, maxEntries: 10, now: () => now });
    assert.equal(cache.get("k"), undefined);
    cache.set("k", "allow");
    now = 999;
    assert.equal(cache.get("k"), "allow");
    now = 1000;
    assert.equal(cache.get("k"), undefined, "expired");
    assert.equal(cache.stale("k"), "allow", "still there for a failing backend");
    assert.deepEqual([cache.hits, cache.misses], [1, 2]);
  });

  it("a shorter ttl per entry (credentials that expire sooner), never a longer one", () => {
    let now = 0;
    const cache = new DecisionCache<number>({ ttlMs: 1000, maxEntries: 10, now: () => now });
    cache.set("short", 1, 100);
    cache.set("long", 2, 5000);
    now = 150;
    assert.equal(cache.get("short"), undefined);
    now = 1001;
    assert.equal(cache.get("long"), undefined);
  });

  it("drops the oldest past its size, and stores nothing with ttl 0", () => {
    const cache = new DecisionCache<number>({ ttlMs: 1000, maxEntries: 2 });
    cache.set("a", 1);
    cache.set("b", 2);
    cache.set("a", 3); // refreshed: now the newest
    cache.set("c", 4);
    assert.equal(cache.size, 2);
    assert.equal(cache.get("b"), undefined);
    assert.equal(cache.get("a"), 3);
    const off = new DecisionCache<number>({ ttlMs: 0, maxEntries: 10 });
    off.set("a", 1);
    assert.equal(off.size, 0);
    assert.equal(off.enabled, false);
  });

  it("refuses a negative ttl or size", () => {
    assert.throws(() => new DecisionCache({ ttlMs: -1, maxEntries: 1 }), /ttl of -1/);
    assert.throws(() => new DecisionCache({ ttlMs: 1, maxEntries: 1.5 }), /size of 1.5/);
  });
});
