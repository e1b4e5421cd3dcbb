/**
 * The tables of the SQLite backend (layout version 1), the pragmas it runs at open, and the check of the schema
 * record that keeps a database of another layout, or a damaged one, from loading as an empty broker.
 *
 * | table              | primary key             | other columns                                           |
 * | ------------------ | ----------------------- | ------------------------------------------------------- |
 * | `comqtt_meta`      | `key` (`schema`)        | `value`: `{"app":"comqtt-ts","layout":1}`               |
 * | `comqtt_sessions`  | `client`                | `record`: session record                                |
 * | `comqtt_inflight`  | `client`, `packet_id`   | `ord`: first-stored order stamp; `record`               |
 * | `comqtt_queued`    | `client`, `seq`         | `record`                                                |
 * | `comqtt_incoming`  | `client`, `packet_id`   | (none: an inbound QoS 2 packet id awaiting PUBREL)      |
 * | `comqtt_retained`  | `topic`                 | `record`: message record                                |
 * | `comqtt_wills`     | `client`                | `record`: will record                                   |
 * | `comqtt_bridge_queued` | `bridge`, `seq`     | `record`: queued record of a bridge's store-and-forward queue |
 *
 * Records are BLOBs from the record codec (record_codec.ts), the same bytes the Deno KV backend stores. Client ids
 * and topics are TEXT keys of any length. The `comqtt_` prefix lets the file hold other tables beside them.
 * @module
 */

import type { SqliteLike } from "./sqlite_like.ts";

/** The layout this build writes and reads. */
export const SQLITE_LAYOUT_VERSION = 1;

/** How hard a commit is pushed to disk; see {@link prepareDatabase}. */
export type SqliteSynchronous = "full" | "normal";

/** How long (ms) a statement waits for a lock another connection holds before it fails with SQLITE_BUSY. */
export const BUSY_TIMEOUT_MS = 5000;

const TABLES: Record<string, string> = {
  comqtt_meta: "(key TEXT PRIMARY KEY, value TEXT NOT NULL)",
  comqtt_sessions: "(client TEXT PRIMARY KEY, record BLOB NOT NULL)",
  comqtt_inflight:
    "(client TEXT NOT NULL, packet_id INTEGER NOT NULL, ord INTEGER NOT NULL, record BLOB NOT NULL, " +
    "PRIMARY KEY (client, packet_id))",
  comqtt_queued:
    "(client TEXT NOT NULL, seq INTEGER NOT NULL, record BLOB NOT NULL, PRIMARY KEY (client, seq))",
  comqtt_incoming:
    "(client TEXT NOT NULL, packet_id INTEGER NOT NULL, PRIMARY KEY (client, packet_id)) WITHOUT ROWID",
  comqtt_retained: "(topic TEXT PRIMARY KEY, record BLOB NOT NULL)",
  comqtt_wills: "(client TEXT PRIMARY KEY, record BLOB NOT NULL)",
  comqtt_bridge_queued:
    "(bridge TEXT NOT NULL, seq INTEGER NOT NULL, record BLOB NOT NULL, PRIMARY KEY (bridge, seq))",
};

/** The schema record's value. */
export function schemaValue(): string {
  return JSON.stringify({ app: "comqtt-ts", layout: SQLITE_LAYOUT_VERSION });
}

/**
 * Set the pragmas, then create the tables in a new database or check the schema record of an existing one.
 * Returns the highest inflight order stamp stored, so that new stamps keep rising across restarts.
 *
 * Durability: WAL journal, and `synchronous=FULL` by default. In WAL mode `NORMAL` already survives a killed
 * process (a commit has reached the OS when COMMIT returns), but a power cut can roll back the last commits,
 * and with `storage.durableAcks` those are messages the broker has acknowledged. `FULL` fsyncs the WAL on every
 * commit, so an acknowledged message survives a power cut as well; the broker batches its writes (write-behind),
 * so that is one fsync per batch, not per message. `NORMAL` is there for measurements and callers who accept it.
 */
export function prepareDatabase(db: SqliteLike, synchronous: SqliteSynchronous = "full"): number {
  // The busy timeout first, so that the statements below wait for a lock instead of failing at once.
  db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
  db.exec("PRAGMA journal_mode = WAL");
  db.exec(`PRAGMA synchronous = ${synchronous === "normal" ? "NORMAL" : "FULL"}`);
  db.exec("BEGIN IMMEDIATE");
  try {
    const present = new Set(
      (db.prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'comqtt\\_%' ESCAPE '\\'",
      )
        .all() as Array<{ name: string }>).map((r) => r.name),
    );
    if (present.size === 0) {
      for (const [name, columns] of Object.entries(TABLES)) db.exec(`CREATE TABLE ${name} ${columns}`);
      db.prepare("INSERT INTO comqtt_meta (key, value) VALUES ('schema', ?)").run(schemaValue());
    } else {
      checkSchema(db, present);
    }
    const max = db.prepare("SELECT MAX(ord) AS m FROM comqtt_inflight").all() as Array<{ m: unknown }>;
    db.exec("COMMIT");
    return typeof max[0]?.m === "number" ? max[0].m : 0;
  } catch (err) {
    rollback(db);
    throw err;
  }
}

function checkSchema(db: SqliteLike, present: Set<string>): void {
  const rows = present.has("comqtt_meta")
    ? db.prepare("SELECT value FROM comqtt_meta WHERE key = 'schema'").all() as Array<{ value: unknown }>
    : [];
  if (rows.length === 0) {
    throw new Error(
      `the database holds comqtt-ts tables (${[...present].sort().join(", ")}) but no schema record in ` +
        "comqtt_meta; it is damaged or was not written by comqtt-ts",
    );
  }
  const layout = parseLayout(rows[0].value);
  if (layout > SQLITE_LAYOUT_VERSION) {
    throw new Error(
      `the database uses storage layout ${layout}, newer than this build reads (${SQLITE_LAYOUT_VERSION}); ` +
        "run a newer comqtt-ts or point it at another database",
    );
  }
  const missing = Object.keys(TABLES).filter((t) => !present.has(t));
  if (missing.length > 0) throw new Error(`the database is damaged: table ${missing.join(", ")} is missing`);
}

function parseLayout(value: unknown): number {
  const bad = (why: string): never => {
    throw new Error(`the schema record in comqtt_meta ${why}`);
  };
  if (typeof value !== "string") return bad(`is not text (found ${value === null ? "null" : typeof value})`);
  let parsed: { app?: unknown; layout?: unknown };
  try {
    parsed = JSON.parse(value);
  } catch {
    return bad("is not valid JSON");
  }
  if (typeof parsed !== "object" || parsed === null || parsed.app !== "comqtt-ts") {
    return bad("was not written by comqtt-ts");
  }
  const layout = parsed.layout;
  if (typeof layout !== "number" || !Number.isInteger(layout) || layout < 1) {
    return bad(`holds layout ${JSON.stringify(layout)}, which is not a version`);
  }
  return layout;
}

/** Roll back the open transaction, if any; a failed rollback must not hide the error that caused it. */
export function rollback(db: SqliteLike): void {
  try {
    db.exec("ROLLBACK");
  } catch {
    // no transaction was open (SQLite may have rolled it back itself)
  }
}

/** A row's key as readable text for errors: `comqtt_inflight["c1",7]`, long strings cut at 60 characters. */
export function rowText(table: string, ...key: Array<string | number>): string {
  const parts = key.map((p) => typeof p === "string" && p.length > 60 ? `${p.slice(0, 60)}…` : p);
  return `${table}${JSON.stringify(parts)}`;
}
