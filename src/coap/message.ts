/**
 * CoAP messages as the gateway sees them (RFC 7252 section 3): types, codes, option numbers.
 * @module
 */

/** Message types [RFC 7252 3]. */
export const CON = 0;
export const NON = 1;
export const ACK = 2;
export const RST = 3;
/** 0 CON, 1 NON, 2 ACK, 3 RST. */
export type MessageType = 0 | 1 | 2 | 3;

/** One option: its number and raw value bytes. */
export interface CoapOption {
  readonly number: number;
  readonly value: Uint8Array;
}

/** A parsed or to-be-sent CoAP message. Options are kept in ascending number order. */
export interface CoapMessage {
  readonly type: MessageType;
  /** `class << 5 | detail`: 0 empty, 1..31 requests (0.01 GET ...), 64.. responses (2.05 = 69). */
  readonly code: number;
  readonly messageId: number;
  /** 0 to 8 bytes [RFC 7252 3]. */
  readonly token: Uint8Array;
  readonly options: readonly CoapOption[];
  readonly payload: Uint8Array;
}

/** `c.dd` as a code byte: `code(2, 5)` is 2.05 Content. */
export function code(cls: number, detail: number): number {
  return (cls << 5) | detail;
}

/** A code as written in the RFCs, e.g. `2.05`. */
export function formatCode(c: number): string {
  return `${c >> 5}.${String(c & 31).padStart(2, "0")}`;
}

/** Request methods [RFC 7252 12.1.1]. */
export const GET = 1;
export const POST = 2;
export const PUT = 3;
export const DELETE = 4;

/** Response codes the gateway sends [RFC 7252 12.1.2, RFC 7959 2.9]. */
export const RESPONSE = {
  created: code(2, 1),
  deleted: code(2, 2),
  valid: code(2, 3),
  changed: code(2, 4),
  content: code(2, 5),
  continue: code(2, 31),
  badRequest: code(4, 0),
  unauthorized: code(4, 1),
  badOption: code(4, 2),
  forbidden: code(4, 3),
  notFound: code(4, 4),
  methodNotAllowed: code(4, 5),
  requestEntityIncomplete: code(4, 8),
  requestEntityTooLarge: code(4, 13),
  internalServerError: code(5, 0),
  serviceUnavailable: code(5, 3),
} as const;

/** Option numbers [RFC 7252 5.10, RFC 7641 2, RFC 7959 2.1]. */
export const OPT = {
  ifMatch: 1,
  uriHost: 3,
  etag: 4,
  ifNoneMatch: 5,
  observe: 6,
  uriPort: 7,
  locationPath: 8,
  uriPath: 11,
  contentFormat: 12,
  maxAge: 14,
  uriQuery: 15,
  accept: 17,
  locationQuery: 20,
  block2: 23,
  block1: 27,
  size2: 28,
  proxyUri: 35,
  proxyScheme: 39,
  size1: 60,
  noResponse: 258,
} as const;

/** Options this gateway understands; an unknown critical (odd-numbered) option in a request is 4.02. */
export const KNOWN_OPTIONS: ReadonlySet<number> = new Set(Object.values(OPT));

/** A critical option must be understood [RFC 7252 5.4.1]: its number is odd. */
export function isCritical(number: number): boolean {
  return (number & 1) === 1;
}

const utf8 = new TextEncoder();
const textOut = new TextDecoder();

/** The values of every option `number`, in order. */
export function optionValues(message: CoapMessage, number: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const o of message.options) if (o.number === number) out.push(o.value);
  return out;
}

/** The first value of option `number`, undefined when absent. */
export function optionValue(message: CoapMessage, number: number): Uint8Array | undefined {
  for (const o of message.options) if (o.number === number) return o.value;
  return undefined;
}

/** An unsigned-integer option value [RFC 7252 3.2] (at most 4 bytes are meaningful here). */
export function uintOption(message: CoapMessage, number: number): number | undefined {
  const v = optionValue(message, number);
  return v === undefined ? undefined : decodeUint(v);
}

/** Big-endian unsigned integer of up to 4 bytes. */
export function decodeUint(bytes: Uint8Array): number {
  let n = 0;
  for (const b of bytes) n = n * 256 + b;
  return n;
}

/** The shortest big-endian encoding of `n` (0 is zero bytes) [RFC 7252 3.2]. */
export function encodeUint(n: number): Uint8Array {
  const out: number[] = [];
  while (n > 0) {
    out.unshift(n % 256);
    n = Math.floor(n / 256);
  }
  return Uint8Array.from(out);
}

/** Option helpers for building messages. */
export function uintOpt(number: number, n: number): CoapOption {
  return { number, value: encodeUint(n) };
}

export function stringOpt(number: number, s: string): CoapOption {
  return { number, value: utf8.encode(s) };
}

/** A string option's value as text (UTF-8; invalid bytes become U+FFFD). */
export function optionText(value: Uint8Array): string {
  return textOut.decode(value);
}

/** Options sorted by number, keeping the order of repeated ones (as the wire needs). */
export function sortOptions(options: CoapOption[]): CoapOption[] {
  return options.map((o, i) => ({ o, i })).sort((a, b) => a.o.number - b.o.number || a.i - b.i).map((x) =>
    x.o
  );
}
