/**
 * UTF-8 for MQTT strings: strict validation on the way in, length and encoding on the way out.
 *
 * MQTT strings must be well-formed UTF-8 (no surrogate code points U+D800..U+DFFF, no overlong forms,
 * nothing above U+10FFFF) and must not hold U+0000 [MQTT-1.5.3-1] [MQTT-1.5.3-2] (5.0: [MQTT-1.5.4-1]
 * [MQTT-1.5.4-2]). A U+FEFF (bytes EF BB BF) is kept wherever it occurs [MQTT-1.5.3-3] [MQTT-1.5.4-3].
 *
 * @example
 * ```ts
 * import { decodeMqttString, isValidMqttString } from "./utf8.ts";
 * isValidMqttString(new Uint8Array([0xed, 0xa0, 0x80]), 0, 3); // false: encoded surrogate U+D800
 * decodeMqttString(new Uint8Array([0x61, 0x2f, 0x62]), 0, 3); // "a/b"
 * ```
 * @module
 */

// ignoreBOM: true keeps a leading U+FEFF in the output instead of stripping it [MQTT-1.5.3-3].
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
const encoder = new TextEncoder();

/** Up to this many bytes an ASCII string is built with String.fromCharCode (cheaper than TextDecoder). */
const SHORT_ASCII = 16;

/**
 * Whether `bytes[start, end)` is well-formed UTF-8 without U+0000, as an MQTT string must be.
 * Overlong forms, encoded surrogates, code points above U+10FFFF and truncated sequences are refused.
 */
export function isValidMqttString(bytes: Uint8Array, start: number, end: number): boolean {
  let i = start;
  while (i < end) {
    const b = bytes[i];
    if (b < 0x80) {
      if (b === 0) return false; // [MQTT-1.5.3-2]
      i++;
      continue;
    }
    i = validateMultiByte(bytes, i, end);
    if (i < 0) return false;
  }
  return true;
}

/**
 * Check one multi-byte sequence whose lead byte is at `i`; the index after it, or -1 when ill-formed
 * [MQTT-1.5.3-1].
 */
function validateMultiByte(bytes: Uint8Array, i: number, end: number): number {
  const b = bytes[i];
  if (b < 0xc2) return -1; // a lone continuation byte, or C0/C1 (overlong two-byte forms)
  if (b < 0xe0) {
    if (i + 1 >= end || (bytes[i + 1] & 0xc0) !== 0x80) return -1;
    return i + 2;
  }
  if (b < 0xf0) {
    if (i + 2 >= end) return -1;
    const b1 = bytes[i + 1];
    if ((b1 & 0xc0) !== 0x80 || (bytes[i + 2] & 0xc0) !== 0x80) return -1;
    if (b === 0xe0 && b1 < 0xa0) return -1; // overlong three-byte form
    if (b === 0xed && b1 >= 0xa0) return -1; // U+D800..U+DFFF, surrogates
    return i + 3;
  }
  if (b < 0xf5) {
    if (i + 3 >= end) return -1;
    const b1 = bytes[i + 1];
    if ((b1 & 0xc0) !== 0x80 || (bytes[i + 2] & 0xc0) !== 0x80 || (bytes[i + 3] & 0xc0) !== 0x80) return -1;
    if (b === 0xf0 && b1 < 0x90) return -1; // overlong four-byte form
    if (b === 0xf4 && b1 >= 0x90) return -1; // above U+10FFFF
    return i + 4;
  }
  return -1; // F5..FF never occur in UTF-8
}

/**
 * Decode `bytes[start, end)` as an MQTT string, or return undefined when it is not a valid one
 * (see {@link isValidMqttString}). U+FEFF is kept.
 */
export function decodeMqttString(bytes: Uint8Array, start: number, end: number): string | undefined {
  let i = start;
  while (i < end) {
    const b = bytes[i];
    if (b >= 0x80) break;
    if (b === 0) return undefined; // [MQTT-1.5.3-2]
    i++;
  }
  if (i === end) {
    // All ASCII: the common case for topics and client identifiers.
    const n = end - start;
    if (n === 0) return "";
    if (n <= SHORT_ASCII) {
      return String.fromCharCode.apply(null, bytes.subarray(start, end) as unknown as number[]);
    }
    return decoder.decode(bytes.subarray(start, end));
  }
  if (!isValidMqttString(bytes, i, end)) return undefined;
  return decoder.decode(bytes.subarray(start, end));
}

/**
 * The number of bytes `str` takes in UTF-8. A lone surrogate counts 3 bytes, as TextEncoder writes it
 * as U+FFFD, so an outgoing string is always well-formed [MQTT-1.5.3-1].
 */
export function utf8Length(str: string): number {
  const n = str.length;
  let bytes = n;
  for (let i = 0; i < n; i++) {
    const c = str.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) {
      bytes += 1;
    } else if ((c & 0xfc00) === 0xd800 && i + 1 < n && (str.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 2; // a surrogate pair: 2 UTF-16 units, 4 bytes
      i++;
    } else {
      bytes += 2;
    }
  }
  return bytes;
}

/**
 * Write `str` as UTF-8 into `out` at `offset`; returns the number of bytes written. `out` must have room
 * for {@link utf8Length}(str) bytes.
 */
export function writeUtf8(str: string, out: Uint8Array, offset: number): number {
  const n = str.length;
  let i = 0;
  for (; i < n; i++) {
    const c = str.charCodeAt(i);
    if (c >= 0x80) break;
    out[offset + i] = c;
  }
  if (i === n) return n;
  const { written } = encoder.encodeInto(str.slice(i), out.subarray(offset + i));
  return i + written;
}

/** `str` as UTF-8 bytes (a new array). */
export function encodeUtf8(str: string): Uint8Array {
  return encoder.encode(str);
}
