import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { applyQueueOps, decodeQueueOps, encodeQueueOps, type QueueOp, queueState } from "./queue_codec.ts";

const message = (payload: string) => ({
  topic: "a/b",
  payload: new TextEncoder().encode(payload),
  qos: 1 as const,
  retain: false,
  properties: { userProperties: [["k", "v"]] as [string, string][] },
  receivedAt: 1000,
});

describe("queue codec", () => {
  it("round-trips every kind of change and replays them into the session's state", () => {
    const ops: QueueOp[] = [
      { type: "queued", clientId: "c", entry: { seq: 1, message: message("one"), qos: 1, retain: false } },
      { type: "queued", clientId: "c", entry: { seq: 2, message: message("two"), qos: 2, retain: true } },
      {
        type: "inflight",
        clientId: "c",
        entry: { packetId: 7, message: message("flying"), qos: 2, retain: false, state: "publish" },
      },
      { type: "incoming", clientId: "c", packetId: 9 },
      { type: "queuedDelete", clientId: "c", seq: 1 },
      {
        type: "inflight",
        clientId: "c",
        entry: { packetId: 7, message: message("flying"), qos: 2, retain: false, state: "pubrel" },
      },
      { type: "incomingDelete", clientId: "c", packetId: 9 },
      { type: "incoming", clientId: "c", packetId: 10 },
    ];
    const decoded = decodeQueueOps(encodeQueueOps(ops), "c");
    assert.equal(decoded.length, ops.length);
    assert.deepEqual(decoded.map((o) => o.type), ops.map((o) => o.type));
    const records = new Map<string, QueueOp>();
    applyQueueOps(records, decoded);
    const state = queueState(records);
    assert.deepEqual(
      state.queued.map((q) => [q.seq, new TextDecoder().decode(q.message.payload), q.retain]),
      [
        [2, "two", true],
      ],
    );
    assert.equal(state.inflight.length, 1);
    assert.equal(state.inflight[0]!.state, "pubrel");
    assert.deepEqual(state.inflight[0]!.message.properties, { userProperties: [["k", "v"]] });
    assert.deepEqual(state.incoming, [10]);
  });

  it("an empty list is an empty message, and bad bytes give an error naming the client", () => {
    assert.equal(encodeQueueOps([]).length, 0);
    assert.deepEqual(decodeQueueOps(new Uint8Array(0), "c"), []);
    assert.throws(() => decodeQueueOps(new Uint8Array([0x69, 0, 0, 0, 9, 1]), "dev-1"), /queue of "dev-1"/);
    assert.throws(() => decodeQueueOps(new Uint8Array([0x58, 0, 0, 0, 0]), "dev-1"), /unknown entry tag/);
  });
});
