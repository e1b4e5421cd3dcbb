/**
 * A routed message as it travels between nodes, encoded once per message:
 *
 * ```
 * byte 0        wire version (1)
 * byte 1        length B of the sender's boot id
 * B bytes       boot id (node name and a random part, new at every start)
 * 8 bytes       sequence number of the message at that boot (float64, big-endian)
 * 8 bytes       age in ms when sent (float64): message expiry keeps counting down without trusting clocks
 * the rest      the message as the record codec writes it (topic, QoS, retain, v5 properties, origin, payload)
 * ```
 *
 * The boot id and sequence number let a node that holds overlapping filters (`a/+` and `a/#`), and so gets a
 * message once per NATS subscription, deliver it once.
 * @module
 */

import type { Message } from "../message.ts";
import { decodeMessage, encodeMessage } from "../storage/record_codec.ts";

/** Version byte of the wire format. */
export const WIRE_VERSION = 1;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A decoded wire message. */
export interface WireMessage {
  readonly boot: string;
  readonly seq: number;
  readonly message: Message;
}

/** Encode `message` sent by `boot` as its `seq`th message; `now` gives its age. */
export function encodeWire(boot: Uint8Array, seq: number, message: Message, now: number): Uint8Array {
  const body = encodeMessage({ ...message, receivedAt: 0 });
  const out = new Uint8Array(2 + boot.length + 16 + body.length);
  out[0] = WIRE_VERSION;
  out[1] = boot.length;
  out.set(boot, 2);
  const view = new DataView(out.buffer);
  view.setFloat64(2 + boot.length, seq);
  view.setFloat64(10 + boot.length, Math.max(0, now - message.receivedAt));
  out.set(body, 18 + boot.length);
  return out;
}

/** The boot id as bytes, for {@link encodeWire}; at most 255 bytes. */
export function bootBytes(boot: string): Uint8Array {
  const bytes = encoder.encode(boot);
  if (bytes.length > 255) throw new RangeError(`Cannot use boot id ${JSON.stringify(boot)}: over 255 bytes`);
  return bytes;
}

/** Decode a wire message; the message's receivedAt is `now` minus its age. Throws on a malformed frame. */
export function decodeWire(bytes: Uint8Array, now: number): WireMessage {
  if (bytes.length < 18 || bytes[0] !== WIRE_VERSION) {
    throw new Error(`Cannot decode a cluster message: version ${bytes[0]}, ${bytes.length} bytes`);
  }
  const bootLength = bytes[1]!;
  if (bytes.length < 18 + bootLength) throw new Error("Cannot decode a cluster message: truncated header");
  const boot = decoder.decode(bytes.subarray(2, 2 + bootLength));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const seq = view.getFloat64(2 + bootLength);
  const age = view.getFloat64(10 + bootLength);
  const stored = decodeMessage(bytes.subarray(18 + bootLength), `cluster message from ${boot}`);
  const message: Message = { ...stored, receivedAt: now - age };
  return { boot, seq, message };
}
