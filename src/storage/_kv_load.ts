/**
 * Reading a whole Deno KV database of this backend back into a {@link StoredState}, strictly: every key must fit
 * the layout, every value must decode and agree with its key, every chunk of a chunked record must be there.
 * Anything else throws an Error that names the key. Orphans (sub-records of a client without a session, chunks
 * no record points to) are not errors: a crash between two commits leaves them; they are returned as garbage.
 * @module
 */

import type {
  StoredBridgeQueue,
  StoredInflight,
  StoredMessage,
  StoredQueued,
  StoredSessionState,
  StoredState,
  StoredWill,
} from "./storage.ts";
import type { KvLike } from "./kv_like.ts";
import {
  chunkKey,
  type ChunkRef,
  decodePointer,
  decodeSchema,
  idPart,
  type Key,
  keyText,
  LAYOUT_VERSION,
  ROOT,
  SCHEMA_KEY,
} from "./_kv_layout.ts";
import { decodeInflight, decodeMessage, decodeQueued, decodeSession, decodeWill } from "./record_codec.ts";

/** What {@link loadKv} found. */
export interface KvLoadResult {
  state: StoredState;
  /** No schema key and no record: a new database (the caller writes the schema). */
  empty: boolean;
  /** Keys to delete: orphaned sub-records and unreferenced chunks. */
  garbage: Key[];
  /** Chunked records by key text. */
  chunks: Map<string, ChunkRef>;
  /** Inflight order stamps by key text, and the highest. */
  orders: Map<string, number>;
  maxOrder: number;
}

/** The error for a KV that cannot be read at all. */
export function readError(err: unknown): Error {
  return new Error(`Cannot read the KV database: ${err instanceof Error ? err.message : String(err)}`, {
    cause: err,
  });
}

/** The error for records without a schema key. */
export function noSchemaError(): Error {
  return new Error(
    `Cannot load: the KV database holds comqtt-ts records but no schema key ${keyText(SCHEMA_KEY)}; ` +
      "it is damaged or was not written by comqtt-ts",
  );
}

/** The error for a database written by a later layout. */
export function newerLayoutError(layout: number): Error {
  return new Error(
    `Cannot load: the KV database uses storage layout ${layout}, newer than this build reads (${LAYOUT_VERSION}); ` +
      "run a newer comqtt-ts or point it at another database",
  );
}

interface Entry {
  key: readonly unknown[];
  value: unknown;
}

/** Read and check everything under the root key. */
export async function loadKv(kv: KvLike): Promise<KvLoadResult> {
  const entries: Entry[] = [];
  try {
    for await (const e of kv.list({ prefix: [ROOT] }, { batchSize: 500 })) entries.push(e);
  } catch (err) {
    throw readError(err);
  }
  const result: KvLoadResult = {
    state: { sessions: [], retained: [], wills: [] },
    empty: false,
    garbage: [],
    chunks: new Map(),
    orders: new Map(),
    maxOrder: 0,
  };
  const schema = entries.find((e) => e.key.length === 2 && e.key[1] === "schema");
  if (schema === undefined) {
    if (entries.length > 0) throw noSchemaError();
    result.empty = true;
    return result;
  }
  const layout = decodeSchema(schema.value);
  if (layout > LAYOUT_VERSION) throw newerLayoutError(layout);

  const blobs = new Map<number, Map<number, Uint8Array>>();
  const byTag = new Map<string, Entry[]>();
  for (const e of entries) {
    if (e === schema) continue;
    const tag = e.key[1];
    const shape = typeof tag === "string" && Object.hasOwn(SHAPES, tag) ? SHAPES[tag] : undefined;
    if (shape === undefined || e.key.length !== shape.length) {
      damaged(e.key, "it is not a key of this layout");
    }
    shape.forEach((check, i) => check(e.key[i], e.key));
    const value = bytes(e);
    if (tag === "b") {
      const id = e.key[2] as number;
      if (!blobs.has(id)) blobs.set(id, new Map());
      blobs.get(id)!.set(e.key[3] as number, value);
    } else {
      if (!byTag.has(tag as string)) byTag.set(tag as string, []);
      byTag.get(tag as string)!.push(e);
    }
  }

  const used = new Map<number, number>();
  const read = (e: Entry): Uint8Array => {
    const where = keyText(e.key);
    const value = e.value as Uint8Array;
    const ref = decodePointer(value, where);
    if (ref === undefined) return value;
    const parts = blobs.get(ref.id);
    const out = new Uint8Array(ref.length);
    let at = 0;
    for (let i = 0; i < ref.count; i++) {
      const part = parts?.get(i);
      if (part === undefined) {
        throw new Error(
          `Cannot load the record at ${where}: chunk ${i} of ${ref.count} (${
            keyText(chunkKey(ref.id, i))
          }) is missing`,
        );
      }
      if (at + part.length > ref.length) break;
      out.set(part, at);
      at += part.length;
    }
    if (at !== ref.length) {
      throw new Error(`Cannot load the record at ${where}: its chunks hold the wrong number of bytes`);
    }
    used.set(ref.id, ref.count);
    result.chunks.set(where, ref);
    return out;
  };

  const sessions = new Map<string, StoredSessionState>();
  for (const e of byTag.get("s") ?? []) {
    const session = decodeSession(read(e), keyText(e.key));
    await mustMatch(e, 2, session.clientId, "client id");
    sessions.set(keyText([e.key[2]]), { ...session, inflight: [], queued: [], incoming: [] });
  }
  const owner = (e: Entry): StoredSessionState | undefined => {
    const s = sessions.get(keyText([e.key[2]]));
    if (s === undefined) result.garbage.push(e.key as Key);
    return s;
  };
  const inflight = new Map<StoredSessionState, Array<{ entry: StoredInflight; order: number }>>();
  for (const e of byTag.get("i") ?? []) {
    const s = owner(e);
    if (s === undefined) continue;
    const decoded = decodeInflight(read(e), keyText(e.key));
    if (decoded.entry.packetId !== e.key[3]) damaged(e.key, `it holds packet id ${decoded.entry.packetId}`);
    if (!inflight.has(s)) inflight.set(s, []);
    inflight.get(s)!.push(decoded);
    result.orders.set(keyText(e.key), decoded.order);
    result.maxOrder = Math.max(result.maxOrder, decoded.order);
  }
  for (const [s, list] of inflight) {
    s.inflight = list.sort((a, b) => a.order - b.order || a.entry.packetId - b.entry.packetId).map((x) =>
      x.entry
    );
  }
  for (const e of byTag.get("q") ?? []) {
    const s = owner(e);
    if (s === undefined) continue;
    const entry: StoredQueued = decodeQueued(read(e), keyText(e.key));
    if (entry.seq !== e.key[3]) damaged(e.key, `it holds seq ${entry.seq}`);
    s.queued.push(entry);
  }
  for (const e of byTag.get("n") ?? []) {
    const s = owner(e);
    if (s === undefined) continue;
    if ((e.value as Uint8Array).length !== 0) damaged(e.key, "an incoming packet id record must be empty");
    s.incoming.push(e.key[3] as number);
  }
  for (const s of sessions.values()) {
    s.queued.sort((a, b) => a.seq - b.seq);
    s.incoming.sort((a, b) => a - b);
    result.state.sessions.push(s);
  }
  for (const e of byTag.get("r") ?? []) {
    const message: StoredMessage = decodeMessage(read(e), keyText(e.key));
    await mustMatch(e, 2, message.topic, "topic");
    result.state.retained.push(message);
  }
  for (const e of byTag.get("w") ?? []) {
    const will: StoredWill = decodeWill(read(e), keyText(e.key));
    await mustMatch(e, 2, will.clientId, "client id");
    result.state.wills.push(will);
  }
  const bridges = new Map<string, StoredBridgeQueue>();
  for (const e of byTag.get("f") ?? []) {
    const entry: StoredQueued = decodeQueued(read(e), keyText(e.key));
    if (entry.seq !== e.key[3]) damaged(e.key, `it holds seq ${entry.seq}`);
    // A bridge name is short (the config checks it), so the key part is the name itself.
    const name = e.key[2];
    if (typeof name !== "string") damaged(e.key, "a bridge name part must be a string");
    let q = bridges.get(name);
    if (q === undefined) bridges.set(name, q = { bridge: name, queued: [] });
    q.queued.push(entry);
  }
  if (bridges.size > 0) {
    for (const q of bridges.values()) q.queued.sort((a, b) => a.seq - b.seq);
    result.state.bridges = [...bridges.values()];
  }
  for (const [id, parts] of blobs) {
    const count = used.get(id);
    for (const index of parts.keys()) {
      if (count === undefined || index >= count) result.garbage.push(chunkKey(id, index));
    }
  }
  return result;
}

function damaged(key: readonly unknown[], why: string): never {
  throw new Error(`Cannot load: the KV database is damaged at ${keyText(key)}: ${why}`);
}

function bytes(e: Entry): Uint8Array {
  if (!(e.value instanceof Uint8Array)) {
    damaged(e.key, `its value is not bytes (found ${e.value === null ? "null" : typeof e.value})`);
  }
  return e.value;
}

/** The key part at `index` must be what the layout derives from the string the record holds. */
async function mustMatch(e: Entry, index: number, s: string, what: string): Promise<void> {
  if (keyText([await idPart(s)]) !== keyText([e.key[index]])) {
    damaged(
      e.key,
      `it holds ${what} ${JSON.stringify(s.length > 60 ? `${s.slice(0, 60)}…` : s)}, which belongs elsewhere`,
    );
  }
}

type PartCheck = (part: unknown, key: readonly unknown[]) => void;

const anything: PartCheck = () => {};
const id: PartCheck = (p, key) => {
  if (typeof p !== "string" && !(p instanceof Uint8Array && p.length === 32)) {
    damaged(key, "a client id or topic part must be a string or a 32-byte hash");
  }
};
function int(min: number, max: number): PartCheck {
  return (p, key) => {
    if (typeof p !== "number" || !Number.isInteger(p) || p < min || p > max) {
      damaged(key, `a number part must be an integer from ${min} to ${max}`);
    }
  };
}
const packetId = int(1, 65_535);
const counter = int(0, Number.MAX_SAFE_INTEGER);

/** Key shapes by the tag at index 1. */
const SHAPES: Record<string, PartCheck[]> = {
  s: [anything, anything, id],
  i: [anything, anything, id, packetId],
  q: [anything, anything, id, counter],
  n: [anything, anything, id, packetId],
  r: [anything, anything, id],
  w: [anything, anything, id],
  b: [anything, anything, counter, counter],
  f: [anything, anything, id, counter],
};
