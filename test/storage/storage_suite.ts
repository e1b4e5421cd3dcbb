/**
 * The one storage suite: every backend runs it (memory_storage_test.ts, kv_storage_test.ts). It checks the
 * {@link Storage} contract as the broker relies on it: each operation, order within one apply, sessionDelete,
 * large payloads, unicode, properties, copies, reopening and corruption.
 * @module
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Storage, StorageOp, StoredSessionState, StoredState } from "../../src/storage/storage.ts";
import { bytes, inflight, message, queued, richMessage, session, sorted, will } from "./_fixtures.ts";

/** One backend instance for one test. */
export interface StorageHarness {
  /** The storage under test (after `reopen` or `corrupt`, the one they returned). */
  storage: Storage;
  /** Persistent backends: close the storage and open the same store again. */
  reopen?: () => Promise<Storage>;
  /**
   * Backends whose data can be damaged from outside: close the storage, overwrite the stored retained message of
   * `topic` with bytes that are not a record, open it again; returns the new storage and text the error must hold.
   */
  corrupt?: (topic: string) => Promise<{ storage: Storage; where: string }>;
  /** Close whatever is open and remove what the harness made. */
  cleanup(): Promise<void>;
}

const EMPTY: StoredState = { sessions: [], retained: [], wills: [] };

function withSubs(
  s: ReturnType<typeof session>,
  extra: Partial<StoredSessionState> = {},
): StoredSessionState {
  return { ...s, inflight: [], queued: [], incoming: [], ...extra };
}

/** What a backend can do beyond the contract, so the suite registers the tests for it. */
export interface StorageFeatures {
  /** The harness has `reopen`: data outlives closing. */
  persistent?: boolean;
  /** The harness has `corrupt`. */
  corruptible?: boolean;
}

/** Register the suite for one backend; `make` gives a fresh, empty harness per test. */
export function runStorageSuite(
  name: string,
  make: () => Promise<StorageHarness>,
  features: StorageFeatures = {},
): void {
  async function withHarness(fn: (h: StorageHarness) => Promise<void>): Promise<void> {
    const h = await make();
    try {
      await fn(h);
    } finally {
      await h.cleanup();
    }
  }
  const test = (title: string, fn: (h: StorageHarness) => Promise<void>) => it(title, () => withHarness(fn));

  describe(`storage suite: ${name}`, () => {
    test("an empty store loads as empty state, twice", async (h) => {
      assert.deepEqual(await h.storage.load(), EMPTY);
      assert.deepEqual(await h.storage.load(), EMPTY);
    });

    test("a session round-trips with every subscription option; a second put replaces it", async (h) => {
      await h.storage.apply([{ type: "session", session: session("c1") }]);
      assert.deepEqual((await h.storage.load()).sessions, [withSubs(session("c1"))]);
      const next = session("c1", { expiryInterval: 0xffff_ffff, subscriptions: [] });
      delete next.disconnectedAt;
      await h.storage.apply([{ type: "session", session: next }]);
      assert.deepEqual((await h.storage.load()).sessions, [withSubs(next)]);
    });

    test("inflight entries: put, overwrite to pubrel, delete; subscription ids kept", async (h) => {
      await h.storage.apply([
        { type: "session", session: session("c1") },
        { type: "inflight", clientId: "c1", entry: inflight(1, { subscriptionIds: [5, 9] }) },
        { type: "inflight", clientId: "c1", entry: inflight(2, { qos: 2, retain: true }) },
        { type: "inflight", clientId: "c1", entry: inflight(3) },
      ]);
      await h.storage.apply([
        { type: "inflight", clientId: "c1", entry: inflight(2, { qos: 2, retain: true, state: "pubrel" }) },
        { type: "inflightDelete", clientId: "c1", packetId: 3 },
        { type: "inflightDelete", clientId: "c1", packetId: 999 },
      ]);
      assert.deepEqual((await h.storage.load()).sessions[0].inflight, [
        inflight(1, { subscriptionIds: [5, 9] }),
        inflight(2, { qos: 2, retain: true, state: "pubrel" }),
      ]);
    });

    test("MQTT-4.6.0-1 inflight loads in first-stored order across packet id wrap-around; overwrite keeps place", async (h) => {
      await h.storage.apply([{ type: "session", session: session("c1") }]);
      for (const id of [65_534, 65_535, 1, 2]) {
        await h.storage.apply([{ type: "inflight", clientId: "c1", entry: inflight(id) }]);
      }
      await h.storage.apply([{
        type: "inflight",
        clientId: "c1",
        entry: inflight(65_535, { state: "pubrel" }),
      }]);
      await h.storage.apply([
        { type: "inflightDelete", clientId: "c1", packetId: 65_534 },
        { type: "inflight", clientId: "c1", entry: inflight(65_534) },
      ]);
      const ids = (await h.storage.load()).sessions[0].inflight.map((e) => `${e.packetId}:${e.state}`);
      assert.deepEqual(ids, ["65535:pubrel", "1:publish", "2:publish", "65534:publish"]);
    });

    test("queued entries load in seq order whatever the write order; deletes remove one", async (h) => {
      await h.storage.apply([
        { type: "session", session: session("c1") },
        ...[10, 2, 5, 2 ** 40, 0].map((seq): StorageOp => ({
          type: "queued",
          clientId: "c1",
          entry: queued(seq),
        })),
        { type: "queuedDelete", clientId: "c1", seq: 5 },
        { type: "queued", clientId: "c1", entry: queued(7, { qos: 0, retain: true, subscriptionIds: [1] }) },
      ]);
      const q = (await h.storage.load()).sessions[0].queued;
      assert.deepEqual(q.map((e) => e.seq), [0, 2, 7, 10, 2 ** 40]);
      assert.deepEqual(q[2], queued(7, { qos: 0, retain: true, subscriptionIds: [1] }));
    });

    test("bridge queues: per bridge, in seq order, a delete removes one, an emptied queue is not loaded", async (h) => {
      await h.storage.apply([
        ...[3, 1, 2 ** 40, 2].map((seq): StorageOp => ({
          type: "bridgeQueued",
          bridge: "cloud",
          entry: queued(seq),
        })),
        { type: "bridgeQueued", bridge: "edge-2", entry: queued(1, { qos: 2 }) },
        { type: "bridgeQueuedDelete", bridge: "cloud", seq: 2 },
        { type: "bridgeQueuedDelete", bridge: "cloud", seq: 99 },
      ]);
      const state = await h.storage.load();
      assert.deepEqual(state.sessions, []);
      const byName = new Map((state.bridges ?? []).map((b) => [b.bridge, b.queued]));
      assert.deepEqual(byName.get("cloud")?.map((e) => e.seq), [1, 3, 2 ** 40]);
      assert.deepEqual(byName.get("edge-2"), [queued(1, { qos: 2 })]);
      await h.storage.apply([{ type: "bridgeQueuedDelete", bridge: "edge-2", seq: 1 }]);
      assert.deepEqual((await h.storage.load()).bridges?.map((b) => b.bridge), ["cloud"]);
      // A bridge queue belongs to no session: deleting a session of the same name leaves it.
      await h.storage.apply([{ type: "sessionDelete", clientId: "cloud" }]);
      assert.equal((await h.storage.load()).bridges?.[0].queued.length, 3);
    });

    test("incoming QoS 2 packet ids: put twice is one, delete removes, loaded ascending", async (h) => {
      await h.storage.apply([
        { type: "session", session: session("c1") },
        ...[300, 7, 7, 65_535, 1].map((packetId): StorageOp => ({
          type: "incoming",
          clientId: "c1",
          packetId,
        })),
        { type: "incomingDelete", clientId: "c1", packetId: 300 },
      ]);
      assert.deepEqual((await h.storage.load()).sessions[0].incoming, [1, 7, 65_535]);
    });

    test("retained messages: unicode topics, replace, delete", async (h) => {
      const topics = ["sensör/温度/🌡️", "a/b", "$SYS/not/really", "a//b/", " spaced topic "];
      await h.storage.apply(topics.map((t): StorageOp => ({ type: "retained", message: richMessage(t) })));
      await h.storage.apply([
        { type: "retained", message: message("a/b", bytes(3, 9), { retain: true }) },
        { type: "retainedDelete", topic: "a//b/" },
        { type: "retainedDelete", topic: "never/stored" },
      ]);
      const expected = [
        richMessage("sensör/温度/🌡️"),
        message("a/b", bytes(3, 9), { retain: true }),
        richMessage("$SYS/not/really"),
        richMessage(" spaced topic "),
      ];
      assert.deepEqual(
        sorted(await h.storage.load()).retained,
        sorted({ ...EMPTY, retained: expected }).retained,
      );
    });

    test("wills: with and without username, replace, delete; sessionDelete leaves the will", async (h) => {
      await h.storage.apply([
        { type: "will", will: will("c1") },
        { type: "will", will: will("c2", undefined) },
        { type: "will", will: { ...will("c3"), at: 5 } },
        { type: "willDelete", clientId: "c3" },
        { type: "sessionDelete", clientId: "c1" },
      ]);
      assert.deepEqual(sorted(await h.storage.load()).wills, [will("c1"), will("c2", undefined)]);
    });

    test("expiry fields round-trip: receivedAt, message expiry, session expiry, disconnectedAt, will delay", async (h) => {
      const m = message("exp", bytes(4), {
        receivedAt: 1_234_567_890_123,
        properties: { messageExpiryInterval: 0 },
      });
      const s = session("c1", { expiryInterval: 0xffff_ffff, disconnectedAt: 0 });
      await h.storage.apply([
        { type: "session", session: s },
        { type: "queued", clientId: "c1", entry: queued(1, { message: m }) },
        { type: "will", will: { ...will("c1"), at: 1_999_999_999_999 } },
      ]);
      const state = await h.storage.load();
      assert.deepEqual(state.sessions, [withSubs(s, { queued: [queued(1, { message: m })] })]);
      assert.equal(state.wills[0].at, 1_999_999_999_999);
      assert.equal(state.wills[0].will.properties?.willDelayInterval, 30);
    });

    test("properties keep user property order and duplicates, and correlation data bytes", async (h) => {
      await h.storage.apply([
        { type: "session", session: session("c1") },
        { type: "inflight", clientId: "c1", entry: inflight(1, { message: richMessage() }) },
        { type: "retained", message: richMessage() },
      ]);
      const state = await h.storage.load();
      for (const m of [state.sessions[0].inflight[0].message, state.retained[0]]) {
        assert.deepEqual(m, richMessage());
        assert.deepEqual(m.properties?.userProperties, [["b", "1"], ["a", "2"], ["b", "3"], [
          "ключ",
          "значение",
        ]]);
        assert.deepEqual([...m.properties!.correlationData!], [0x00, 0xff, 0x10, 0x00]);
      }
    });

    test("payloads: empty, and a view into a larger buffer stores only the view's bytes", async (h) => {
      const big = bytes(100, 3);
      await h.storage.apply([
        { type: "retained", message: message("empty", new Uint8Array(0)) },
        { type: "retained", message: message("view", big.subarray(10, 20)) },
      ]);
      const byTopic = new Map((await h.storage.load()).retained.map((m) => [m.topic, m.payload]));
      assert.deepEqual(byTopic.get("empty"), new Uint8Array(0));
      assert.deepEqual(byTopic.get("view"), big.slice(10, 20));
    });

    test("large payloads (1 MiB) round-trip in retained, queued and inflight records, and can shrink and go", async (h) => {
      const mib = bytes(1024 * 1024, 7);
      const big = message("big", mib);
      await h.storage.apply([
        { type: "session", session: session("c1") },
        { type: "retained", message: big },
        { type: "queued", clientId: "c1", entry: queued(1, { message: big }) },
        { type: "inflight", clientId: "c1", entry: inflight(1, { message: big }) },
      ]);
      let state = await h.storage.load();
      assert.deepEqual(state.retained, [big]);
      assert.deepEqual(state.sessions[0].queued[0].message.payload, mib);
      assert.deepEqual(state.sessions[0].inflight[0].message.payload, mib);
      await h.storage.apply([
        { type: "retained", message: message("big", bytes(5)) },
        { type: "retained", message: message("big", bytes(200_000, 8)) },
        { type: "queuedDelete", clientId: "c1", seq: 1 },
      ]);
      state = await h.storage.load();
      assert.deepEqual(state.retained, [message("big", bytes(200_000, 8))]);
      assert.deepEqual(state.sessions[0].queued, []);
      await h.storage.apply([{ type: "sessionDelete", clientId: "c1" }, {
        type: "retainedDelete",
        topic: "big",
      }]);
      assert.deepEqual(await h.storage.load(), EMPTY);
    });

    test("operations within one apply take effect in order", async (h) => {
      await h.storage.apply([
        { type: "retained", message: message("x") },
        { type: "retainedDelete", topic: "x" },
        { type: "retainedDelete", topic: "y" },
        { type: "retained", message: message("y") },
        { type: "session", session: session("c1") },
        { type: "inflight", clientId: "c1", entry: inflight(1) },
        { type: "sessionDelete", clientId: "c1" },
        { type: "session", session: session("c1", { expiryInterval: 1 }) },
        { type: "queued", clientId: "c1", entry: queued(3) },
      ]);
      const state = await h.storage.load();
      assert.deepEqual(state.retained, [message("y")]);
      assert.deepEqual(state.sessions, [
        withSubs(session("c1", { expiryInterval: 1 }), { queued: [queued(3)] }),
      ]);
    });

    test("sessionDelete removes the session with its inflight, queued and incoming records, and nothing else", async (h) => {
      const both = (c: string): StorageOp[] => [
        { type: "session", session: session(c) },
        { type: "inflight", clientId: c, entry: inflight(1) },
        { type: "queued", clientId: c, entry: queued(1) },
        { type: "incoming", clientId: c, packetId: 1 },
        { type: "will", will: will(c) },
      ];
      await h.storage.apply([...both("c1"), ...both("c10"), { type: "retained", message: message("r") }]);
      await h.storage.apply([
        { type: "inflight", clientId: "c1", entry: inflight(2) },
        { type: "sessionDelete", clientId: "c1" },
        { type: "sessionDelete", clientId: "nobody" },
      ]);
      const state = sorted(await h.storage.load());
      assert.deepEqual(state.sessions, [
        withSubs(session("c10"), { inflight: [inflight(1)], queued: [queued(1)], incoming: [1] }),
      ]);
      assert.deepEqual(state.wills.map((w) => w.clientId), ["c1", "c10"]);
      assert.deepEqual(state.retained, [message("r")]);
    });

    test("records of a client without a session record are not loaded", async (h) => {
      await h.storage.apply([
        { type: "inflight", clientId: "ghost", entry: inflight(1) },
        { type: "queued", clientId: "ghost", entry: queued(1) },
        { type: "incoming", clientId: "ghost", packetId: 1 },
      ]);
      assert.deepEqual(await h.storage.load(), EMPTY);
      await h.storage.apply([{ type: "session", session: session("ghost") }]);
      assert.deepEqual((await h.storage.load()).sessions, [withSubs(session("ghost"))]);
    });

    test("long client ids and topics (beyond a KV key) work, sessionDelete included", async (h) => {
      const id = "client-" + "x".repeat(3000);
      const topic = "t/" + "é".repeat(40_000);
      await h.storage.apply([
        { type: "session", session: session(id) },
        { type: "inflight", clientId: id, entry: inflight(4) },
        { type: "retained", message: message(topic) },
        { type: "will", will: will(id) },
      ]);
      let state = await h.storage.load();
      assert.deepEqual(state.sessions, [withSubs(session(id), { inflight: [inflight(4)] })]);
      assert.deepEqual(state.retained, [message(topic)]);
      assert.equal(state.wills[0].clientId, id);
      await h.storage.apply([{ type: "sessionDelete", clientId: id }, { type: "retainedDelete", topic }]);
      state = await h.storage.load();
      assert.deepEqual([state.sessions, state.retained], [[], []]);
    });

    test("thousands of operations in one apply all land", async (h) => {
      const ops: StorageOp[] = [{ type: "session", session: session("c1") }];
      for (let seq = 0; seq < 3000; seq++) {
        ops.push({
          type: "queued",
          clientId: "c1",
          entry: queued(seq, { message: message("q", bytes(1024, seq + 1)) }),
        });
      }
      await h.storage.apply(ops);
      const q = (await h.storage.load()).sessions[0].queued;
      assert.equal(q.length, 3000);
      assert.deepEqual(q[2999].message.payload, bytes(1024, 3000));
      await h.storage.apply([{ type: "sessionDelete", clientId: "c1" }]);
      assert.deepEqual(await h.storage.load(), EMPTY);
    });

    test("stored state is copied in and out: changing ops or loaded objects changes nothing stored", async (h) => {
      const m = richMessage("copy");
      const s = session("c1");
      await h.storage.apply([{ type: "retained", message: m }, { type: "session", session: s }]);
      m.payload[0] = 99;
      m.properties!.userProperties!.push(["z", "z"]);
      s.subscriptions.pop();
      const first = await h.storage.load();
      assert.deepEqual(first.retained, [richMessage("copy")]);
      first.retained[0].payload.fill(7);
      first.retained[0].properties!.correlationData![0] = 5;
      first.sessions[0].subscriptions.length = 0;
      const second = await h.storage.load();
      assert.deepEqual(second.retained, [richMessage("copy")]);
      assert.deepEqual(second.sessions, [withSubs(session("c1"))]);
    });

    test("apply and load reject once the storage is closed", async (h) => {
      await h.storage.close();
      await assert.rejects(h.storage.apply([{ type: "retainedDelete", topic: "a" }]), /closed/);
      await assert.rejects(h.storage.load(), /closed/);
    });

    if (features.persistent) {
      test("reopening keeps everything", async (h) => {
        assert.ok(h.reopen, "a persistent backend's harness has reopen()");
        const ops: StorageOp[] = [
          { type: "session", session: session("c1") },
          { type: "inflight", clientId: "c1", entry: inflight(65_535, { message: richMessage() }) },
          {
            type: "inflight",
            clientId: "c1",
            entry: inflight(1, { message: message("big", bytes(300_000, 4)) }),
          },
          { type: "queued", clientId: "c1", entry: queued(2) },
          { type: "incoming", clientId: "c1", packetId: 9 },
          { type: "retained", message: richMessage() },
          { type: "will", will: will("c1") },
          { type: "bridgeQueued", bridge: "cloud", entry: queued(4, { message: richMessage() }) },
        ];
        await h.storage.apply(ops);
        const before = sorted(await h.storage.load());
        assert.equal(before.bridges?.[0].queued[0].seq, 4);
        h.storage = await h.reopen();
        assert.deepEqual(sorted(await h.storage.load()), before);
        assert.deepEqual(before.sessions[0].inflight.map((e) => e.packetId), [65_535, 1]);
        // Writes after a reopen keep going where the last run stopped.
        await h.storage.apply([{ type: "inflight", clientId: "c1", entry: inflight(2) }]);
        h.storage = await h.reopen();
        const ids = (await h.storage.load()).sessions[0].inflight.map((e) => e.packetId);
        assert.deepEqual(ids, [65_535, 1, 2]);
      });
    }

    if (features.corruptible) {
      test("a damaged record makes load reject with an error naming it", async (h) => {
        assert.ok(h.corrupt, "a corruptible backend's harness has corrupt()");
        await h.storage.apply([{ type: "retained", message: message("fine") }, {
          type: "retained",
          message: message("to/be/damaged"),
        }]);
        const { storage, where } = await h.corrupt("to/be/damaged");
        h.storage = storage;
        await assert.rejects(storage.load(), (err: Error) => {
          assert.ok(err.message.includes(where), `"${err.message}" should name ${where}`);
          return true;
        });
      });
    }
  });
}
