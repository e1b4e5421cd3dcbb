import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_HIGH_WATER_MARK, Outbox } from "./_outbox.ts";

describe("Outbox", () => {
  it("hands back a single chunk as is and several chunks as one copy, in order", () => {
    const outbox = new Outbox(1024);
    assert.equal(outbox.take(), undefined);
    const one = new Uint8Array([1, 2, 3]);
    outbox.push(one, 0);
    assert.equal(outbox.take(), one);
    outbox.push(new Uint8Array([1, 2]), 0);
    outbox.push(new Uint8Array(0), 0);
    outbox.push(new Uint8Array([3]), 0);
    assert.equal(outbox.size, 3);
    assert.deepEqual(outbox.take(), new Uint8Array([1, 2, 3]));
    assert.equal(outbox.size, 0);
    assert.equal(outbox.take(), undefined);
  });

  it("counts unsent bytes toward the high-water mark and stays blocked until drained", () => {
    const outbox = new Outbox(100);
    assert.equal(outbox.lowWaterMark, 50);
    assert.equal(outbox.push(new Uint8Array(60), 40), true, "60 + 40 is not above 100");
    assert.equal(outbox.push(new Uint8Array(1), 40), false, "101 is above 100");
    assert.equal(outbox.blocked, true);
    outbox.take();
    assert.equal(outbox.push(new Uint8Array(1), 0), false, "still blocked although under the mark");
    assert.equal(outbox.drained(50), false, "1 + 50 is above the low-water mark");
    assert.equal(outbox.drained(49), true);
    assert.equal(outbox.drained(0), false, "drained is reported once");
    assert.equal(outbox.push(new Uint8Array(1), 0), true);
  });

  it("never reports drained when it was not blocked", () => {
    const outbox = new Outbox(100);
    outbox.push(new Uint8Array(10), 0);
    assert.equal(outbox.drained(0), false);
  });

  it("clear() drops what is queued", () => {
    const outbox = new Outbox(100);
    outbox.push(new Uint8Array(10), 0);
    outbox.clear();
    assert.equal(outbox.size, 0);
    assert.equal(outbox.take(), undefined);
  });

  it("defaults to 1 MiB", () => {
    assert.equal(DEFAULT_HIGH_WATER_MARK, 1024 * 1024);
  });
});
