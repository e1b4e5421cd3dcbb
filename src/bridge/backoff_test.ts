import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { backoffDelay } from "./backoff.ts";

describe("backoffDelay", () => {
  const opts = { minDelayMs: 100, maxDelayMs: 5_000 };
  it("doubles per failure within the jitter band and stops at the cap", () => {
    assert.equal(backoffDelay(0, opts, () => 0), 50);
    assert.equal(backoffDelay(0, opts, () => 1), 100);
    assert.equal(backoffDelay(3, opts, () => 1), 800);
    assert.equal(backoffDelay(3, opts, () => 0), 400);
    assert.equal(backoffDelay(20, opts, () => 1), 5_000);
    assert.equal(backoffDelay(1_000, opts, () => 0.5), 3_750);
  });
  it("spreads retries: two random draws give different delays", () => {
    const seen = new Set<number>();
    for (let i = 0; i < 20; i++) seen.add(backoffDelay(5, opts));
    assert.ok(seen.size > 1, `expected jitter, got ${[...seen]}`);
    for (const d of seen) assert.ok(d >= 1_600 && d <= 3_200, `${d} outside [1600, 3200]`);
  });
});
