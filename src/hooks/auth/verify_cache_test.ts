import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { VerifyCache } from "./verify_cache.ts";

const pw = (s: string) => new TextEncoder().encode(s);

describe("VerifyCache", () => {
  it("remembers a success for the same user, hash and password only", async () => {
    const cache = new VerifyCache({ ttlMs: 1000, now: () => 0 });
    assert.equal(await cache.has("alice", "$h1", pw("secret")), false);
    await cache.add("alice", "$h1", pw("secret"));
    assert.equal(await cache.has("alice", "$h1", pw("secret")), true);
    assert.equal(await cache.has("alice", "$h1", pw("Secret")), false, "other password");
    assert.equal(await cache.has("alice", "$h2", pw("secret")), false, "changed hash");
    assert.equal(await cache.has("bob", "$h1", pw("secret")), false, "other user");
  });

  it("forgets after the TTL", async () => {
    let now = 1000;
    const cache = new VerifyCache({ ttlMs: 500, now: () => now });
    await cache.add("alice", "$h", pw("p"));
    now = 1499;
    assert.equal(await cache.has("alice", "$h", pw("p")), true);
    now = 1500;
    assert.equal(await cache.has("alice", "$h", pw("p")), false);
    assert.equal(cache.size, 0, "the expired entry is dropped on lookup");
  });

  it("holds at most maxEntries, dropping the oldest", async () => {
    const cache = new VerifyCache({ ttlMs: 1000, maxEntries: 2, now: () => 0 });
    await cache.add("a", "$h", pw("p"));
    await cache.add("b", "$h", pw("p"));
    await cache.add("c", "$h", pw("p"));
    assert.equal(cache.size, 2);
    assert.equal(await cache.has("a", "$h", pw("p")), false);
    assert.equal(await cache.has("b", "$h", pw("p")), true);
    assert.equal(await cache.has("c", "$h", pw("p")), true);
    cache.clear();
    assert.equal(cache.size, 0);
  });

  it("two caches do not share keys (a MAC from one is meaningless to the other)", async () => {
    const a = new VerifyCache({ ttlMs: 1000 });
    const b = new VerifyCache({ ttlMs: 1000 });
    await a.add("u", "$h", pw("p"));
    assert.equal(await b.has("u", "$h", pw("p")), false);
    assert.equal(await a.has("u", "$h", pw("p")), true);
  });
});
