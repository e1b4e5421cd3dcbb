/**
 * Reading the SQLite backend's tables back into a {@link StoredState}, strictly: every record must decode and
 * agree with its row's key, or load throws an Error that names the row. Sub-records of a client without a
 * session (a session deleted while they were written, or a crash between commits of an older build) are not
 * errors: they are deleted, as the Deno KV backend sweeps its orphans.
 * @module
 */

import type { StoredBridgeQueue, StoredInflight, StoredSessionState, StoredState } from "./storage.ts";
import type { SqliteLike } from "./sqlite_like.ts";
import { rollback, rowText } from "./_sqlite_schema.ts";
import { decodeInflight, decodeMessage, decodeQueued, decodeSession, decodeWill } from "./record_codec.ts";

type Row = Record<string, unknown>;

const ORPHANS = ["comqtt_inflight", "comqtt_queued", "comqtt_incoming"].map((t) =>
  `DELETE FROM ${t} WHERE client NOT IN (SELECT client FROM comqtt_sessions)`
);

/** Delete orphaned sub-records, then read everything, in one transaction so that nothing changes in between. */
export function loadSqlite(db: SqliteLike): StoredState {
  db.exec("BEGIN IMMEDIATE");
  try {
    for (const sql of ORPHANS) db.exec(sql);
    const state = readAll(db);
    db.exec("COMMIT");
    return state;
  } catch (err) {
    rollback(db);
    throw err;
  }
}

function readAll(db: SqliteLike): StoredState {
  const state: StoredState = { sessions: [], retained: [], wills: [] };
  const sessions = new Map<string, StoredSessionState>();
  for (const row of rows(db, "SELECT client, record FROM comqtt_sessions ORDER BY client")) {
    const client = text(row, "comqtt_sessions", "client");
    const where = rowText("comqtt_sessions", client);
    const session = decodeSession(blob(row, where), where);
    if (session.clientId !== client) mismatch(where, "client id", session.clientId);
    const s: StoredSessionState = { ...session, inflight: [], queued: [], incoming: [] };
    sessions.set(client, s);
    state.sessions.push(s);
  }
  // Rows of a client come together, in first-stored order (MQTT-4.6.0-1 resends in the order first sent).
  for (
    const row of rows(
      db,
      "SELECT client, packet_id, record FROM comqtt_inflight ORDER BY client, ord, packet_id",
    )
  ) {
    const client = text(row, "comqtt_inflight", "client");
    const packetId = int(row, rowText("comqtt_inflight", client), "packet_id", 1, 65_535);
    const where = rowText("comqtt_inflight", client, packetId);
    const entry: StoredInflight = decodeInflight(blob(row, where), where).entry;
    if (entry.packetId !== packetId) mismatch(where, "packet id", entry.packetId);
    sessions.get(client)!.inflight.push(entry);
  }
  for (const row of rows(db, "SELECT client, seq, record FROM comqtt_queued ORDER BY client, seq")) {
    const client = text(row, "comqtt_queued", "client");
    const seq = int(row, rowText("comqtt_queued", client), "seq", 0, Number.MAX_SAFE_INTEGER);
    const where = rowText("comqtt_queued", client, seq);
    const entry = decodeQueued(blob(row, where), where);
    if (entry.seq !== seq) mismatch(where, "seq", entry.seq);
    sessions.get(client)!.queued.push(entry);
  }
  for (const row of rows(db, "SELECT client, packet_id FROM comqtt_incoming ORDER BY client, packet_id")) {
    const client = text(row, "comqtt_incoming", "client");
    sessions.get(client)!.incoming.push(int(row, rowText("comqtt_incoming", client), "packet_id", 1, 65_535));
  }
  for (const row of rows(db, "SELECT topic, record FROM comqtt_retained ORDER BY topic")) {
    const topic = text(row, "comqtt_retained", "topic");
    const where = rowText("comqtt_retained", topic);
    const message = decodeMessage(blob(row, where), where);
    if (message.topic !== topic) mismatch(where, "topic", message.topic);
    state.retained.push(message);
  }
  for (const row of rows(db, "SELECT client, record FROM comqtt_wills ORDER BY client")) {
    const client = text(row, "comqtt_wills", "client");
    const where = rowText("comqtt_wills", client);
    const will = decodeWill(blob(row, where), where);
    if (will.clientId !== client) mismatch(where, "client id", will.clientId);
    state.wills.push(will);
  }
  const bridges = new Map<string, StoredBridgeQueue>();
  for (const row of rows(db, "SELECT bridge, seq, record FROM comqtt_bridge_queued ORDER BY bridge, seq")) {
    const bridge = text(row, "comqtt_bridge_queued", "bridge");
    const seq = int(row, rowText("comqtt_bridge_queued", bridge), "seq", 0, Number.MAX_SAFE_INTEGER);
    const where = rowText("comqtt_bridge_queued", bridge, seq);
    const entry = decodeQueued(blob(row, where), where);
    if (entry.seq !== seq) mismatch(where, "seq", entry.seq);
    let queue = bridges.get(bridge);
    if (queue === undefined) bridges.set(bridge, queue = { bridge, queued: [] });
    queue.queued.push(entry);
  }
  if (bridges.size > 0) state.bridges = [...bridges.values()];
  return state;
}

function rows(db: SqliteLike, sql: string): Row[] {
  return db.prepare(sql).all() as Row[];
}

function damaged(where: string, why: string): never {
  throw new Error(`Cannot load: the SQLite database is damaged at ${where}: ${why}`);
}

function mismatch(where: string, what: string, found: string | number): never {
  const shown = typeof found === "string" && found.length > 60 ? `${found.slice(0, 60)}…` : found;
  return damaged(where, `it holds ${what} ${JSON.stringify(shown)}, which belongs elsewhere`);
}

function text(row: Row, table: string, column: string): string {
  const v = row[column];
  if (typeof v !== "string") damaged(`${table} (a row)`, `${column} is not text (found ${kind(v)})`);
  return v;
}

function int(row: Row, where: string, column: string, min: number, max: number): number {
  const v = row[column];
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    damaged(where, `${column} must be an integer from ${min} to ${max} (found ${JSON.stringify(v)})`);
  }
  return v;
}

function blob(row: Row, where: string): Uint8Array {
  const v = row.record;
  if (!(v instanceof Uint8Array)) damaged(where, `its record is not a blob (found ${kind(v)})`);
  return v;
}

function kind(v: unknown): string {
  return v === null ? "null" : typeof v;
}
