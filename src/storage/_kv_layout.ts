/**
 * Key layout helpers of the Deno KV backend (the layout itself is documented in kv_storage.ts): key parts for
 * client ids and topics, key sizes, readable key text, the schema record and the pointer to a chunked value.
 * @module
 */

/** A key part as this backend writes them. */
export type KeyPart = string | number | Uint8Array;
/** A key as this backend writes them. */
export type Key = readonly KeyPart[];

/** Every key of this backend starts with this part, so the KV can hold other data beside the broker's. */
export const ROOT = "comqtt";
/** The key of the layout version record. */
export const SCHEMA_KEY: Key = [ROOT, "schema"];
/** The layout this build writes and reads. A later layout migrates from older versions in `load`. */
export const LAYOUT_VERSION = 1;
/** Deno KV's largest value (bytes). */
export const MAX_VALUE = 65_536;

/** Strings whose key part would pass this many bytes are stored under their SHA-256 instead. */
const MAX_PLAIN_PART = 1000;
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * The key part for a client id or topic: the string itself, or the SHA-256 of its UTF-8 bytes when it is too
 * long for a KV key (MQTT allows 65535 bytes; a KV key holds 2048). The record itself always carries the full
 * string, and load checks that it matches its key. Synchronous for the common short string.
 */
export function idPart(s: string): string | Promise<Uint8Array> {
  if (s.length <= 300 && !s.includes("\0")) return s;
  const bytes = encoder.encode(s);
  let size = bytes.length;
  for (const b of bytes) if (b === 0) size++;
  if (size <= MAX_PLAIN_PART) return s;
  return crypto.subtle.digest("SHA-256", bytes).then((d) => new Uint8Array(d));
}

/** Bytes of a key in the KV's tuple encoding (strings and bytes end in 0x00 and escape 0x00; numbers take 9). */
export function keySize(key: readonly unknown[]): number {
  let size = 0;
  for (const part of key) {
    if (typeof part === "number") size += 9;
    else if (typeof part === "string") size += 2 + escapedLength(encoder.encode(part));
    else if (part instanceof Uint8Array) size += 2 + escapedLength(part);
    else size += 16;
  }
  return size;
}

function escapedLength(bytes: Uint8Array): number {
  let n = bytes.length;
  for (const b of bytes) if (b === 0) n++;
  return n;
}

/** A key as readable, unique text: `["comqtt","i","c1",7]`, a hashed part as `"sha256:<hex>"`. */
export function keyText(key: readonly unknown[]): string {
  return JSON.stringify(key.map((p) => p instanceof Uint8Array ? `sha256:${hex(p)}` : p));
}

function hex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

/** The schema record's value. */
export function encodeSchema(): Uint8Array {
  return encoder.encode(JSON.stringify({ app: "comqtt-ts", layout: LAYOUT_VERSION }));
}

/** The layout version in a schema record; throws a clear error for anything else. */
export function decodeSchema(value: unknown): number {
  const where = keyText(SCHEMA_KEY);
  const bad = (why: string): never => {
    throw new Error(`Cannot load: the schema record at ${where} ${why}`);
  };
  if (!(value instanceof Uint8Array)) return bad(`is not bytes (found ${typeof value})`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(value));
  } catch {
    return bad("is not valid JSON");
  }
  const rec = parsed as { app?: unknown; layout?: unknown };
  if (typeof rec !== "object" || rec === null || rec.app !== "comqtt-ts") {
    return bad("was not written by comqtt-ts");
  }
  const layout = rec.layout;
  if (typeof layout !== "number" || !Number.isInteger(layout) || layout < 1) {
    return bad(`holds layout ${JSON.stringify(layout)}, which is not a version`);
  }
  return layout;
}

/** Where the chunks of a value too big for one KV value live. */
export interface ChunkRef {
  /** Random id: chunk i is at `[ROOT, "b", id, i]`. */
  id: number;
  count: number;
  length: number;
}

/** Values starting with these two bytes are chunk pointers; records start with codec version 1 and a letter. */
const POINTER_MAGIC = [0x00, 0x42];

/** Encode a pointer to chunks. */
export function encodePointer(ref: ChunkRef): Uint8Array {
  const body = encoder.encode(JSON.stringify({ b: ref.id, n: ref.count, len: ref.length }));
  const out = new Uint8Array(2 + body.length);
  out.set(POINTER_MAGIC, 0);
  out.set(body, 2);
  return out;
}

/** The chunk pointer in a value, or undefined when the value is a record. Throws on a damaged pointer. */
export function decodePointer(value: Uint8Array, where: string): ChunkRef | undefined {
  if (value.length < 2 || value[0] !== POINTER_MAGIC[0] || value[1] !== POINTER_MAGIC[1]) return undefined;
  let p: { b?: unknown; n?: unknown; len?: unknown };
  try {
    p = JSON.parse(decoder.decode(value.subarray(2)));
  } catch {
    throw new Error(`Cannot load the record at ${where}: its chunk pointer is not valid JSON`);
  }
  const ok = (v: unknown, min: number): v is number =>
    typeof v === "number" && Number.isSafeInteger(v) && v >= min;
  if (typeof p !== "object" || p === null || !ok(p.b, 0) || !ok(p.n, 1) || !ok(p.len, 0)) {
    throw new Error(`Cannot load the record at ${where}: its chunk pointer is damaged`);
  }
  return { id: p.b, count: p.n, length: p.len };
}

/** The key of one chunk. */
export function chunkKey(id: number, index: number): Key {
  return [ROOT, "b", id, index];
}

/** A fresh random chunk id (53 bits). */
export function newChunkId(): number {
  const [hi, lo] = crypto.getRandomValues(new Uint32Array(2));
  return (hi & 0x1f_ffff) * 0x1_0000_0000 + lo;
}
