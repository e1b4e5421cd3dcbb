/**
 * A bounds-checked cursor over one packet's bytes. Every read that would pass `end` throws a
 * malformed-packet error: lengths that overrun the packet are malformed.
 * @module
 */

import { malformed } from "../errors.ts";
import { decodeMqttString } from "./utf8.ts";

/** Reads MQTT data types from `bytes[pos, end)`; `what` names the packet in error messages. */
export class WireReader {
  readonly bytes: Uint8Array;
  pos: number;
  end: number;
  readonly what: string;

  constructor(bytes: Uint8Array, pos: number, end: number, what: string) {
    this.bytes = bytes;
    this.pos = pos;
    this.end = end;
    this.what = what;
  }

  /** Bytes left before `end`. */
  get left(): number {
    return this.end - this.pos;
  }

  #need(n: number, field: string): void {
    if (this.end - this.pos < n) {
      throw malformed(`Cannot decode ${this.what}: ${field} runs past the end of the packet`);
    }
  }

  u8(field: string): number {
    this.#need(1, field);
    return this.bytes[this.pos++];
  }

  u16(field: string): number {
    this.#need(2, field);
    const b = this.bytes;
    const v = (b[this.pos] << 8) | b[this.pos + 1];
    this.pos += 2;
    return v;
  }

  u32(field: string): number {
    this.#need(4, field);
    const b = this.bytes;
    const p = this.pos;
    this.pos += 4;
    return ((b[p] << 24) >>> 0) + ((b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]);
  }

  /** A Variable Byte Integer: at most 4 bytes. */
  varint(field: string): number {
    let value = 0;
    let mul = 1;
    for (let i = 0; i < 4; i++) {
      const b = this.u8(field);
      value += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return value;
      mul *= 128;
    }
    throw malformed(`Cannot decode ${this.what}: ${field} is a variable byte integer longer than 4 bytes`);
  }

  /** A UTF-8 Encoded String, checked [MQTT-1.5.3-1] [MQTT-1.5.3-2]. */
  string(field: string): string {
    const len = this.u16(field);
    this.#need(len, field);
    const start = this.pos;
    const s = decodeMqttString(this.bytes, start, start + len);
    if (s === undefined) {
      throw malformed(`Cannot decode ${this.what}: ${field} is not a valid UTF-8 string without U+0000`);
    }
    this.pos = start + len;
    return s;
  }

  /** Binary Data: a copy, so it never aliases a buffer the caller may reuse. */
  binary(field: string): Uint8Array {
    const len = this.u16(field);
    this.#need(len, field);
    const start = this.pos;
    this.pos = start + len;
    return this.bytes.slice(start, start + len);
  }
}
