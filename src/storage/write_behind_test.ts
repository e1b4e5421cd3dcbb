import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../clock.ts";
import type { LogFields, Logger } from "../logger.ts";
import { WriteBehind } from "./write_behind.ts";
import type { Storage, StorageOp, StoredState } from "./storage.ts";

/** A storage that records each apply; `hold` makes applies wait for `release`, `failures` makes them reject. */
class RecordingStorage implements Storage {
  readonly name = "recording";
  batches: StorageOp[][] = [];
  failures = 0;
  /** Ops that make any apply containing them fail (a bad operation, not an outage). */
  poison: (op: StorageOp) => boolean = () => false;
  hold = false;
  #release: Array<() => void> = [];

  async apply(ops: readonly StorageOp[]): Promise<void> {
    if (this.hold) await new Promise<void>((resolve) => this.#release.push(resolve));
    if (this.failures > 0) {
      this.failures--;
      throw new Error("disk on fire");
    }
    if (ops.some(this.poison)) throw new Error("cannot encode this one");
    this.batches.push([...ops]);
  }

  release(): void {
    const waiting = this.#release;
    this.#release = [];
    for (const r of waiting) r();
  }

  load(): Promise<StoredState> {
    return Promise.resolve({ sessions: [], retained: [], wills: [] });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

class RecordingLogger implements Logger {
  errors: Array<{ message: string; fields?: LogFields }> = [];
  debug(): void {}
  info(): void {}
  warn(): void {}
  error(message: string, fields?: LogFields): void {
    this.errors.push({ message, fields });
  }
}

/** Let pending promise callbacks run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 0));
}

function setup(options: { maxDelayMs?: number; maxBatch?: number } = {}) {
  const storage = new RecordingStorage();
  const clock = new FakeClock();
  const logger = new RecordingLogger();
  const writer = new WriteBehind(storage, { clock, logger, ...options });
  return { storage, clock, logger, writer };
}

const del = (topic: string): StorageOp => ({ type: "retainedDelete", topic });
const msg = { payload: new Uint8Array(1), qos: 1 as const, retain: false, receivedAt: 1 };
const put = (topic: string, n = 0): StorageOp => ({
  type: "retained",
  message: { topic, ...msg, receivedAt: n },
});
const inflight = (
  clientId: string,
  packetId: number,
  state: "publish" | "pubrel" = "publish",
): StorageOp => ({
  type: "inflight",
  clientId,
  entry: { packetId, message: { topic: "t", ...msg }, qos: 1, retain: false, state },
});

describe("WriteBehind", () => {
  it("writes nothing before maxDelayMs, then one batch; flushed() resolves once it is durable", async () => {
    const { storage, clock, writer } = setup({ maxDelayMs: 5 });
    let done = false;
    writer.push(put("a"));
    writer.push(put("b"));
    void writer.flushed().then(() => done = true);
    clock.advance(4);
    await settle();
    assert.deepEqual([storage.batches.length, done, writer.backlog], [0, false, 2]);
    clock.advance(1);
    await settle();
    assert.deepEqual(storage.batches, [[put("a"), put("b")]]);
    assert.deepEqual([done, writer.backlog], [true, 0]);
    await writer.flushed();
  });

  it("writes at once when maxBatch operations are pending", async () => {
    const { storage, writer } = setup({ maxBatch: 3 });
    writer.push(put("a"));
    writer.push(put("b"));
    await settle();
    assert.equal(storage.batches.length, 0);
    writer.push(put("c"));
    await settle();
    assert.equal(storage.batches.length, 1);
  });

  it("runs one apply at a time; operations pushed meanwhile go to the next batch", async () => {
    const { storage, clock, writer } = setup();
    storage.hold = true;
    writer.push(put("a"));
    clock.advance(5);
    await settle();
    writer.push(put("b"));
    writer.push(put("c"));
    const second = writer.flushed();
    clock.advance(100);
    await settle();
    assert.equal(storage.batches.length, 0, "the first apply still runs");
    storage.release();
    await settle();
    storage.release();
    await second;
    assert.deepEqual(storage.batches, [[put("a")], [put("b"), put("c")]]);
  });

  it("flushed() waits only for operations pushed before it", async () => {
    const { storage, clock, writer } = setup();
    storage.hold = true;
    writer.push(put("a"));
    const first = writer.flushed();
    clock.advance(5);
    await settle();
    writer.push(put("b"));
    storage.release();
    await first;
    assert.equal(writer.backlog, 1);
    storage.release();
    await settle();
    storage.release();
    await writer.flushed();
    assert.equal(writer.backlog, 0);
  });

  it("coalesces a put and a later put of the same record into the last, in the first one's place", async () => {
    const { storage, writer } = setup();
    writer.push(inflight("c", 1));
    writer.push(inflight("c", 2));
    writer.push(inflight("c", 1, "pubrel"));
    writer.push(put("r", 1));
    writer.push(put("r", 2));
    await writer.flush();
    assert.deepEqual(storage.batches, [[inflight("c", 1, "pubrel"), inflight("c", 2), put("r", 2)]]);
  });

  it("a delete drops a pending put but stays; a put after a delete keeps both", async () => {
    const { storage, writer } = setup();
    writer.push({
      type: "queued",
      clientId: "c",
      entry: { seq: 1, message: { topic: "t", ...msg }, qos: 1, retain: false },
    });
    writer.push(inflight("c", 1));
    writer.push({ type: "queuedDelete", clientId: "c", seq: 1 });
    writer.push({ type: "inflightDelete", clientId: "c", packetId: 1 });
    writer.push({ type: "inflightDelete", clientId: "c", packetId: 1 });
    writer.push(del("x"));
    writer.push(put("x"));
    await writer.flush();
    assert.deepEqual(storage.batches, [[
      { type: "queuedDelete", clientId: "c", seq: 1 },
      { type: "inflightDelete", clientId: "c", packetId: 1 },
      del("x"),
      put("x"),
    ]]);
  });

  it("a fresh put and its delete cancel out; other deletes of pending puts stay; flushed() resolves", async () => {
    const { storage, writer } = setup();
    const inflightDelete = (packetId: number): StorageOp => ({
      type: "inflightDelete",
      clientId: "c",
      packetId,
    });
    writer.push(inflight("c", 1), true);
    writer.push(inflight("c", 1, "pubrel")); // an update of the pending fresh record keeps it fresh
    writer.push(inflightDelete(1));
    writer.push(put("x"));
    writer.push(del("x")); // not fresh: "x" may be stored from before
    writer.push(inflightDelete(2));
    writer.push(inflight("c", 2), true);
    writer.push(inflightDelete(2)); // the earlier delete of 2 stays, no second one
    await writer.flush();
    assert.deepEqual(storage.batches, [[del("x"), inflightDelete(2)]]);
    writer.push(inflight("c", 3), true);
    writer.push(inflightDelete(3));
    let done = false;
    void writer.flushed().then(() => done = true);
    await settle();
    assert.deepEqual(
      [done, writer.backlog, storage.batches.length],
      [true, 0, 1],
      "nothing to write or wait for",
    );
    // Once the fresh put was taken into a batch, the record is stored: its delete is written.
    writer.push(inflight("c", 4), true);
    await writer.flush();
    writer.push(inflightDelete(4));
    await writer.flush();
    assert.deepEqual(storage.batches.slice(1), [[inflight("c", 4)], [inflightDelete(4)]]);
  });

  it("sessionDelete drops that client's pending session, inflight, queued and incoming ops only", async () => {
    const { storage, writer } = setup();
    const session = (clientId: string): StorageOp => ({
      type: "session",
      session: { clientId, expiryInterval: 10, subscriptions: [] },
    });
    writer.push(session("c"));
    writer.push(inflight("c", 1));
    writer.push({ type: "incoming", clientId: "c", packetId: 3 });
    writer.push(inflight("other", 1));
    writer.push({ type: "willDelete", clientId: "c" });
    writer.push({ type: "sessionDelete", clientId: "c" });
    writer.push(inflight("c", 2));
    writer.push({ type: "sessionDelete", clientId: "c" });
    writer.push(session("c"));
    await writer.flush();
    assert.deepEqual(storage.batches, [[
      inflight("other", 1),
      { type: "willDelete", clientId: "c" },
      { type: "sessionDelete", clientId: "c" },
      session("c"),
    ]]);
  });

  it("a failed apply is logged and retried with back-off, keeping its operations; flushed() waits", async () => {
    const { storage, clock, logger, writer } = setup();
    storage.failures = 2;
    let done = false;
    writer.push(put("a"));
    void writer.flushed().then(() => done = true);
    clock.advance(5);
    await settle();
    assert.equal(logger.errors.length, 1);
    assert.equal(logger.errors[0].message, "storage write failed; retrying");
    assert.deepEqual(logger.errors[0].fields, {
      storage: "recording",
      ops: 1,
      attempt: 1,
      error: "disk on fire",
      retryInMs: 10,
    });
    writer.push(put("b"));
    clock.advance(10);
    await settle();
    assert.deepEqual([logger.errors.length, logger.errors[1].fields?.retryInMs, done], [2, 20, false]);
    clock.advance(19);
    await settle();
    assert.equal(done, false);
    clock.advance(1);
    await settle();
    assert.equal(done, true);
    assert.deepEqual(storage.batches, [[put("a")], [put("b")]]);
  });

  it("after three failed batches, the good operations before a failing one are written; none is dropped", async () => {
    const { storage, clock, logger, writer } = setup();
    let bad = true;
    storage.poison = (op) => bad && op.type === "retainedDelete" && op.topic === "bad";
    let done = false;
    writer.push(put("a"));
    writer.push({ type: "retainedDelete", topic: "bad" });
    writer.push(put("c"));
    void writer.flushed().then(() => done = true);
    clock.advance(5); // attempt 1
    await settle();
    clock.advance(10); // attempt 2
    await settle();
    clock.advance(20); // attempt 3 fails, then one by one up to the failing operation
    await settle();
    assert.deepEqual(storage.batches, [[put("a")]]);
    // The failing operation (and what follows it, in order) is kept: its acknowledgement still waits.
    for (let i = 0; i < 6; i++) {
      clock.advance(5_000);
      await settle();
    }
    assert.equal(done, false);
    assert.equal(logger.errors.some((e) => /dropped/.test(e.message)), false);
    assert.equal(logger.errors.at(-1)?.fields?.ops, 2);
    bad = false; // the failure was transient
    clock.advance(5_000);
    await settle();
    assert.equal(done, true);
    assert.deepEqual(storage.batches, [[put("a")], [{ type: "retainedDelete", topic: "bad" }, put("c")]]);
  });

  it("reports pressure past maxPending operations and relief once half are written", async () => {
    const events: boolean[] = [];
    const storage = new RecordingStorage();
    const clock = new FakeClock();
    const writer = new WriteBehind(storage, {
      clock,
      logger: new RecordingLogger(),
      maxPending: 4,
      onPressure: (behind) => events.push(behind),
    });
    storage.hold = true;
    for (let i = 0; i < 4; i++) writer.push(put(`t${i}`));
    assert.deepEqual([events, writer.behind], [[], false]);
    writer.push(put("t4"));
    assert.deepEqual([events, writer.behind, writer.backlog], [[true], true, 5]);
    writer.push(put("t5"));
    assert.deepEqual(events, [true], "reported once");
    clock.advance(5);
    await settle();
    storage.release();
    await settle();
    clock.advance(5);
    await settle();
    storage.release();
    await writer.flushed();
    assert.deepEqual([events, writer.behind, writer.backlog], [[true, false], false, 0]);
  });

  it("when every operation fails on its own too, nothing is dropped and the batch keeps being retried", async () => {
    const { storage, clock, writer } = setup();
    storage.failures = 1_000;
    let done = false;
    writer.push(put("a"));
    writer.push(put("b"));
    void writer.flushed().then(() => done = true);
    for (let i = 0; i < 12; i++) {
      clock.advance(5_000);
      await settle();
    }
    assert.equal(done, false);
    storage.failures = 0;
    clock.advance(5_000);
    await settle();
    assert.equal(done, true);
    assert.deepEqual(storage.batches, [[put("a"), put("b")]]);
  });

  it("close() writes what is pending, then push throws", async () => {
    const { storage, writer } = setup({ maxDelayMs: 1000 });
    writer.push(put("a"));
    await writer.close();
    assert.deepEqual(storage.batches, [[put("a")]]);
    assert.throws(
      () => writer.push(put("b")),
      /Cannot write to recording storage: the write-behind is closed/,
    );
  });

  it("flushed() with nothing pending resolves at once", async () => {
    const { storage, writer } = setup();
    await writer.flushed();
    assert.deepEqual(storage.batches, []);
  });
});
