/**
 * The storage suite on SQLite through the running runtime's adapter (bun:sqlite on Bun, node:sqlite on Node and
 * Deno), on temporary files; then what only SQLite has: the pragmas, opening bad files, the schema record,
 * atomic batches, sweeping orphans, and damage that load must name.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { openSqliteStorage } from "../../adapters/mod.ts";
import { SqliteStorage } from "../../src/storage/sqlite_storage.ts";
import type { Storage } from "../../src/storage/storage.ts";
import { runStorageSuite } from "./storage_suite.ts";
import { closeQuietly, tempDir } from "./_kv_files.ts";
import { openRawSqlite, sqliteHarness, withRawSqlite } from "./_sqlite_files.ts";
import { bytes, inflight, message, queued, session } from "./_fixtures.ts";

runStorageSuite("sqlite", sqliteHarness, { persistent: true, corruptible: true });

/** A SQLite file for one test: `open()` gives storage on it, everything is closed and removed at the end. */
async function withDbFile(fn: (path: string, open: () => Promise<Storage>) => Promise<void>): Promise<void> {
  const tmp = tempDir();
  const opened: Storage[] = [];
  try {
    await fn(tmp.file("store.sqlite"), async () => {
      const s = await openSqliteStorage(tmp.file("store.sqlite"));
      opened.push(s);
      return s;
    });
  } finally {
    for (const s of opened) await closeQuietly(s);
    tmp.remove();
  }
}

function one(db: Awaited<ReturnType<typeof openRawSqlite>>, sql: string): unknown {
  return Object.values(db.prepare(sql).all()[0] as Record<string, unknown>)[0];
}

describe("sqlite: opening", () => {
  it("sets WAL, synchronous=FULL and a busy timeout on the storage's own connection", () =>
    withDbFile(async (path) => {
      const db = await openRawSqlite(path);
      try {
        const storage = new SqliteStorage(db);
        assert.equal(one(db, "PRAGMA journal_mode"), "wal");
        assert.equal(one(db, "PRAGMA synchronous"), 2); // FULL
        assert.equal(one(db, "PRAGMA busy_timeout"), 5000);
        assert.deepEqual(await storage.load(), { sessions: [], retained: [], wills: [] });
      } finally {
        db.close();
      }
      // WAL is a property of the file: a later connection sees it too.
      await withRawSqlite(path, (raw) => assert.equal(one(raw, "PRAGMA journal_mode"), "wal"));
    }));

  it("synchronous=normal can be asked for", () =>
    withDbFile(async (path) => {
      await withRawSqlite(path, (db) => {
        new SqliteStorage(db, { synchronous: "normal" });
        assert.equal(one(db, "PRAGMA synchronous"), 1);
      });
    }));

  it("a file of random bytes or text is refused at open with an error naming the path", async () => {
    const tmp = tempDir();
    try {
      const path = tmp.file("garbage.db");
      writeFileSync(path, bytes(8192, 5));
      await assert.rejects(
        openSqliteStorage(path),
        /^Error: Cannot open the SQLite database ".*garbage\.db": .*not a database/,
      );
      const text = tmp.file("notes.db");
      writeFileSync(text, "this is a text file, not a database\n".repeat(200));
      await assert.rejects(
        openSqliteStorage(text),
        /Cannot open the SQLite database ".*notes\.db": .*not a database/,
      );
    } finally {
      tmp.remove();
    }
  });

  it("a path in a missing folder and an empty path are refused", async () => {
    const tmp = tempDir();
    try {
      await assert.rejects(
        openSqliteStorage(`${tmp.dir}/no/such/folder/x.db`),
        /Cannot open the SQLite database ".*x\.db": .*unable to open/i,
      );
      await assert.rejects(openSqliteStorage(""), /the path is empty/);
    } finally {
      tmp.remove();
    }
  });
});

describe("sqlite: schema record", () => {
  it("a new database gets the tables and the schema record; other tables are left alone", () =>
    withDbFile(async (path, open) => {
      await withRawSqlite(path, (db) => {
        db.exec("CREATE TABLE someone_else (x INTEGER)");
        db.exec("INSERT INTO someone_else VALUES (7)");
      });
      const s = await open();
      assert.deepEqual(await s.load(), { sessions: [], retained: [], wills: [] });
      await s.close();
      await withRawSqlite(path, (db) => {
        assert.equal(
          one(db, "SELECT value FROM comqtt_meta WHERE key = 'schema'"),
          '{"app":"comqtt-ts","layout":1}',
        );
        assert.equal(one(db, "SELECT x FROM someone_else"), 7);
      });
    }));

  it("a newer layout is refused at open with a clear error", () =>
    withDbFile(async (path, open) => {
      await (await open()).close();
      await withRawSqlite(path, (db) => {
        db.exec(`UPDATE comqtt_meta SET value = '{"app":"comqtt-ts","layout":2}' WHERE key = 'schema'`);
      });
      await assert.rejects(
        open(),
        /".*store\.sqlite": the database uses storage layout 2, newer than this build reads \(1\)/,
      );
    }));

  it("tables without a schema record, a foreign schema record or a missing table are refused, never read as empty", () =>
    withDbFile(async (path, open) => {
      const s = await open();
      await s.apply([{ type: "retained", message: message("a") }]);
      await s.close();
      await withRawSqlite(path, (db) => db.exec("DELETE FROM comqtt_meta"));
      await assert.rejects(
        open(),
        /holds comqtt-ts tables \(comqtt_bridge_queued, comqtt_incoming, .*\) but no schema record in comqtt_meta/,
      );
      await withRawSqlite(path, (db) => db.exec(`INSERT INTO comqtt_meta VALUES ('schema', '{}')`));
      await assert.rejects(open(), /the schema record in comqtt_meta was not written by comqtt-ts/);
      await withRawSqlite(path, (db) => {
        db.exec(`UPDATE comqtt_meta SET value = '{"app":"comqtt-ts","layout":1}'`);
        db.exec("DROP TABLE comqtt_wills");
      });
      await assert.rejects(open(), /table comqtt_wills is missing/);
    }));
});

describe("sqlite: batches and records", () => {
  it("an apply that fails half-way writes nothing of its batch", () =>
    withDbFile(async (_path, open) => {
      const s = await open();
      await s.apply([{ type: "retained", message: message("kept") }]);
      const bad = { type: "nonsense" } as unknown as Parameters<Storage["apply"]>[0][number];
      await assert.rejects(
        s.apply([
          { type: "retained", message: message("lost") },
          { type: "session", session: session("c1") },
          bad,
        ]),
        /Cannot apply storage operation of type "nonsense"/,
      );
      const state = await s.load();
      assert.deepEqual(state.retained.map((m) => m.topic), ["kept"]);
      assert.deepEqual(state.sessions, []);
      // The connection is usable after the rollback.
      await s.apply([{ type: "retainedDelete", topic: "kept" }]);
      assert.deepEqual((await s.load()).retained, []);
    }));

  it("load deletes records of clients without a session row", () =>
    withDbFile(async (path, open) => {
      const s = await open();
      await s.apply([
        { type: "session", session: session("c1") },
        { type: "inflight", clientId: "ghost", entry: inflight(1) },
        { type: "queued", clientId: "ghost", entry: queued(1) },
        { type: "incoming", clientId: "ghost", packetId: 1 },
        { type: "queued", clientId: "c1", entry: queued(2) },
      ]);
      assert.equal((await s.load()).sessions[0].queued.length, 1);
      await s.close();
      await withRawSqlite(path, (db) => {
        const count = (t: string) => one(db, `SELECT COUNT(*) FROM ${t} WHERE client = 'ghost'`);
        assert.deepEqual(["comqtt_inflight", "comqtt_queued", "comqtt_incoming"].map(count), [0, 0, 0]);
        assert.equal(one(db, "SELECT COUNT(*) FROM comqtt_queued"), 1);
      });
    }));

  it("damage is named by table and key: a record under the wrong key, a text value, a bad packet id", () =>
    withDbFile(async (path, open) => {
      const s = await open();
      await s.apply([
        { type: "session", session: session("c1") },
        { type: "inflight", clientId: "c1", entry: inflight(5) },
        { type: "retained", message: message("r") },
      ]);
      await s.close();
      await withRawSqlite(path, (db) => db.exec("UPDATE comqtt_inflight SET packet_id = 6"));
      await assert.rejects(
        (await open()).load(),
        /damaged at comqtt_inflight\["c1",6\]: it holds packet id 5, which belongs elsewhere/,
      );
      await withRawSqlite(path, (db) => db.exec("UPDATE comqtt_inflight SET packet_id = 70000"));
      await assert.rejects(
        (await open()).load(),
        /comqtt_inflight\["c1"\]: packet_id must be an integer from 1 to 65535/,
      );
      await withRawSqlite(path, (db) => {
        db.exec("DELETE FROM comqtt_inflight");
        db.exec("UPDATE comqtt_retained SET record = 'text'");
      });
      await assert.rejects(
        (await open()).load(),
        /damaged at comqtt_retained\["r"\]: its record is not a blob \(found string\)/,
      );
      await withRawSqlite(path, (db) => db.exec("UPDATE comqtt_retained SET topic = 'elsewhere'"));
      await assert.rejects((await open()).load(), /comqtt_retained\["elsewhere"\]/);
    }));
});
