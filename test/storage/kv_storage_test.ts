/**
 * The storage suite on Deno KV through the running runtime's adapter (Deno.openKv on Deno, @deno/kv on Bun and
 * Node), on temporary files; then what only KV has: opening bad files, the schema key, the key layout, chunks,
 * commit limits, sweeping orphans, and damage that load must name.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { openKvStorage } from "../../adapters/mod.ts";
import { type KvAtomicLike, type KvLike, KvStorage } from "../../src/storage/kv_storage.ts";
import type { Storage } from "../../src/storage/storage.ts";
import { runStorageSuite } from "./storage_suite.ts";
import { closeQuietly, kvHarness, openRawKv, tempDir, withRawKv } from "./_kv_files.ts";
import { bytes, inflight, message, queued, session } from "./_fixtures.ts";

runStorageSuite("denokv", kvHarness, { persistent: true, corruptible: true });

async function rawEntries(kv: KvLike): Promise<Array<{ key: unknown[]; value: unknown }>> {
  const out = [];
  for await (const e of kv.list({ prefix: ["comqtt"] })) out.push({ key: [...e.key], value: e.value });
  return out;
}

/** A KV file for one test: `open()` gives storage on it, everything is closed and removed at the end. */
async function withKvFile(fn: (path: string, open: () => Promise<Storage>) => Promise<void>): Promise<void> {
  const tmp = tempDir();
  const opened: Storage[] = [];
  try {
    await fn(tmp.file(), async () => {
      const s = await openKvStorage(tmp.file());
      opened.push(s);
      return s;
    });
  } finally {
    for (const s of opened) await closeQuietly(s);
    tmp.remove();
  }
}

describe("denokv: opening", () => {
  it("a file of random bytes is refused at open with an error naming the path", async () => {
    const tmp = tempDir();
    try {
      const path = tmp.file("garbage.db");
      writeFileSync(path, bytes(8192, 5));
      await assert.rejects(openKvStorage(path), (err: Error) => {
        assert.match(err.message, /^Cannot open the KV database ".*garbage\.db": file is not a database$/);
        return true;
      });
      const text = tmp.file("notes.db");
      writeFileSync(text, "this is a text file, not a database\n");
      await assert.rejects(
        openKvStorage(text),
        /Cannot open the KV database ".*notes\.db": file is not a database/,
      );
    } finally {
      tmp.remove();
    }
  });

  it("a path in a missing folder and an empty path are refused", async () => {
    const tmp = tempDir();
    try {
      await assert.rejects(
        openKvStorage(`${tmp.dir}/no/such/folder/x.db`),
        /Cannot open the KV database ".*x\.db"/,
      );
      await assert.rejects(openKvStorage(""), /the path is empty/);
    } finally {
      tmp.remove();
    }
  });
});

describe("denokv: schema key", () => {
  it("a new database gets the schema key on load; other keys in the KV are left alone", () =>
    withKvFile(async (path, open) => {
      await withRawKv(path, (kv) => kv.atomic().set(["someone", "else"], new Uint8Array([1])).commit());
      const s = await open();
      assert.deepEqual(await s.load(), { sessions: [], retained: [], wills: [] });
      await s.close();
      await withRawKv(path, async (kv) => {
        const entries = await rawEntries(kv);
        assert.deepEqual(entries.map((e) => e.key), [["comqtt", "schema"]]);
        assert.equal(
          new TextDecoder().decode(entries[0].value as Uint8Array),
          '{"app":"comqtt-ts","layout":1}',
        );
        assert.deepEqual([...(await kv.get(["someone", "else"])).value as Uint8Array], [1]);
      });
    }));

  it("a newer layout is refused with a clear error", () =>
    withKvFile(async (path, open) => {
      const newer = new TextEncoder().encode('{"app":"comqtt-ts","layout":2}');
      await withRawKv(path, (kv) => kv.atomic().set(["comqtt", "schema"], newer).commit());
      const s = await open();
      await assert.rejects(s.load(), /uses storage layout 2, newer than this build reads \(1\)/);
      await assert.rejects(s.apply([{ type: "retainedDelete", topic: "a" }]), /layout 2, newer/);
    }));

  it("records without a schema key are refused by load and apply, never read as empty", () =>
    withKvFile(async (path, open) => {
      const s = await open();
      await s.apply([{ type: "retained", message: message("a") }]);
      await s.close();
      await withRawKv(path, (kv) => kv.atomic().delete(["comqtt", "schema"]).commit());
      const again = await open();
      await assert.rejects(again.load(), /holds comqtt-ts records but no schema key \["comqtt","schema"\]/);
      await assert.rejects(again.apply([]), /no schema key/);
    }));

  it("a schema value that is not ours is refused", () =>
    withKvFile(async (path, open) => {
      await withRawKv(path, (kv) =>
        kv.atomic().set(["comqtt", "schema"], new TextEncoder().encode("{}")).commit());
      await assert.rejects(
        (await open()).load(),
        /the schema record at \["comqtt","schema"\] was not written by comqtt-ts/,
      );
    }));
});

describe("denokv: key layout and values", () => {
  it("writes the documented keys, every value as bytes", () =>
    withKvFile(async (path, open) => {
      const s = await open();
      await s.apply([
        { type: "session", session: session("c1") },
        { type: "inflight", clientId: "c1", entry: inflight(7) },
        { type: "queued", clientId: "c1", entry: queued(3) },
        { type: "incoming", clientId: "c1", packetId: 9 },
        { type: "retained", message: message("a/b") },
        {
          type: "will",
          will: {
            clientId: "c1",
            will: message("w"),
            at: 1,
            info: { id: "c1", remoteAddress: "x", listener: "t", protocolVersion: 4 },
          },
        },
      ]);
      await s.close();
      await withRawKv(path, async (kv) => {
        const entries = await rawEntries(kv);
        assert.deepEqual(
          entries.map((e) => e.key).sort((a, b) => JSON.stringify(a) < JSON.stringify(b) ? -1 : 1),
          [
            ["comqtt", "i", "c1", 7],
            ["comqtt", "n", "c1", 9],
            ["comqtt", "q", "c1", 3],
            ["comqtt", "r", "a/b"],
            ["comqtt", "s", "c1"],
            ["comqtt", "schema"],
            ["comqtt", "w", "c1"],
          ],
        );
        for (const e of entries) {
          assert.ok(e.value instanceof Uint8Array, `${JSON.stringify(e.key)} holds bytes`);
        }
      });
    }));

  it("a client id past 1000 bytes is keyed by its 32-byte SHA-256", () =>
    withKvFile(async (path, open) => {
      const s = await open();
      await s.apply([{ type: "session", session: session("é".repeat(600)) }]);
      await s.close();
      await withRawKv(path, async (kv) => {
        const keys = (await rawEntries(kv)).map((e) => e.key).filter((k) => k[1] === "s");
        assert.equal(keys.length, 1);
        assert.ok(keys[0][2] instanceof Uint8Array && keys[0][2].length === 32);
      });
    }));

  it("a 1 MiB record is split into 64 KiB chunks written before its pointer; old chunks go when it is replaced", () =>
    withKvFile(async (path, open) => {
      const s = await open();
      await s.apply([{ type: "retained", message: message("big", bytes(1024 * 1024, 2)) }]);
      const chunks = async () =>
        await withRawKv(path, async (kv) => (await rawEntries(kv)).filter((e) => e.key[1] === "b"));
      const first = await chunks();
      assert.equal(first.length, 17); // 1 MiB of payload plus the record header, in 65536-byte chunks
      assert.ok(first.every((e) => (e.value as Uint8Array).length <= 65_536));
      await s.apply([{ type: "retained", message: message("big", bytes(1024 * 1024, 3)) }]);
      const second = await chunks();
      assert.equal(second.length, 17);
      assert.notDeepEqual(second[0].key[2], first[0].key[2]);
      await s.apply([{ type: "retainedDelete", topic: "big" }]);
      assert.deepEqual(await chunks(), []);
    }));

  it("an apply over the KV's per-commit limits (mutations, bytes) is split into several commits", () =>
    withKvFile(async (_path, open) => {
      const s = await open();
      const ops = [
        { type: "session" as const, session: session("c1") },
        ...Array.from({ length: 2500 }, (_, seq) => ({
          type: "queued" as const,
          clientId: "c1",
          entry: queued(seq, { message: message("t/" + "k".repeat(900), bytes(2000, seq + 1)) }),
        })),
      ];
      await s.apply(ops);
      const q = (await s.load()).sessions[0].queued;
      assert.equal(q.length, 2500);
      assert.deepEqual(q[1234].message.payload, bytes(2000, 1235));
    }));
});

describe("denokv: damage and orphans", () => {
  async function damagedLoad(setup: (kv: KvLike) => Promise<unknown>, pattern: RegExp): Promise<void> {
    await withKvFile(async (path, open) => {
      const s = await open();
      await s.apply([
        { type: "session", session: session("c1") },
        { type: "inflight", clientId: "c1", entry: inflight(1, { message: message("big", bytes(200_000)) }) },
        { type: "retained", message: message("ok") },
      ]);
      await s.close();
      await withRawKv(path, setup);
      await assert.rejects((await open()).load(), pattern);
    });
  }

  it("a missing chunk names the record and the chunk", () =>
    damagedLoad(
      async (kv) => {
        const chunk = (await rawEntries(kv)).find((e) => e.key[1] === "b" && e.key[3] === 1)!;
        await kv.atomic().delete(chunk.key as [string, string, number, number]).commit();
      },
      /Cannot load the record at \["comqtt","i","c1",1\]: chunk 1 of 4 \(\["comqtt","b",\d+,1\]\) is missing/,
    ));

  it("a value that is not bytes names its key", () =>
    damagedLoad(
      (kv) => kv.atomic().set(["comqtt", "r", "ok"], "a string" as unknown as Uint8Array).commit(),
      /damaged at \["comqtt","r","ok"\]: its value is not bytes \(found string\)/,
    ));

  it("a key outside the layout names its key", () =>
    damagedLoad(
      (kv) => kv.atomic().set(["comqtt", "zz", 1], new Uint8Array(1)).commit(),
      /damaged at \["comqtt","zz",1\]: it is not a key of this layout/,
    ));

  it("a record under another record's key names the key", () =>
    damagedLoad(async (kv) => {
      const s = await kv.get(["comqtt", "s", "c1"]);
      await kv.atomic().set(["comqtt", "s", "c2"], s.value as Uint8Array).commit();
    }, /damaged at \["comqtt","s","c2"\]: it holds client id "c1", which belongs elsewhere/));

  it("a record with a bad field names the key and the field", () =>
    damagedLoad(
      async (kv) => {
        const header = '{"t":"ok","q":7,"r":false,"at":1,"n":0}';
        const value = new Uint8Array(6 + header.length);
        value.set([1, 0x4d, 0, 0, 0, header.length]);
        value.set(new TextEncoder().encode(header), 6);
        await kv.atomic().set(["comqtt", "r", "ok"], value).commit();
      },
      /Cannot decode the stored message record at \["comqtt","r","ok"\]: field "q" must be an integer from 0 to 2, found 7/,
    ));

  it("orphans are swept by load: chunks no record points to, records of a client without a session", () =>
    withKvFile(async (path, open) => {
      await withRawKv(path, (kv) =>
        kv.atomic()
          .set(["comqtt", "schema"], new TextEncoder().encode('{"app":"comqtt-ts","layout":1}'))
          .set(["comqtt", "b", 12345, 0], new Uint8Array(10))
          .set(["comqtt", "n", "ghost", 4], new Uint8Array(0))
          .commit());
      const s = await open();
      assert.deepEqual(await s.load(), { sessions: [], retained: [], wills: [] });
      await s.close();
      await withRawKv(path, async (kv) => {
        assert.deepEqual((await rawEntries(kv)).map((e) => e.key), [["comqtt", "schema"]]);
      });
    }));
});

/** A KV handle that records the keys of each commit and throws instead of committing number `failAt` (1-based). */
function recordingKv(kv: KvLike, failAt = 0): KvLike & { commits: string[][] } {
  const commits: string[][] = [];
  return {
    commits,
    get: (key) => kv.get(key),
    list: (selector, options) => kv.list(selector, options),
    close: () => kv.close(),
    atomic() {
      const inner = kv.atomic();
      const keys: string[] = [];
      const op: KvAtomicLike = {
        set(key, value) {
          keys.push(`set ${JSON.stringify(key[1] === "b" ? ["comqtt", "b", "*", key[3]] : key)}`);
          inner.set(key, value);
          return op;
        },
        delete(key) {
          keys.push(`delete ${JSON.stringify(key[1] === "b" ? ["comqtt", "b", "*", key[3]] : key)}`);
          inner.delete(key);
          return op;
        },
        commit() {
          commits.push(keys);
          if (commits.length === failAt) return Promise.reject(new Error("power cut"));
          return inner.commit();
        },
      };
      return op;
    },
  };
}

describe("denokv: crash safety of chunked records", () => {
  it("chunks are committed before the pointer to them, and old chunks deleted only after it is replaced", () =>
    withKvFile(async (path) => {
      const kv = recordingKv(await openRawKv(path));
      const s = new KvStorage(kv);
      try {
        await s.load();
        await s.apply([{ type: "retained", message: message("big", bytes(1024 * 1024, 1)) }]);
        await s.apply([{ type: "retained", message: message("big", bytes(10, 1)) }]);
        const [, first, second, third] = kv.commits;
        const chunkSets = Array.from({ length: 17 }, (_, i) => `set ["comqtt","b","*",${i}]`);
        // 1 MiB does not fit in one commit (800 KiB): 12 chunks, then 5 chunks and the pointer.
        assert.deepEqual([...first, ...second], [...chunkSets, 'set ["comqtt","r","big"]']);
        assert.equal(first.length, 12);
        assert.deepEqual(third, [
          'set ["comqtt","r","big"]',
          ...chunkSets.map((k) => k.replace("set", "delete")),
        ]);
      } finally {
        await s.close();
      }
    }));

  it("a crash between the commits of a chunked record leaves the old record, and load sweeps the new chunks", () =>
    withKvFile(async (path, open) => {
      const before = await open();
      await before.apply([{ type: "retained", message: message("big", bytes(100, 1)) }]);
      await before.close();
      const kv = recordingKv(await openRawKv(path), 2);
      const crashing = new KvStorage(kv);
      await assert.rejects(
        crashing.apply([{ type: "retained", message: message("big", bytes(1024 * 1024, 2)) }]),
        /power cut/,
      );
      await crashing.close();
      assert.equal(kv.commits.length, 2, "the first commit (12 chunks) landed, the second did not");
      await withRawKv(path, async (raw) => {
        assert.equal((await rawEntries(raw)).filter((e) => e.key[1] === "b").length, 12);
      });
      const after = await open();
      assert.deepEqual((await after.load()).retained, [message("big", bytes(100, 1))]);
      await after.close();
      await withRawKv(path, async (raw) => {
        assert.deepEqual((await rawEntries(raw)).filter((e) => e.key[1] === "b"), []);
      });
    }));
});
