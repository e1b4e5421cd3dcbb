import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { BridgeQueue } from "./bridge_queue.ts";
import type { QoS } from "../packets/types.ts";

function msg(topic: string, size = 10, qos: QoS = 1) {
  return { topic, payload: new Uint8Array(size), qos, retain: false, receivedAt: 0 };
}

function topics(q: BridgeQueue): string[] {
  return [...q.entries()].map((e) => e.message.topic);
}

describe("BridgeQueue", () => {
  it("hands entries out in order, removes them only on ack, and resends unacked ones after rewind", () => {
    const q = new BridgeQueue({ maxMessages: 10, maxBytes: 1000, policy: "drop-oldest" });
    for (const t of ["a", "b", "c"]) q.push(msg(t), 1, false);
    const a = q.takeNext()!;
    const b = q.takeNext()!;
    assert.deepEqual([a.message.topic, b.message.topic], ["a", "b"]);
    assert.equal(q.ack(b.seq), true);
    assert.deepEqual(topics(q), ["a", "c"]);
    q.rewind();
    assert.deepEqual([q.takeNext()?.message.topic, q.takeNext()?.message.topic, q.takeNext()], [
      "a",
      "c",
      undefined,
    ]);
    assert.equal(q.ack(b.seq), false);
  });

  it("when full drops the oldest QoS 0 first, then the oldest entry (drop-oldest)", () => {
    const q = new BridgeQueue({ maxMessages: 3, maxBytes: 1000, policy: "drop-oldest" });
    q.push(msg("q1"), 1, false);
    q.push(msg("z", 10, 0), 0, false);
    q.push(msg("q2"), 1, false);
    const r1 = q.push(msg("q3"), 1, false);
    assert.deepEqual(r1.dropped.map((e) => e.message.topic), ["z"]);
    const r2 = q.push(msg("q4"), 1, false);
    assert.equal(r2.accepted, true);
    assert.deepEqual(r2.dropped.map((e) => e.message.topic), ["q1"]);
    assert.deepEqual(topics(q), ["q2", "q3", "q4"]);
  });

  it("refuse-new refuses a QoS 1 message that does not fit, counting bytes too", () => {
    const q = new BridgeQueue({ maxMessages: 100, maxBytes: 35, policy: "refuse-new" });
    assert.equal(q.push(msg("a", 10), 1, false).accepted, true);
    assert.equal(q.push(msg("b", 10, 0), 0, false).accepted, true);
    assert.equal(q.canTake(21), true, "the QoS 0 message can make room");
    assert.equal(q.push(msg("c", 20), 1, false).accepted, true);
    assert.deepEqual(topics(q), ["a", "c"]);
    assert.equal(q.canTake(11), false);
    const r = q.push(msg("d", 10), 1, false);
    assert.equal(r.accepted, false);
    assert.equal(q.bytes, 32);
    assert.equal(q.push(msg("huge", 100), 1, false).accepted, false);
  });

  it("starts from a stored queue and continues its sequence numbers", () => {
    const stored = [3, 7].map((seq) => ({ seq, message: msg(`s${seq}`), qos: 1 as QoS, retain: false }));
    const q = new BridgeQueue({ maxMessages: 10, maxBytes: 1000, policy: "drop-oldest" }, stored);
    const { entry } = q.push(msg("new"), 1, false);
    assert.equal(entry?.seq, 8);
    assert.deepEqual(topics(q), ["s3", "s7", "new"]);
  });

  it("stays consistent through many pushes and acks (compaction)", () => {
    const q = new BridgeQueue({ maxMessages: 20_000, maxBytes: 1e9, policy: "drop-oldest" });
    let expected = 0;
    for (let i = 0; i < 20_000; i++) {
      q.push(msg(`t${i}`), 1, false);
      if (i % 3 !== 0) {
        const e = q.takeNext()!;
        assert.equal(e.message.topic, `t${expected++}`);
        q.ack(e.seq);
      }
    }
    assert.equal(q.size, 20_000 - expected);
    assert.equal(q.takeNext()?.message.topic, `t${expected}`);
  });
});
