/**
 * Routed messages between broker workers, packed many to one buffer: a worker writes every message it forwards in
 * one event-loop turn into a {@link FrameWriter}, and the buffer crosses to the hub (and on to the other workers)
 * as one transferred ArrayBuffer. Measured against structured clone of the message objects, packing wins because
 * a payload is usually a view into a larger socket read buffer, and cloning a view copies its whole buffer.
 *
 * ```
 * 4 bytes   length of the rest of the frame (unsigned, big-endian)
 * 2 bytes   topic length T, then T bytes of UTF-8 topic (the hub reads only this to route)
 * 1 byte    flags: QoS (bits 0-1), retain (bit 2), has properties (bit 3), has origin (bit 4)
 * 8 bytes   receivedAt (float64; every worker shares the process's clock)
 * origin    when flagged: 2-byte length + UTF-8 client id
 * the rest  without properties: the payload; with them: the whole message as the record codec writes it
 * ```
 * @module
 */

import type { Message } from "../message.ts";
import type { QoS } from "../packets/types.ts";
import { decodeMessage, encodeMessage } from "../storage/record_codec.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Write `s` at `at`, returning its byte length. ASCII (nearly every topic and client id) is copied in JS: Deno's
 * TextEncoder and TextDecoder are calls into Rust that cost more than the copy for strings this short.
 */
function writeString(buf: Uint8Array, at: number, s: string): number {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return encoder.encodeInto(s, buf.subarray(at)).written;
    buf[at + i] = c;
  }
  return n;
}

/**
 * Strings decoded before (topics and client ids repeat from message to message), by a hash of their bytes: a
 * hit costs a hash and a compare and allocates nothing. Bounded; one per receiving worker.
 */
export class StringCache {
  readonly #entries = new Map<number, { bytes: Uint8Array; text: string }>();

  /** The string in `bytes` from `start` to `end`. */
  read(bytes: Uint8Array, start: number, end: number): string {
    let h = end - start;
    for (let i = start; i < end; i++) h = (Math.imul(h, 31) + bytes[i]!) | 0;
    const hit = this.#entries.get(h);
    if (hit !== undefined && hit.bytes.length === end - start) {
      let same = true;
      for (let i = start, j = 0; i < end; i++, j++) {
        if (hit.bytes[j] !== bytes[i]) {
          same = false;
          break;
        }
      }
      if (same) return hit.text;
    }
    const text = readString(bytes, start, end);
    if (this.#entries.size >= 4096) this.#entries.clear();
    this.#entries.set(h, { bytes: bytes.slice(start, end), text });
    return text;
  }
}

/** The UTF-8 string in `bytes` from `start` to `end`; short ASCII without TextDecoder (see writeString). */
function readString(bytes: Uint8Array, start: number, end: number): string {
  if (end - start <= 128) {
    let ascii = true;
    for (let i = start; i < end; i++) {
      if (bytes[i]! >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) return String.fromCharCode.apply(null, bytes.subarray(start, end) as unknown as number[]);
  }
  return decoder.decode(bytes.subarray(start, end));
}

/** A growing byte buffer that frames are appended to; {@link take} hands out what was written. */
export class FrameWriter {
  #buf = new Uint8Array(16 * 1024);
  #view = new DataView(this.#buf.buffer);
  #at = 0;
  #lastStart = 0;
  /** Frames written since the last take. */
  count = 0;

  /** Bytes written since the last take. */
  get length(): number {
    return this.#at;
  }

  /** Append one message. */
  write(message: Message): void {
    const { topic, payload } = message;
    const props = message.properties !== undefined;
    const body = props ? encodeMessage({ ...message, receivedAt: 0 }) : payload;
    const origin = message.origin;
    const max = 4 + 2 + topic.length * 3 + 1 + 8 + (origin === undefined ? 0 : 2 + origin.length * 3) +
      body.byteLength;
    this.#ensure(max);
    const buf = this.#buf;
    const view = this.#view;
    const start = this.#at;
    this.#lastStart = start;
    let at = start + 6;
    const topicLength = writeString(buf, at, topic);
    view.setUint16(start + 4, topicLength);
    at += topicLength;
    buf[at++] = message.qos | (message.retain ? 4 : 0) | (props ? 8 : 0) | (origin === undefined ? 0 : 16);
    view.setFloat64(at, message.receivedAt);
    at += 8;
    if (origin !== undefined) {
      const n = writeString(buf, at + 2, origin);
      view.setUint16(at, n);
      at += 2 + n;
    }
    buf.set(body, at);
    at += body.byteLength;
    view.setUint32(start, at - start - 4);
    this.#at = at;
    this.count++;
  }

  /** The frame written last, as a view (valid until the next write). */
  last(): Uint8Array {
    return this.#buf.subarray(this.#lastStart, this.#at);
  }

  /** Append frames already encoded (a hub passes them on without decoding). */
  append(frame: Uint8Array): void {
    this.#ensure(frame.byteLength);
    this.#buf.set(frame, this.#at);
    this.#at += frame.byteLength;
    this.count++;
  }

  /** What was written, in a buffer of its own (so that it can be transferred), and start over. */
  take(): Uint8Array {
    const out = this.#buf.slice(0, this.#at);
    this.#at = 0;
    this.count = 0;
    return out;
  }

  #ensure(more: number): void {
    if (this.#at + more <= this.#buf.byteLength) return;
    let size = this.#buf.byteLength * 2;
    while (size < this.#at + more) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#at));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }
}

/** Reads the frames of one buffer in order. */
export class FrameReader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  readonly #strings: StringCache | undefined;
  #at = 0;

  /** `strings` remembers topics and client ids across batches. */
  constructor(bytes: Uint8Array, strings?: StringCache) {
    this.#strings = strings;
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** True while frames are left. */
  get more(): boolean {
    return this.#at < this.#bytes.byteLength;
  }

  /** The next frame's topic and its whole bytes (a view), without decoding the rest. */
  nextRaw(): { topic: string; frame: Uint8Array } {
    const start = this.#at;
    const length = this.#checkedLength(start);
    const topicLength = this.#view.getUint16(start + 4);
    const topic = this.#read(this.#bytes, start + 6, start + 6 + topicLength);
    this.#at = start + 4 + length;
    return { topic, frame: this.#bytes.subarray(start, this.#at) };
  }

  /** The next frame as a message. */
  next(): Message {
    const bytes = this.#bytes;
    const view = this.#view;
    const start = this.#at;
    const end = start + 4 + this.#checkedLength(start);
    const topicLength = view.getUint16(start + 4);
    let at = start + 6;
    const topic = this.#read(bytes, at, at + topicLength);
    at += topicLength;
    const flags = bytes[at++]!;
    const receivedAt = view.getFloat64(at);
    at += 8;
    let origin: string | undefined;
    if ((flags & 16) !== 0) {
      const n = view.getUint16(at);
      origin = this.#read(bytes, at + 2, at + 2 + n);
      at += 2 + n;
    }
    this.#at = end;
    if ((flags & 8) !== 0) {
      return { ...decodeMessage(bytes.subarray(at, end), "a message from another worker"), receivedAt };
    }
    const message: Message = {
      topic,
      // A copy: the batch buffer would otherwise stay alive as long as any one message of it is queued.
      payload: bytes.slice(at, end),
      qos: (flags & 3) as QoS,
      retain: (flags & 4) !== 0,
      receivedAt,
    };
    if (origin !== undefined) message.origin = origin;
    return message;
  }

  #read(bytes: Uint8Array, start: number, end: number): string {
    return this.#strings === undefined
      ? readString(bytes, start, end)
      : this.#strings.read(bytes, start, end);
  }

  #checkedLength(start: number): number {
    if (start + 6 > this.#bytes.byteLength) throw new Error("Cannot read a worker frame: truncated header");
    const length = this.#view.getUint32(start);
    if (start + 4 + length > this.#bytes.byteLength) {
      throw new Error(`Cannot read a worker frame: ${length} bytes announced, fewer left`);
    }
    return length;
  }
}
