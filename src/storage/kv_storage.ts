/**
 * The Deno KV storage backend, over an opened KV handle: `Deno.openKv(path)` on Deno, `openKv` from the npm
 * package `@deno/kv` on Bun and Node (the adapters in `adapters/<runtime>/kv.ts` open it).
 *
 * ## Key layout (layout version 1)
 *
 * | key                                   | value                                                   |
 * | ------------------------------------- | ------------------------------------------------------- |
 * | `["comqtt", "schema"]`                | `{"app":"comqtt-ts","layout":1}` as UTF-8 bytes         |
 * | `["comqtt", "s", client]`             | session record (subscriptions, expiry)                  |
 * | `["comqtt", "i", client, packetId]`   | inflight record (with its first-stored order stamp)     |
 * | `["comqtt", "q", client, seq]`        | queued record                                           |
 * | `["comqtt", "n", client, packetId]`   | empty: an inbound QoS 2 packet id awaiting PUBREL       |
 * | `["comqtt", "r", topic]`              | retained message record                                 |
 * | `["comqtt", "w", client]`             | pending will record                                     |
 * | `["comqtt", "f", bridge, seq]`        | queued record of a bridge's store-and-forward queue     |
 * | `["comqtt", "b", chunkId, index]`     | one chunk (at most 65536 bytes) of a larger record      |
 *
 * `client` and `topic` are the string itself, or the 32-byte SHA-256 of its UTF-8 form when the string passes
 * 1000 bytes (a KV key holds 2048); records always carry the full string. Values are bytes from the record codec
 * (record_codec.ts), never V8-serialized, so every runtime reads them. A record over 65536 bytes is written as
 * chunks under a fresh random chunk id, then a small pointer at its own key, in that order (and old chunks are
 * deleted after the pointer is replaced), so a crash between commits leaves only unreferenced chunks, which the
 * next `load` deletes. A missing or short chunk is corruption and `load` says which key.
 *
 * `apply` turns operations into mutations in order and commits them in as few atomic commits as the KV's limits
 * allow (see _kv_commits.ts). `load` checks the schema key: missing on an empty database it is written; missing
 * beside other records, unreadable, or a newer layout is a clear error, never an empty broker.
 * @module
 */

import type { Storage, StorageOp, StoredState } from "./storage.ts";
import {
  chunkKey,
  type ChunkRef,
  decodePointer,
  decodeSchema,
  encodePointer,
  encodeSchema,
  idPart,
  type Key,
  type KeyPart,
  keyText,
  LAYOUT_VERSION,
  MAX_VALUE,
  newChunkId,
  ROOT,
  SCHEMA_KEY,
} from "./_kv_layout.ts";
import type { KvLike } from "./kv_like.ts";
import { commitAll, type Mutation } from "./_kv_commits.ts";
import { loadKv, newerLayoutError, noSchemaError, readError } from "./_kv_load.ts";
import { encodeInflight, encodeMessage, encodeQueued, encodeSession, encodeWill } from "./record_codec.ts";

export type { KvAtomicLike, KvKeyPart, KvLike } from "./kv_like.ts";

/** Options of {@link KvStorage}. */
export interface KvStorageOptions {
  /** Name in logs. Default `denokv`. */
  name?: string;
}

/**
 * Storage in Deno KV. Operations are serialized: one `apply` or `load` runs at a time.
 *
 * @example
 * ```ts
 * const storage = new KvStorage(await Deno.openKv("./comqtt.db"));
 * const state = await storage.load();
 * ```
 */
export class KvStorage implements Storage {
  readonly name: string;
  #kv: KvLike;
  /** Records stored as chunks, by key text: their chunks are deleted when the record is replaced or deleted. */
  #chunks = new Map<string, ChunkRef>();
  /** First-stored order stamps of inflight records, by key text. */
  #orders = new Map<string, number>();
  #lastOrder = 0;
  #schemaOk = false;
  #closed = false;
  #tail: Promise<unknown> = Promise.resolve();

  constructor(kv: KvLike, options: KvStorageOptions = {}) {
    this.#kv = kv;
    this.name = options.name ?? "denokv";
  }

  apply(ops: readonly StorageOp[]): Promise<void> {
    return this.#serial("apply storage operations", async () => {
      await this.#ensureSchema();
      const mutations: Mutation[] = [];
      const written = new Map<string, Map<string, Key>>();
      for (const op of ops) await this.#translate(op, mutations, written);
      await commitAll(this.#kv, mutations);
    });
  }

  load(): Promise<StoredState> {
    return this.#serial("load", async () => {
      const result = await loadKv(this.#kv);
      const writes: Mutation[] = result.garbage.map((key) => ({ key }));
      if (result.empty) writes.push({ key: SCHEMA_KEY, value: encodeSchema() });
      await commitAll(this.#kv, writes);
      this.#chunks = result.chunks;
      this.#orders = result.orders;
      this.#lastOrder = Math.max(this.#lastOrder, result.maxOrder);
      this.#schemaOk = true;
      return result.state;
    });
  }

  close(): Promise<void> {
    return this.#serial("close", () => {
      this.#closed = true;
      this.#kv.close();
      return Promise.resolve();
    });
  }

  #serial<T>(action: string, fn: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(() => {
      if (this.#closed) throw new Error(`Cannot ${action}: the ${this.name} storage is closed`);
      return fn();
    });
    this.#tail = run.catch(() => {});
    return run;
  }

  async #ensureSchema(): Promise<void> {
    if (this.#schemaOk) return;
    let entry;
    let any = false;
    try {
      entry = await this.#kv.get(SCHEMA_KEY);
      if (entry.versionstamp === null) {
        for await (const _ of this.#kv.list({ prefix: [ROOT] }, { limit: 1 })) any = true;
      }
    } catch (err) {
      throw readError(err);
    }
    if (entry.versionstamp === null) {
      if (any) throw noSchemaError();
      await commitAll(this.#kv, [{ key: SCHEMA_KEY, value: encodeSchema() }]);
    } else {
      const layout = decodeSchema(entry.value);
      if (layout > LAYOUT_VERSION) throw newerLayoutError(layout);
    }
    this.#schemaOk = true;
  }

  async #translate(op: StorageOp, out: Mutation[], written: Map<string, Map<string, Key>>): Promise<void> {
    switch (op.type) {
      case "session": {
        const client = await idPart(op.session.clientId);
        this.#put(track(written, client, [ROOT, "s", client]), encodeSession(op.session), out);
        return;
      }
      case "sessionDelete":
        return this.#deleteSession(await idPart(op.clientId), out, written);
      case "inflight": {
        const client = await idPart(op.clientId);
        const key = track(written, client, [ROOT, "i", client, op.entry.packetId]);
        const text = keyText(key);
        let order = this.#orders.get(text);
        if (order === undefined) {
          // Date-based so that stamps keep rising across restarts even before a load.
          order = this.#lastOrder = Math.max(this.#lastOrder + 1, Date.now() * 1024);
          this.#orders.set(text, order);
        }
        this.#put(key, encodeInflight(op.entry, order), out);
        return;
      }
      case "inflightDelete": {
        const key = [ROOT, "i", await idPart(op.clientId), op.packetId];
        this.#orders.delete(keyText(key));
        return this.#delete(key, out);
      }
      case "queued": {
        const client = await idPart(op.clientId);
        this.#put(track(written, client, [ROOT, "q", client, op.entry.seq]), encodeQueued(op.entry), out);
        return;
      }
      case "queuedDelete":
        return this.#delete([ROOT, "q", await idPart(op.clientId), op.seq], out);
      case "incoming": {
        const client = await idPart(op.clientId);
        out.push({ key: track(written, client, [ROOT, "n", client, op.packetId]), value: new Uint8Array(0) });
        return;
      }
      case "incomingDelete":
        return this.#delete([ROOT, "n", await idPart(op.clientId), op.packetId], out);
      case "retained":
        return this.#put([ROOT, "r", await idPart(op.message.topic)], encodeMessage(op.message), out);
      case "retainedDelete":
        return this.#delete([ROOT, "r", await idPart(op.topic)], out);
      case "will":
        return this.#put([ROOT, "w", await idPart(op.will.clientId)], encodeWill(op.will), out);
      case "willDelete":
        return this.#delete([ROOT, "w", await idPart(op.clientId)], out);
      // Bridge names are short words (the config checks them), so the name itself is the key part.
      case "bridgeQueued":
        return this.#put([ROOT, "f", op.bridge, op.entry.seq], encodeQueued(op.entry), out);
      case "bridgeQueuedDelete":
        return this.#delete([ROOT, "f", op.bridge, op.seq], out);
      default:
        throw new TypeError(`Cannot apply storage operation of type "${(op as { type: unknown }).type}"`);
    }
  }

  /** Delete what the database holds for a client (listed) and what this apply wrote for it; the session last. */
  async #deleteSession(
    client: KeyPart,
    out: Mutation[],
    written: Map<string, Map<string, Key>>,
  ): Promise<void> {
    const seen = new Set<string>();
    for (const tag of ["i", "q", "n"]) {
      try {
        for await (const e of this.#kv.list({ prefix: [ROOT, tag, client] }, { batchSize: 500 })) {
          const key = e.key as Key;
          const text = keyText(key);
          seen.add(text);
          this.#orders.delete(text);
          this.#delete(key, out, e.value);
        }
      } catch (err) {
        throw readError(err);
      }
    }
    const sessionKey: Key = [ROOT, "s", client];
    const mine = written.get(keyText([client]));
    for (const [text, key] of mine ?? []) {
      if (seen.has(text) || text === keyText(sessionKey)) continue;
      this.#orders.delete(text);
      this.#delete(key, out);
    }
    written.delete(keyText([client]));
    let stored;
    try {
      stored = await this.#kv.get(sessionKey);
    } catch (err) {
      throw readError(err);
    }
    this.#delete(sessionKey, out, stored.value);
  }

  /** Set a record, as chunks and a pointer when it is over the value limit; then drop the old chunks. */
  #put(key: Key, bytes: Uint8Array, out: Mutation[]): void {
    const text = keyText(key);
    const old = this.#chunks.get(text);
    if (bytes.length <= MAX_VALUE) {
      out.push({ key, value: bytes });
      this.#chunks.delete(text);
    } else {
      const ref: ChunkRef = {
        id: newChunkId(),
        count: Math.ceil(bytes.length / MAX_VALUE),
        length: bytes.length,
      };
      for (let i = 0; i < ref.count; i++) {
        out.push({ key: chunkKey(ref.id, i), value: bytes.subarray(i * MAX_VALUE, (i + 1) * MAX_VALUE) });
      }
      out.push({ key, value: encodePointer(ref) });
      this.#chunks.set(text, ref);
    }
    if (old !== undefined) dropChunks(old, out);
  }

  /** Delete a record and its chunks (known from the index, or from `stored`, the value the database holds). */
  #delete(key: Key, out: Mutation[], stored?: unknown): void {
    const text = keyText(key);
    out.push({ key });
    const known = this.#chunks.get(text);
    if (known !== undefined) dropChunks(known, out);
    this.#chunks.delete(text);
    if (stored instanceof Uint8Array) {
      let ref: ChunkRef | undefined;
      try {
        ref = decodePointer(stored, text);
      } catch {
        // A damaged pointer is going away anyway; its chunks, if any, are swept by the next load.
      }
      if (ref !== undefined && ref.id !== known?.id) dropChunks(ref, out);
    }
  }
}

function dropChunks(ref: ChunkRef, out: Mutation[]): void {
  for (let i = 0; i < ref.count; i++) out.push({ key: chunkKey(ref.id, i) });
}

/** Remember a key written for a client in this apply, for a later sessionDelete in the same apply. */
function track(written: Map<string, Map<string, Key>>, client: KeyPart, key: Key): Key {
  const id = keyText([client]);
  let keys = written.get(id);
  if (keys === undefined) written.set(id, keys = new Map());
  keys.set(keyText(key), key);
  return key;
}

/** The error an adapter throws when a KV database cannot be opened (not a database, no such folder, ...). */
export function kvOpenError(path: string, err: unknown): Error {
  const why = err instanceof Error ? err.message.split("\n")[0] : String(err);
  return new Error(`Cannot open the KV database "${path}": ${why}`, { cause: err });
}
