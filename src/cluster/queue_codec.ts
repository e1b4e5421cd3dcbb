/**
 * A persistent session's queue as the cluster keeps it in JetStream: each stream message is a list of changes
 * (a message queued, sent in flight, acknowledged; an inbound QoS 2 id held or released), and the session's
 * state is what replaying its messages in order gives. A snapshot is the same list, written with a rollup
 * header so that it replaces everything before it.
 *
 * ```
 * repeated:  1 byte tag, 4-byte length L (unsigned, big-endian), L bytes
 *   "Q" queued (a record-codec frame)     "q" queued entry gone (8-byte float seq)
 *   "I" inflight (a record-codec frame)   "i" inflight entry gone (2-byte packet id)
 *   "R" inbound QoS 2 id held (2 bytes)   "r" inbound id released (2 bytes)
 * ```
 * @module
 */

import { decodeInflight, decodeQueued, encodeInflight, encodeQueued } from "../storage/record_codec.ts";
import type { StorageOp, StoredInflight, StoredQueued } from "../storage/storage.ts";

/** The storage operations a session queue is made of. */
export type QueueOp = Extract<
  StorageOp,
  { type: "queued" | "queuedDelete" | "inflight" | "inflightDelete" | "incoming" | "incomingDelete" }
>;

/** What replaying a session's queue gives. */
export interface QueueState {
  /** In the order they were first sent. */
  readonly inflight: StoredInflight[];
  /** In queue order. */
  readonly queued: StoredQueued[];
  readonly incoming: number[];
}

const TAG = {
  queued: 0x51,
  queuedDelete: 0x71,
  inflight: 0x49,
  inflightDelete: 0x69,
  incoming: 0x52,
  incomingDelete: 0x72,
} as const;

/** True for an operation that belongs in a session queue. */
export function isQueueOp(op: StorageOp): op is QueueOp {
  return op.type in TAG;
}

/** The key an operation's record has within its session: puts and deletes of one record share it. */
export function queueOpKey(op: QueueOp): string {
  switch (op.type) {
    case "queued":
      return `q${op.entry.seq}`;
    case "queuedDelete":
      return `q${op.seq}`;
    case "inflight":
      return `f${op.entry.packetId}`;
    case "inflightDelete":
      return `f${op.packetId}`;
    default:
      return `i${op.packetId}`;
  }
}

/** True for an operation that removes its record. */
export function isQueueDelete(op: QueueOp): boolean {
  return op.type === "queuedDelete" || op.type === "inflightDelete" || op.type === "incomingDelete";
}

/** Encode a list of changes of one session (the client id is the subject's, not repeated here). */
export function encodeQueueOps(ops: readonly QueueOp[]): Uint8Array {
  const parts: Array<[number, Uint8Array]> = [];
  let size = 0;
  for (const op of ops) {
    let body: Uint8Array;
    switch (op.type) {
      case "queued":
        body = encodeQueued(op.entry);
        break;
      case "inflight":
        body = encodeInflight(op.entry, 0);
        break;
      case "queuedDelete":
        body = new Uint8Array(8);
        new DataView(body.buffer).setFloat64(0, op.seq);
        break;
      default:
        body = new Uint8Array(2);
        new DataView(body.buffer).setUint16(0, op.packetId);
    }
    parts.push([TAG[op.type], body]);
    size += 5 + body.length;
  }
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const [tag, body] of parts) {
    out[at] = tag;
    view.setUint32(at + 1, body.length);
    out.set(body, at + 5);
    at += 5 + body.length;
  }
  return out;
}

/** Decode one stream message of `clientId`'s queue; a malformed one throws an Error naming it. */
export function decodeQueueOps(bytes: Uint8Array, clientId: string): QueueOp[] {
  const where = `queue of ${JSON.stringify(clientId)}`;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ops: QueueOp[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (at + 5 > bytes.length) throw new Error(`Cannot read the ${where}: truncated at byte ${at}`);
    const tag = bytes[at]!;
    const length = view.getUint32(at + 1);
    const start = at + 5;
    at = start + length;
    if (at > bytes.length) {
      throw new Error(`Cannot read the ${where}: a ${length}-byte entry runs past its end`);
    }
    const body = bytes.subarray(start, at);
    const small = () => new DataView(body.buffer, body.byteOffset, body.byteLength);
    if (tag === TAG.queued) ops.push({ type: "queued", clientId, entry: decodeQueued(body, where) });
    else if (tag === TAG.inflight) {
      ops.push({ type: "inflight", clientId, entry: decodeInflight(body, where).entry });
    } else if (tag === TAG.queuedDelete && length === 8) {
      ops.push({ type: "queuedDelete", clientId, seq: small().getFloat64(0) });
    } else if (
      length === 2 && (tag === TAG.inflightDelete || tag === TAG.incoming || tag === TAG.incomingDelete)
    ) {
      const packetId = small().getUint16(0);
      const type = tag === TAG.inflightDelete
        ? "inflightDelete"
        : tag === TAG.incoming
        ? "incoming"
        : "incomingDelete";
      ops.push({ type, clientId, packetId });
    } else throw new Error(`Cannot read the ${where}: unknown entry tag ${tag} of ${length} bytes`);
  }
  return ops;
}

/** Fold changes into records by key: a put sets (keeping its first position), a delete removes. */
export function applyQueueOps(records: Map<string, QueueOp>, ops: Iterable<QueueOp>): void {
  for (const op of ops) {
    const key = queueOpKey(op);
    if (isQueueDelete(op)) records.delete(key);
    else records.set(key, op);
  }
}

/** The session state that a set of records describes. */
export function queueState(records: Map<string, QueueOp>): QueueState {
  const inflight: StoredInflight[] = [];
  const queued: StoredQueued[] = [];
  const incoming: number[] = [];
  for (const op of records.values()) {
    if (op.type === "inflight") inflight.push(op.entry);
    else if (op.type === "queued") queued.push(op.entry);
    else if (op.type === "incoming") incoming.push(op.packetId);
  }
  queued.sort((a, b) => a.seq - b.seq);
  return { inflight, queued, incoming };
}
