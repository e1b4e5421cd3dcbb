/**
 * The SQLite storage backend, over an opened synchronous SQLite handle: `bun:sqlite` on Bun, `node:sqlite` on
 * Node and Deno (the adapters in `adapters/<runtime>/sqlite.ts` open it). It goes where Deno KV cannot: `@deno/kv`
 * has no build for some platforms (linux-arm64), and SQLite is built into Bun and Node.
 *
 * Tables and pragmas: see _sqlite_schema.ts. `apply` runs every operation of one call as statements in one
 * transaction (`BEGIN IMMEDIATE` … `COMMIT`), in order, so a batch lands whole or not at all; `load` reads
 * everything in one transaction. Values are the record codec's bytes, as in Deno KV.
 *
 * The bindings are synchronous: a commit blocks the event loop for its fsync. The broker writes behind in
 * batches, so that is one commit per batch.
 * @module
 */

import type { Storage, StorageOp, StoredState } from "./storage.ts";
import type { SqliteLike, SqliteStatementLike } from "./sqlite_like.ts";
import { prepareDatabase, rollback, type SqliteSynchronous } from "./_sqlite_schema.ts";
import { loadSqlite } from "./_sqlite_load.ts";
import { encodeInflight, encodeMessage, encodeQueued, encodeSession, encodeWill } from "./record_codec.ts";

export type { SqliteLike, SqliteStatementLike, SqliteValue } from "./sqlite_like.ts";
export type { SqliteSynchronous } from "./_sqlite_schema.ts";

/** Options of {@link SqliteStorage}. */
export interface SqliteStorageOptions {
  /** Name in logs. Default `sqlite`. */
  name?: string;
  /** `PRAGMA synchronous`: `full` (default: an acknowledged message survives a power cut) or `normal`. */
  synchronous?: SqliteSynchronous;
}

const SQL = {
  session: "INSERT OR REPLACE INTO comqtt_sessions (client, record) VALUES (?, ?)",
  sessionDelete: "DELETE FROM comqtt_sessions WHERE client = ?",
  // An overwrite (publish -> pubrel) keeps the row's first-stored order stamp.
  inflight: "INSERT INTO comqtt_inflight (client, packet_id, ord, record) VALUES (?, ?, ?, ?) " +
    "ON CONFLICT (client, packet_id) DO UPDATE SET record = excluded.record",
  inflightDelete: "DELETE FROM comqtt_inflight WHERE client = ? AND packet_id = ?",
  inflightDeleteAll: "DELETE FROM comqtt_inflight WHERE client = ?",
  queued: "INSERT OR REPLACE INTO comqtt_queued (client, seq, record) VALUES (?, ?, ?)",
  queuedDelete: "DELETE FROM comqtt_queued WHERE client = ? AND seq = ?",
  queuedDeleteAll: "DELETE FROM comqtt_queued WHERE client = ?",
  bridgeQueued: "INSERT OR REPLACE INTO comqtt_bridge_queued (bridge, seq, record) VALUES (?, ?, ?)",
  bridgeQueuedDelete: "DELETE FROM comqtt_bridge_queued WHERE bridge = ? AND seq = ?",
  incoming: "INSERT OR IGNORE INTO comqtt_incoming (client, packet_id) VALUES (?, ?)",
  incomingDelete: "DELETE FROM comqtt_incoming WHERE client = ? AND packet_id = ?",
  incomingDeleteAll: "DELETE FROM comqtt_incoming WHERE client = ?",
  retained: "INSERT OR REPLACE INTO comqtt_retained (topic, record) VALUES (?, ?)",
  retainedDelete: "DELETE FROM comqtt_retained WHERE topic = ?",
  will: "INSERT OR REPLACE INTO comqtt_wills (client, record) VALUES (?, ?)",
  willDelete: "DELETE FROM comqtt_wills WHERE client = ?",
} as const;

/**
 * Storage in a SQLite database. Opening it sets the pragmas and creates or checks the tables, so a database of
 * another layout or a damaged schema throws from the constructor.
 *
 * @example
 * ```ts
 * // openSqlite from adapters/<runtime>/sqlite.ts: a bun:sqlite or node:sqlite handle
 * const storage = new SqliteStorage(openSqlite("./comqtt.db"), { synchronous: "full" });
 * const state = await storage.load();
 * ```
 */
export class SqliteStorage implements Storage {
  readonly name: string;
  #db: SqliteLike;
  #st: Record<keyof typeof SQL, SqliteStatementLike>;
  #lastOrder: number;
  #closed = false;

  constructor(db: SqliteLike, options: SqliteStorageOptions = {}) {
    this.name = options.name ?? "sqlite";
    this.#db = db;
    this.#lastOrder = prepareDatabase(db, options.synchronous ?? "full");
    const st = {} as Record<keyof typeof SQL, SqliteStatementLike>;
    for (const [k, sql] of Object.entries(SQL)) st[k as keyof typeof SQL] = db.prepare(sql);
    this.#st = st;
  }

  apply(ops: readonly StorageOp[]): Promise<void> {
    return this.#attempt("apply storage operations", () => {
      this.#db.exec("BEGIN IMMEDIATE");
      try {
        for (const op of ops) this.#run(op);
        this.#db.exec("COMMIT");
      } catch (err) {
        rollback(this.#db);
        if (err instanceof TypeError) throw err;
        throw new Error(
          `Cannot write ${ops.length} storage operations to the SQLite database: ${(err as Error).message}`,
          { cause: err },
        );
      }
    });
  }

  load(): Promise<StoredState> {
    return this.#attempt("load", () => loadSqlite(this.#db));
  }

  close(): Promise<void> {
    return this.#attempt("close", () => {
      this.#closed = true;
      this.#db.close();
    });
  }

  /** Run `fn` now (the bindings are synchronous, so calls never interleave) and settle a promise with it. */
  #attempt<T>(action: string, fn: () => T): Promise<T> {
    try {
      if (this.#closed) throw new Error(`Cannot ${action}: the ${this.name} storage is closed`);
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(err);
    }
  }

  #run(op: StorageOp): void {
    const st = this.#st;
    switch (op.type) {
      case "session":
        st.session.run(op.session.clientId, encodeSession(op.session));
        return;
      case "sessionDelete":
        st.inflightDeleteAll.run(op.clientId);
        st.queuedDeleteAll.run(op.clientId);
        st.incomingDeleteAll.run(op.clientId);
        st.sessionDelete.run(op.clientId);
        return;
      case "inflight": {
        // Date-based so that stamps keep rising across restarts even if the clock went back a little.
        const order = this.#lastOrder = Math.max(this.#lastOrder + 1, Date.now() * 1024);
        // The record's own order field is not read back here: the ord column, kept on overwrite, is the truth.
        st.inflight.run(op.clientId, op.entry.packetId, order, encodeInflight(op.entry, order));
        return;
      }
      case "inflightDelete":
        st.inflightDelete.run(op.clientId, op.packetId);
        return;
      case "queued":
        st.queued.run(op.clientId, op.entry.seq, encodeQueued(op.entry));
        return;
      case "queuedDelete":
        st.queuedDelete.run(op.clientId, op.seq);
        return;
      case "incoming":
        st.incoming.run(op.clientId, op.packetId);
        return;
      case "incomingDelete":
        st.incomingDelete.run(op.clientId, op.packetId);
        return;
      case "retained":
        st.retained.run(op.message.topic, encodeMessage(op.message));
        return;
      case "retainedDelete":
        st.retainedDelete.run(op.topic);
        return;
      case "will":
        st.will.run(op.will.clientId, encodeWill(op.will));
        return;
      case "willDelete":
        st.willDelete.run(op.clientId);
        return;
      case "bridgeQueued":
        st.bridgeQueued.run(op.bridge, op.entry.seq, encodeQueued(op.entry));
        return;
      case "bridgeQueuedDelete":
        st.bridgeQueuedDelete.run(op.bridge, op.seq);
        return;
      default:
        throw new TypeError(`Cannot apply storage operation of type "${(op as { type: unknown }).type}"`);
    }
  }
}

/** The error an adapter throws when a SQLite database cannot be opened (not a database, no such folder, ...). */
export function sqliteOpenError(path: string, err: unknown): Error {
  const why = err instanceof Error ? err.message.split("\n")[0] : String(err);
  return new Error(`Cannot open the SQLite database "${path}": ${why}`, { cause: err });
}

/**
 * Broker storage on the database `open()` returns (each runtime's opener): the tables created or checked, and
 * the handle closed again when that fails. Rejects with {@link sqliteOpenError} wording.
 */
export function openSqliteStorageWith(
  open: () => SqliteLike,
  path: string,
  options: SqliteStorageOptions = {},
): Promise<Storage> {
  try {
    const db = open();
    try {
      return Promise.resolve(new SqliteStorage(db, options));
    } catch (err) {
      db.close();
      throw sqliteOpenError(path, err);
    }
  } catch (err) {
    return Promise.reject(err);
  }
}
