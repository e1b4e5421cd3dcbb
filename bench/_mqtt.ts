/**
 * The load generator's tools: a clock shared by every process on the machine, hand-built MQTT 3.1.1 packets,
 * a stream splitter for incoming packets, and a mergeable latency histogram.
 *
 * Hand-built on purpose: the generator must cost far less per message than the broker under test, so it does no
 * validation and allocates one Buffer per batch of outgoing packets.
 * @module
 */

import { Buffer } from "node:buffer";
import process from "node:process";

/** Packet types (high nibble of the first byte) the generator reads. */
export const CONNACK = 2;
export const PUBLISH = 3;
export const PUBACK = 4;
export const SUBACK = 9;

// CLOCK_MONOTONIC is one clock for every process on the machine (hrtime reads it), so a timestamp written by a
// publisher in one process can be subtracted from the time a subscriber in another process reads it.
// performance.now() is cheaper per call than hrtime.bigint(); the offset maps it onto the shared clock.
const offsetMs = Number(process.hrtime.bigint()) / 1e6 - performance.now();

/** Milliseconds on the machine-wide monotonic clock (sub-microsecond resolution). */
export function now(): number {
  return performance.now() + offsetMs;
}

/** Encode an MQTT remaining length (variable byte integer) into `out` at `at`; returns the next offset. */
export function writeVarInt(out: Buffer, at: number, value: number): number {
  do {
    let byte = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    out[at++] = byte;
  } while (value > 0);
  return at;
}

function varIntSize(value: number): number {
  return value < 128 ? 1 : value < 16384 ? 2 : value < 2097152 ? 3 : 4;
}

/** A whole packet from a first byte and a body. */
function frame(first: number, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(1 + varIntSize(body.length) + body.length);
  out[0] = first;
  body.copy(out, writeVarInt(out, 1, body.length));
  return out;
}

function str(s: string): Buffer {
  const b = Buffer.from(s, "utf8");
  const out = Buffer.allocUnsafe(2 + b.length);
  out.writeUInt16BE(b.length, 0);
  b.copy(out, 2);
  return out;
}

/** CONNECT, MQTT 3.1.1, clean session, no credentials; keep-alive 0 means the broker never times us out. */
export function connectPacket(clientId: string, keepAlive = 0): Buffer {
  const header = Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x02, keepAlive >> 8, keepAlive & 0xff]);
  return frame(0x10, Buffer.concat([header, str(clientId)]));
}

/** SUBSCRIBE with one filter. */
export function subscribePacket(packetId: number, filter: string, qos: number): Buffer {
  const id = Buffer.from([packetId >> 8, packetId & 0xff]);
  return frame(0x82, Buffer.concat([id, str(filter), Buffer.from([qos])]));
}

/** DISCONNECT. */
export const DISCONNECT: Buffer = Buffer.from([0xe0, 0]);

/**
 * A PUBLISH template for one topic and payload size: `fill` writes a packet into a batch buffer, stamping the
 * packet id (QoS 1) and the payload header `[float64 send time ms][uint32 publisher][uint32 sequence]`.
 */
export class PublishTemplate {
  /** Bytes of one packet. */
  readonly size: number;
  #template: Buffer;
  #idAt: number;
  #payloadAt: number;

  constructor(topic: string, qos: number, payloadSize: number) {
    if (payloadSize < 16) throw new RangeError(`Cannot use payload size ${payloadSize}: at least 16 bytes`);
    const t = Buffer.from(topic, "utf8");
    const remaining = 2 + t.length + (qos > 0 ? 2 : 0) + payloadSize;
    this.size = 1 + varIntSize(remaining) + remaining;
    const b = Buffer.alloc(this.size, 0x61); // 'a' filler in the payload
    b[0] = 0x30 | (qos << 1);
    let at = writeVarInt(b, 1, remaining);
    b.writeUInt16BE(t.length, at);
    t.copy(b, at + 2);
    at += 2 + t.length;
    this.#idAt = qos > 0 ? at : -1;
    if (qos > 0) at += 2;
    this.#payloadAt = at;
    this.#template = b;
  }

  /** Write one packet at `at` in `out`; returns the next offset. */
  fill(out: Buffer, at: number, packetId: number, publisher: number, seq: number, sentMs: number): number {
    this.#template.copy(out, at);
    if (this.#idAt >= 0) out.writeUInt16BE(packetId, at + this.#idAt);
    const p = at + this.#payloadAt;
    out.writeDoubleLE(sentMs, p);
    out.writeUInt32LE(publisher, p + 8);
    out.writeUInt32LE(seq, p + 12);
    return at + this.size;
  }
}

/** Called once per whole packet: `first` byte, and the body `buf[start, end)`. */
export type OnPacket = (first: number, buf: Buffer, start: number, end: number) => void;

/**
 * Splits a TCP byte stream into MQTT packets without copying, except the tail of a chunk that ends mid-packet.
 */
export class PacketSplitter {
  #rest: Buffer | undefined;
  #onPacket: OnPacket;

  constructor(onPacket: OnPacket) {
    this.#onPacket = onPacket;
  }

  /** Feed the first `length` bytes of `chunk`; the caller may reuse `chunk` once this returns. */
  push(chunk: Buffer, length: number = chunk.length): void {
    let buf = chunk;
    let n = length;
    if (this.#rest) {
      buf = Buffer.concat([this.#rest, chunk.subarray(0, length)]);
      n = buf.length;
      this.#rest = undefined;
    }
    let at = 0;
    while (n - at >= 2) {
      let len = 0;
      let mul = 1;
      let i = at + 1;
      let complete = false;
      for (let k = 0; k < 4 && i < n; k++) {
        const byte = buf[i++];
        len += (byte & 0x7f) * mul;
        mul *= 128;
        if ((byte & 0x80) === 0) {
          complete = true;
          break;
        }
      }
      if (!complete || i + len > n) break;
      this.#onPacket(buf[at], buf, i, i + len);
      at = i + len;
    }
    if (at < n) this.#rest = Buffer.from(buf.subarray(at, n)); // a copy: `chunk` is reused by the caller
  }
}

const EXACT = 2048;
const SUB = 1024;
const BUCKETS = EXACT + (32 - 11) * SUB;

/**
 * Latency histogram in microseconds: exact below 2 ms, then 1024 buckets per power of two (0.1 % resolution)
 * up to 2^31 µs. Histograms from several processes merge by adding their counts.
 */
export class Histogram {
  readonly counts: Uint32Array = new Uint32Array(BUCKETS);
  total = 0;

  /** Record one value in milliseconds. */
  add(ms: number): void {
    let us = Math.round(ms * 1000);
    if (us < 0) us = 0;
    this.counts[bucketOf(us)]++;
    this.total++;
  }

  /** Add another histogram's counts (sent as a sparse `[bucket, count]` list). */
  merge(sparse: [number, number][]): void {
    for (const [b, c] of sparse) {
      this.counts[b] += c;
      this.total += c;
    }
  }

  /** Non-zero buckets, for sending to another process. */
  sparse(): [number, number][] {
    const out: [number, number][] = [];
    for (let i = 0; i < BUCKETS; i++) if (this.counts[i] > 0) out.push([i, this.counts[i]]);
    return out;
  }

  /** The value in milliseconds at quantile `q` (0..1), or NaN when empty. */
  quantile(q: number): number {
    if (this.total === 0) return NaN;
    const rank = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i];
      if (seen >= rank) return valueOf(i) / 1000;
    }
    return NaN;
  }
}

function bucketOf(us: number): number {
  if (us < EXACT) return us;
  if (us >= 2 ** 31) return BUCKETS - 1;
  const e = 31 - Math.clz32(us); // >= 11
  return EXACT + (e - 11) * SUB + ((us >>> (e - 10)) & (SUB - 1));
}

function valueOf(bucket: number): number {
  if (bucket < EXACT) return bucket;
  const e = 11 + Math.floor((bucket - EXACT) / SUB);
  const m = (bucket - EXACT) % SUB;
  return (SUB + m) * 2 ** (e - 10);
}
