import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { allocBytes, BytePool, copyBytes } from "./byte_pool.ts";

describe("BytePool", () => {
  it("cuts zeroed views that never overlap, across slabs", () => {
    const pool = new BytePool(64, 16);
    const views = Array.from({ length: 20 }, (_, i) => pool.alloc(1 + (i % 16)));
    for (const v of views) assert.ok(v.every((b) => b === 0));
    views.forEach((v, i) => v.fill(i + 1));
    views.forEach((v, i) => assert.ok(v.every((b) => b === i + 1), `view ${i} was overwritten`));
    assert.ok(new Set(views.map((v) => v.buffer)).size > 1, "a full slab was followed by a new one");
  });

  it("gives arrays above its maximum their own buffer", () => {
    const pool = new BytePool(64, 16);
    const big = pool.alloc(17);
    assert.equal(big.byteLength, 17);
    assert.equal(big.buffer.byteLength, 17);
  });

  it("copies bytes into a pooled array", () => {
    const source = new Uint8Array([1, 2, 3]);
    const copy = copyBytes(source);
    assert.deepEqual([...copy], [1, 2, 3]);
    source[0] = 9;
    assert.equal(copy[0], 1);
    assert.equal(allocBytes(5).byteLength, 5);
  });
});
