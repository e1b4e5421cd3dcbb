import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { VerifyGate } from "./verify_gate.ts";

describe("VerifyGate", () => {
  it("runs at most `concurrency` checks at once, first in first out, and refuses past maxQueued", async () => {
    const gate = new VerifyGate({ concurrency: 2, maxQueued: 2 });
    const order: number[] = [];
    const release: Array<() => void> = [];
    const run = (i: number) =>
      gate.run(() =>
        new Promise<number>((resolve) => {
          order.push(i);
          release.push(() => resolve(i));
        })
      );
    const all = [run(0), run(1), run(2), run(3)];
    const refused = await run(4);
    assert.equal(refused, undefined, "the fifth waits for no turn");
    await new Promise((r) => setTimeout(r, 0));
    assert.deepEqual(order, [0, 1]);
    assert.equal(gate.running, 2);
    assert.equal(gate.queued, 2);
    release[0]();
    await new Promise((r) => setTimeout(r, 0));
    assert.deepEqual(order, [0, 1, 2]);
    release[1]();
    release[2]();
    await new Promise((r) => setTimeout(r, 0));
    release[3]();
    assert.deepEqual(await Promise.all(all), [0, 1, 2, 3]);
    assert.equal(gate.running, 0);
  });

  it("frees the slot when a check throws", async () => {
    const gate = new VerifyGate({ concurrency: 1 });
    await assert.rejects(gate.run(() => Promise.reject(new Error("boom"))), /boom/);
    assert.equal(await gate.run(() => Promise.resolve(7)), 7);
    assert.throws(() => new VerifyGate({ concurrency: 0 }), /concurrency 0/);
  });
});
