/**
 * The CoAP message format (RFC 7252 section 3): bytes to {@link CoapMessage} and back.
 *
 * Parsing is strict: anything RFC 7252 calls a message format error is reported with what was wrong, and with
 * the header when it could be read, so that the message layer can answer a bad Confirmable message with RST
 * [RFC 7252 4.2] and silently drop the rest [RFC 7252 4.3].
 *
 * @example
 * ```ts
 * const bytes = serialize({ type: CON, code: GET, messageId: 1, token: new Uint8Array(), options: [], payload });
 * const parsed = parse(bytes); // { ok: true, message }
 * ```
 * @module
 */

import type { CoapMessage, CoapOption, MessageType } from "./message.ts";
import { sortOptions } from "./message.ts";

/** The fixed header of a message whose body turned out to be malformed. */
export interface CoapHeader {
  readonly type: MessageType;
  readonly code: number;
  readonly messageId: number;
}

/** What {@link parse} returns. */
export type ParseResult =
  | { readonly ok: true; readonly message: CoapMessage }
  | { readonly ok: false; readonly reason: string; readonly header?: CoapHeader };

const PAYLOAD_MARKER = 0xff;
const EMPTY = new Uint8Array(0);

/** Parse one datagram. Never throws. */
export function parse(bytes: Uint8Array): ParseResult {
  if (bytes.length < 4) {
    return { ok: false, reason: `datagram of ${bytes.length} bytes is shorter than a header` };
  }
  const b0 = bytes[0];
  const version = b0 >> 6;
  // Unknown versions are silently ignored [RFC 7252 3]: no header is returned, so not even RST goes back.
  if (version !== 1) return { ok: false, reason: `version ${version} is not 1` };
  const header: CoapHeader = {
    type: ((b0 >> 4) & 3) as MessageType,
    code: bytes[1],
    messageId: (bytes[2] << 8) | bytes[3],
  };
  const fail = (reason: string): ParseResult => ({ ok: false, reason, header });
  const tkl = b0 & 0x0f;
  // Token lengths 9 to 15 are reserved and a message format error [RFC 7252 3].
  if (tkl > 8) return fail(`token length ${tkl} is more than 8`);
  const cls = header.code >> 5;
  if (cls === 1 || cls === 6 || cls === 7) {
    return fail(`code ${cls}.${header.code & 31} is of a reserved class`);
  }
  if (header.code === 0 && bytes.length !== 4) {
    // An Empty message is exactly the 4-byte header [RFC 7252 4.1].
    return fail(`empty message (code 0.00) has ${bytes.length - 4} bytes after the header`);
  }
  if (bytes.length < 4 + tkl) return fail(`token of ${tkl} bytes runs past the end of the datagram`);
  const token = bytes.slice(4, 4 + tkl);
  const options: CoapOption[] = [];
  let p = 4 + tkl;
  let number = 0;
  let payload = EMPTY;
  while (p < bytes.length) {
    const first = bytes[p++];
    if (first === PAYLOAD_MARKER) {
      // A marker followed by a zero-length payload is a format error [RFC 7252 3].
      if (p === bytes.length) return fail("payload marker is followed by no payload");
      payload = bytes.slice(p);
      break;
    }
    const deltaNibble = first >> 4;
    const lengthNibble = first & 0x0f;
    // Nibble 15 is reserved outside the payload marker [RFC 7252 3.1].
    if (deltaNibble === 15) return fail("option delta nibble 15 is reserved");
    if (lengthNibble === 15) return fail("option length nibble 15 is reserved");
    const delta = readExtended(bytes, p, deltaNibble);
    if (delta === undefined) return fail("option delta runs past the end of the datagram");
    p = delta.next;
    const length = readExtended(bytes, p, lengthNibble);
    if (length === undefined) return fail("option length runs past the end of the datagram");
    p = length.next;
    number += delta.value;
    if (number > 0xffff) return fail(`option number ${number} is above 65535`);
    if (p + length.value > bytes.length) {
      return fail(`option ${number} value of ${length.value} bytes runs past the end of the datagram`);
    }
    options.push({ number, value: bytes.slice(p, p + length.value) });
    p += length.value;
  }
  return { ok: true, message: { ...header, token, options, payload } };
}

/** Nibble 13: one more byte + 13; 14: two more bytes + 269 [RFC 7252 3.1]. */
function readExtended(
  bytes: Uint8Array,
  p: number,
  nibble: number,
): { value: number; next: number } | undefined {
  if (nibble < 13) return { value: nibble, next: p };
  if (nibble === 13) return p < bytes.length ? { value: bytes[p] + 13, next: p + 1 } : undefined;
  return p + 1 < bytes.length ? { value: ((bytes[p] << 8) | bytes[p + 1]) + 269, next: p + 2 } : undefined;
}

/** Encode a message. Throws RangeError on a token over 8 bytes or an option number or value out of range. */
export function serialize(message: CoapMessage): Uint8Array {
  const { token, payload } = message;
  if (token.length > 8) throw new RangeError(`Cannot send a CoAP token of ${token.length} bytes: at most 8`);
  const options = sortOptions([...message.options]);
  let size = 4 + token.length + (payload.length > 0 ? 1 + payload.length : 0);
  let last = 0;
  for (const o of options) {
    if (o.number < 0 || o.number > 0xffff) throw new RangeError(`Cannot send CoAP option number ${o.number}`);
    if (o.value.length > 0xffff + 269) {
      throw new RangeError(`Cannot send CoAP option ${o.number} of ${o.value.length} bytes`);
    }
    size += 1 + extendedSize(o.number - last) + extendedSize(o.value.length) + o.value.length;
    last = o.number;
  }
  const out = new Uint8Array(size);
  out[0] = 0x40 | (message.type << 4) | token.length;
  out[1] = message.code;
  out[2] = (message.messageId >> 8) & 0xff;
  out[3] = message.messageId & 0xff;
  out.set(token, 4);
  let p = 4 + token.length;
  last = 0;
  for (const o of options) {
    const delta = o.number - last;
    last = o.number;
    const at = p++;
    const dn = writeExtended(out, p, delta);
    p = dn.next;
    const ln = writeExtended(out, p, o.value.length);
    p = ln.next;
    out[at] = (dn.nibble << 4) | ln.nibble;
    out.set(o.value, p);
    p += o.value.length;
  }
  if (payload.length > 0) {
    out[p++] = PAYLOAD_MARKER;
    out.set(payload, p);
  }
  return out;
}

function extendedSize(n: number): number {
  return n < 13 ? 0 : n < 269 ? 1 : 2;
}

function writeExtended(out: Uint8Array, p: number, n: number): { nibble: number; next: number } {
  if (n < 13) return { nibble: n, next: p };
  if (n < 269) {
    out[p] = n - 13;
    return { nibble: 13, next: p + 1 };
  }
  out[p] = (n - 269) >> 8;
  out[p + 1] = (n - 269) & 0xff;
  return { nibble: 14, next: p + 2 };
}
