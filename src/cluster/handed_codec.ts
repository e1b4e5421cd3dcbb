/**
 * A session handed from one node to another, as bytes:
 *
 * ```
 * 4 bytes   header length H (unsigned, big-endian)
 * H bytes   UTF-8 JSON: { e: expiry, s: subscriptions, ni: inflight count, ids: cluster message ids }
 * then      each inflight entry, then each queued entry: 4-byte length + a record-codec frame
 * ```
 *
 * The record codec (the one storage uses) carries each message with its v5 properties and payload.
 * @module
 */

import type { Message } from "../message.ts";
import type { StoredSubscription } from "../storage/storage.ts";
import { decodeInflight, decodeQueued, encodeInflight, encodeQueued } from "../storage/record_codec.ts";
import type { HandedDelivery, HandedSession } from "./cluster_bus.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Encode `handed`; `messageId` names each message's cluster id (for de-duplication on the other side). */
export function encodeHanded(
  handed: HandedSession,
  messageId: (m: Message) => string | undefined,
): Uint8Array {
  const frames: Uint8Array[] = [];
  const ids: string[] = [];
  let ni = 0;
  handed.inflight.forEach((e, order) => {
    if (e.packetId === undefined || e.qos === 0) return;
    frames.push(encodeInflight({
      packetId: e.packetId,
      message: e.message,
      qos: e.qos,
      retain: e.retain,
      state: e.state ?? "publish",
      subscriptionIds: e.subscriptionIds,
    }, order));
    ni++;
  });
  handed.queued.forEach((e, seq) => {
    frames.push(encodeQueued({
      seq,
      message: e.message,
      qos: e.qos,
      retain: e.retain,
      subscriptionIds: e.subscriptionIds,
    }));
  });
  for (const e of [...handed.inflight, ...handed.queued]) {
    const id = messageId(e.message);
    if (id !== undefined) ids.push(id);
  }
  const head = encoder.encode(JSON.stringify({ e: handed.expiryInterval, s: handed.subscriptions, ni, ids }));
  let size = 4 + head.length;
  for (const f of frames) size += 4 + f.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, head.length);
  out.set(head, 4);
  let at = 4 + head.length;
  for (const f of frames) {
    view.setUint32(at, f.length);
    out.set(f, at + 4);
    at += 4 + f.length;
  }
  return out;
}

/** Decode what {@link encodeHanded} wrote. Throws on malformed bytes. */
export function decodeHanded(bytes: Uint8Array): { handed: HandedSession; ids: Set<string> } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headLength = view.getUint32(0);
  const head = JSON.parse(decoder.decode(bytes.subarray(4, 4 + headLength))) as {
    e: number;
    s: StoredSubscription[];
    ni: number;
    ids: string[];
  };
  const inflight: HandedDelivery[] = [];
  const queued: HandedDelivery[] = [];
  let at = 4 + headLength;
  let index = 0;
  while (at < bytes.length) {
    const length = view.getUint32(at);
    const frame = bytes.subarray(at + 4, at + 4 + length);
    at += 4 + length;
    if (index++ < head.ni) {
      const { entry } = decodeInflight(frame, "a handed session");
      inflight.push({ ...entry, message: { ...entry.message } });
    } else {
      const entry = decodeQueued(frame, "a handed session");
      queued.push({
        message: entry.message,
        qos: entry.qos,
        retain: entry.retain,
        subscriptionIds: entry.subscriptionIds,
      });
    }
  }
  return {
    handed: { expiryInterval: head.e, subscriptions: head.s, inflight, queued },
    ids: new Set(head.ids),
  };
}
