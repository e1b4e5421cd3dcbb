/**
 * The record codec: turns each stored record into bytes and back, for backends that store values (Deno KV).
 *
 * A record is one frame:
 *
 * ```
 * byte 0     codec version (1)
 * byte 1     kind: "S" session, "M" message, "I" inflight, "Q" queued, "W" will
 * bytes 2-5  header length H, unsigned 32-bit big-endian
 * H bytes    header: UTF-8 JSON with short field names; binary fields appear as their byte length
 * the rest   the binary fields (payload, then correlation data) back to back, in header order
 * ```
 *
 * Bytes rather than a string: every runtime's KV stores a `Uint8Array` as raw bytes without its V8 serializer,
 * which matters on Bun, where `@deno/kv`'s limited serializer mangles any string longer than 255 characters
 * (measured: "Unexpected trailing bytes"), and keeps payloads out of base64. Decoding is strict: any missing,
 * extra or ill-typed field gives an Error naming the record's key.
 * @module
 */

import type { ProtocolVersion, PublishProperties, QoS, UserProperties } from "../packets/types.ts";
import type {
  StoredClientInfo,
  StoredInflight,
  StoredMessage,
  StoredQueued,
  StoredSession,
  StoredWill,
} from "./storage.ts";
import { FieldReader } from "./_field_reader.ts";

/** The codec version written in byte 0 of every record. */
export const RECORD_CODEC_VERSION = 1;

/** Which record a frame holds (byte 1). */
export type RecordKind = "session" | "message" | "inflight" | "queued" | "will";

const KIND_BYTE: Record<RecordKind, number> = {
  session: 0x53,
  message: 0x4d,
  inflight: 0x49,
  queued: 0x51,
  will: 0x57,
};
const FRAME_HEAD = 6;
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** Encode a session (without its inflight, queued and incoming records, which are stored apart). */
export function encodeSession(session: StoredSession): Uint8Array {
  const subs = session.subscriptions.map((s) => {
    const row: unknown[] = [
      s.filter,
      s.qos,
      s.noLocal ? 1 : 0,
      s.retainAsPublished ? 1 : 0,
      s.retainHandling,
    ];
    if (s.identifier !== undefined) row.push(s.identifier);
    return row;
  });
  const h: Record<string, unknown> = { c: session.clientId, e: session.expiryInterval, s: subs };
  if (session.disconnectedAt !== undefined) h.d = session.disconnectedAt;
  if (session.owner !== undefined) h.o = encodeClientInfo(session.owner);
  return frame("session", h, []);
}

/** Decode a session; `where` names the key in errors. */
export function decodeSession(bytes: Uint8Array, where: string): StoredSession {
  const r = unframe(bytes, "session", where);
  r.keys(["c", "e", "s"], ["d", "o"]);
  const session: StoredSession = {
    clientId: r.string("c"),
    expiryInterval: r.int("e", 0, 0xffff_ffff),
    subscriptions: r.array("s").map((_, i) => {
      const p = `s.${i}`;
      const len = r.array(p).length;
      if (len !== 5 && len !== 6) r.fail(p, "must have 5 or 6 items");
      const sub = {
        filter: r.string(`${p}.0`),
        qos: r.int(`${p}.1`, 0, 2) as QoS,
        noLocal: r.int(`${p}.2`, 0, 1) === 1,
        retainAsPublished: r.int(`${p}.3`, 0, 1) === 1,
        retainHandling: r.int(`${p}.4`, 0, 2) as 0 | 1 | 2,
      };
      return len === 6 ? { ...sub, identifier: r.int(`${p}.5`, 1, 268_435_455) } : sub;
    }),
  };
  if (r.has("d")) session.disconnectedAt = r.number("d");
  if (r.has("o")) session.owner = decodeClientInfo(r, "o");
  r.end();
  return session;
}

/** A stored client identity (a will's publisher, a session's owner) as a compact header object. */
function encodeClientInfo(info: StoredClientInfo): Record<string, unknown> {
  const o: Record<string, unknown> = {
    id: info.id,
    a: info.remoteAddress,
    l: info.listener,
    v: info.protocolVersion,
  };
  if (info.username !== undefined) o.u = info.username;
  if (info.certificateCommonName !== undefined) o.n = info.certificateCommonName;
  return o;
}

function decodeClientInfo(r: FieldReader, path: string): StoredClientInfo {
  r.keys(["id", "a", "l", "v"], ["u", "n"], `${path}.`);
  const info: StoredClientInfo = {
    id: r.string(`${path}.id`),
    remoteAddress: r.string(`${path}.a`),
    listener: r.string(`${path}.l`),
    protocolVersion: r.int(`${path}.v`, 3, 5) as ProtocolVersion,
  };
  if (r.has(`${path}.u`)) info.username = r.string(`${path}.u`);
  if (r.has(`${path}.n`)) info.certificateCommonName = r.string(`${path}.n`);
  return info;
}

/** Encode a message (a retained one; queued, inflight and will records embed the same form). */
export function encodeMessage(message: StoredMessage): Uint8Array {
  const blobs: Uint8Array[] = [];
  return frame("message", messageHeader(message, blobs), blobs);
}

/** Decode a message; `where` names the key in errors. */
export function decodeMessage(bytes: Uint8Array, where: string): StoredMessage {
  const r = unframe(bytes, "message", where);
  const message = readMessage(r, "");
  r.end();
  return message;
}

/**
 * Encode an inflight entry. `order` records when the entry was first stored, so that a restart resends
 * inflight messages in the order they were first sent even after packet ids wrap around.
 */
export function encodeInflight(entry: StoredInflight, order: number): Uint8Array {
  const blobs: Uint8Array[] = [];
  const h: Record<string, unknown> = {
    p: entry.packetId,
    q: entry.qos,
    r: entry.retain,
    st: entry.state,
    o: order,
    m: messageHeader(entry.message, blobs),
  };
  if (entry.subscriptionIds !== undefined) h.si = entry.subscriptionIds;
  return frame("inflight", h, blobs);
}

/** Decode an inflight entry and its order stamp; `where` names the key in errors. */
export function decodeInflight(bytes: Uint8Array, where: string): { entry: StoredInflight; order: number } {
  const r = unframe(bytes, "inflight", where);
  r.keys(["p", "q", "r", "st", "o", "m"], ["si"]);
  const state = r.string("st");
  if (state !== "publish" && state !== "pubrel") {
    r.fail("st", `must be "publish" or "pubrel", found "${state}"`);
  }
  const entry: StoredInflight = {
    packetId: r.int("p", 1, 65_535),
    message: readMessage(r, "m."),
    qos: r.int("q", 1, 2) as 1 | 2,
    retain: r.boolean("r"),
    state: state as "publish" | "pubrel",
  };
  if (r.has("si")) entry.subscriptionIds = r.intArray("si", 1, 268_435_455);
  const order = r.number("o");
  r.end();
  return { entry, order };
}

/** Encode a queued entry. */
export function encodeQueued(entry: StoredQueued): Uint8Array {
  const blobs: Uint8Array[] = [];
  const h: Record<string, unknown> = {
    s: entry.seq,
    q: entry.qos,
    r: entry.retain,
    m: messageHeader(entry.message, blobs),
  };
  if (entry.subscriptionIds !== undefined) h.si = entry.subscriptionIds;
  return frame("queued", h, blobs);
}

/** Decode a queued entry; `where` names the key in errors. */
export function decodeQueued(bytes: Uint8Array, where: string): StoredQueued {
  const r = unframe(bytes, "queued", where);
  r.keys(["s", "q", "r", "m"], ["si"]);
  const entry: StoredQueued = {
    seq: r.int("s", 0, Number.MAX_SAFE_INTEGER),
    message: readMessage(r, "m."),
    qos: r.int("q", 0, 2) as QoS,
    retain: r.boolean("r"),
  };
  if (r.has("si")) entry.subscriptionIds = r.intArray("si", 1, 268_435_455);
  r.end();
  return entry;
}

/** Encode a will waiting for its delay. */
export function encodeWill(will: StoredWill): Uint8Array {
  const blobs: Uint8Array[] = [];
  const info = encodeClientInfo(will.info);
  return frame("will", { c: will.clientId, at: will.at, i: info, m: messageHeader(will.will, blobs) }, blobs);
}

/** Decode a will; `where` names the key in errors. */
export function decodeWill(bytes: Uint8Array, where: string): StoredWill {
  const r = unframe(bytes, "will", where);
  r.keys(["c", "at", "i", "m"], []);
  const info = decodeClientInfo(r, "i");
  const will: StoredWill = { clientId: r.string("c"), will: readMessage(r, "m."), at: r.number("at"), info };
  r.end();
  return will;
}

function frame(kind: RecordKind, header: Record<string, unknown>, blobs: Uint8Array[]): Uint8Array {
  const head = encoder.encode(JSON.stringify(header));
  let size = FRAME_HEAD + head.length;
  for (const b of blobs) size += b.length;
  const out = new Uint8Array(size);
  out[0] = RECORD_CODEC_VERSION;
  out[1] = KIND_BYTE[kind];
  new DataView(out.buffer).setUint32(2, head.length);
  out.set(head, FRAME_HEAD);
  let at = FRAME_HEAD + head.length;
  for (const b of blobs) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}

function unframe(bytes: Uint8Array, kind: RecordKind, where: string): FieldReader {
  const fail = (why: string): never => {
    throw new Error(`Cannot decode the stored ${kind} record at ${where}: ${why}`);
  };
  if (!(bytes instanceof Uint8Array)) fail(`expected bytes, found ${typeof bytes}`);
  if (bytes.length < FRAME_HEAD) fail(`only ${bytes.length} bytes`);
  if (bytes[0] !== RECORD_CODEC_VERSION) fail(`unknown codec version ${bytes[0]} (this build reads 1)`);
  if (bytes[1] !== KIND_BYTE[kind]) fail(`kind byte is ${bytes[1]}, expected ${KIND_BYTE[kind]} ("${kind}")`);
  const headLen = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(2);
  if (FRAME_HEAD + headLen > bytes.length) {
    fail(`header length ${headLen} runs past the end (${bytes.length} bytes)`);
  }
  let header: unknown;
  try {
    header = JSON.parse(decoder.decode(bytes.subarray(FRAME_HEAD, FRAME_HEAD + headLen)));
  } catch (err) {
    fail(`the header is not valid UTF-8 JSON (${err instanceof Error ? err.message : err})`);
  }
  return new FieldReader(
    header,
    bytes.subarray(FRAME_HEAD + headLen),
    `the stored ${kind} record at ${where}`,
  );
}

function messageHeader(m: StoredMessage, blobs: Uint8Array[]): Record<string, unknown> {
  blobs.push(m.payload);
  const h: Record<string, unknown> = {
    t: m.topic,
    q: m.qos,
    r: m.retain,
    at: m.receivedAt,
    n: m.payload.length,
  };
  if (m.origin !== undefined) h.o = m.origin;
  const p = m.properties;
  if (p !== undefined) {
    const ph: Record<string, unknown> = {};
    if (p.payloadFormatIndicator !== undefined) ph.pf = p.payloadFormatIndicator;
    if (p.messageExpiryInterval !== undefined) ph.me = p.messageExpiryInterval;
    if (p.topicAlias !== undefined) ph.ta = p.topicAlias;
    if (p.responseTopic !== undefined) ph.rt = p.responseTopic;
    if (p.correlationData !== undefined) {
      ph.cd = p.correlationData.length;
      blobs.push(p.correlationData);
    }
    if (p.userProperties !== undefined) ph.up = p.userProperties;
    if (p.subscriptionIdentifiers !== undefined) ph.si = p.subscriptionIdentifiers;
    if (p.contentType !== undefined) ph.ct = p.contentType;
    if (p.willDelayInterval !== undefined) ph.wd = p.willDelayInterval;
    h.p = ph;
  }
  return h;
}

function readMessage(r: FieldReader, at: string): StoredMessage {
  r.keys(["t", "q", "r", "at", "n"], ["o", "p"], at);
  const message: StoredMessage = {
    topic: r.string(`${at}t`),
    payload: r.blob(r.int(`${at}n`, 0, 0xffff_ffff), `${at}n`),
    qos: r.int(`${at}q`, 0, 2) as QoS,
    retain: r.boolean(`${at}r`),
    receivedAt: r.number(`${at}at`),
  };
  if (r.has(`${at}p`)) message.properties = readProperties(r, `${at}p.`);
  if (r.has(`${at}o`)) message.origin = r.string(`${at}o`);
  return message;
}

function readProperties(r: FieldReader, at: string): PublishProperties & { willDelayInterval?: number } {
  r.keys([], ["pf", "me", "ta", "rt", "cd", "up", "si", "ct", "wd"], at);
  const p: PublishProperties & { willDelayInterval?: number } = {};
  if (r.has(`${at}pf`)) p.payloadFormatIndicator = r.int(`${at}pf`, 0, 1) as 0 | 1;
  if (r.has(`${at}me`)) p.messageExpiryInterval = r.int(`${at}me`, 0, 0xffff_ffff);
  if (r.has(`${at}ta`)) p.topicAlias = r.int(`${at}ta`, 1, 65_535);
  if (r.has(`${at}rt`)) p.responseTopic = r.string(`${at}rt`);
  if (r.has(`${at}cd`)) p.correlationData = r.blob(r.int(`${at}cd`, 0, 65_535), `${at}cd`);
  if (r.has(`${at}up`)) {
    const up: UserProperties = r.array(`${at}up`).map((_, i) => {
      if (r.array(`${at}up.${i}`).length !== 2) r.fail(`${at}up.${i}`, "must be a [name, value] pair");
      return [r.string(`${at}up.${i}.0`), r.string(`${at}up.${i}.1`)];
    });
    p.userProperties = up;
  }
  if (r.has(`${at}si`)) p.subscriptionIdentifiers = r.intArray(`${at}si`, 1, 268_435_455);
  if (r.has(`${at}ct`)) p.contentType = r.string(`${at}ct`);
  if (r.has(`${at}wd`)) p.willDelayInterval = r.int(`${at}wd`, 0, 0xffff_ffff);
  return p;
}
