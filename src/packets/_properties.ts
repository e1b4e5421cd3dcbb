/**
 * MQTT 5 properties, hand-written: reading them for every packet a client sends, and writing the
 * PUBLISH / Will set (the hot path). Property names follow src/packets/types.ts.
 *
 * Reading enforces what the spec makes of a bad property list: an identifier that is unknown or not
 * valid for the packet type is a Malformed Packet (5.0 section 2.2.2.2), a property that is not allowed
 * to repeat but does is a Protocol Error, and so are the values the spec forbids (Receive Maximum 0,
 * Topic Alias 0 [MQTT-3.3.2-8], Subscription Identifier 0, flags other than 0/1).
 * @module
 */

import { malformed, protocolError } from "../errors.ts";
import type { PublishProperties, UserProperties } from "./types.ts";
import { utf8Length, writeUtf8 } from "./utf8.ts";
import type { WireReader } from "./_reader.ts";

/** Which packet a property list belongs to: one bit each. */
export const PROPS = {
  connect: 1,
  will: 2,
  publish: 4,
  /** PUBACK, PUBREC, PUBREL, PUBCOMP */
  ack: 8,
  subscribe: 16,
  unsubscribe: 32,
  disconnect: 64,
  auth: 128,
} as const;

const T_BYTE = 1;
const T_U16 = 2;
const T_U32 = 3;
const T_VARINT = 4;
const T_STRING = 5;
const T_BINARY = 6;
const T_PAIR = 7;

interface PropertyDef {
  name: string;
  type: number;
  /** Packet kinds (PROPS bits) in which a client may send it. */
  kinds: number;
}

const P = PROPS;
const PUB_WILL = P.publish | P.will;

/** Client-to-server properties by identifier (server-only ones such as Maximum QoS are absent: malformed). */
const DEFS: Array<PropertyDef | undefined> = [];
DEFS[0x01] = { name: "payloadFormatIndicator", type: T_BYTE, kinds: PUB_WILL };
DEFS[0x02] = { name: "messageExpiryInterval", type: T_U32, kinds: PUB_WILL };
DEFS[0x03] = { name: "contentType", type: T_STRING, kinds: PUB_WILL };
DEFS[0x08] = { name: "responseTopic", type: T_STRING, kinds: PUB_WILL };
DEFS[0x09] = { name: "correlationData", type: T_BINARY, kinds: PUB_WILL };
// Allowed by the grammar in PUBLISH; refused below when a client sends it [MQTT-3.3.4-6].
DEFS[0x0b] = { name: "subscriptionIdentifier", type: T_VARINT, kinds: P.publish | P.subscribe };
DEFS[0x11] = { name: "sessionExpiryInterval", type: T_U32, kinds: P.connect | P.disconnect };
DEFS[0x15] = { name: "authenticationMethod", type: T_STRING, kinds: P.connect | P.auth };
DEFS[0x16] = { name: "authenticationData", type: T_BINARY, kinds: P.connect | P.auth };
DEFS[0x17] = { name: "requestProblemInformation", type: T_BYTE, kinds: P.connect };
DEFS[0x18] = { name: "willDelayInterval", type: T_U32, kinds: P.will };
DEFS[0x19] = { name: "requestResponseInformation", type: T_BYTE, kinds: P.connect };
DEFS[0x1c] = { name: "serverReference", type: T_STRING, kinds: P.disconnect };
DEFS[0x1f] = { name: "reasonString", type: T_STRING, kinds: P.ack | P.disconnect | P.auth };
DEFS[0x21] = { name: "receiveMaximum", type: T_U16, kinds: P.connect };
DEFS[0x22] = { name: "topicAliasMaximum", type: T_U16, kinds: P.connect };
DEFS[0x23] = { name: "topicAlias", type: T_U16, kinds: P.publish };
DEFS[0x26] = { name: "userProperties", type: T_PAIR, kinds: 0xff };
DEFS[0x27] = { name: "maximumPacketSize", type: T_U32, kinds: P.connect };

/**
 * Read a Property Length and the properties after it, for a packet of `kind` (a PROPS bit).
 * Returns undefined when the list is empty. Throws MqttError (malformed or protocol error).
 */
export function readProperties(r: WireReader, kind: number): Record<string, unknown> | undefined {
  const length = r.varint("property length");
  if (length === 0) return undefined;
  if (length > r.left) {
    throw malformed(`Cannot decode ${r.what}: property length ${length} overruns the packet`);
  }
  const outerEnd = r.end;
  r.end = r.pos + length;
  const out: Record<string, unknown> = {};
  let user: UserProperties | undefined;
  while (r.pos < r.end) {
    const id = r.u8("property identifier");
    const def = DEFS[id];
    if (def === undefined || (def.kinds & kind) === 0) {
      throw malformed(`Cannot decode ${r.what}: property 0x${id.toString(16)} is not valid in this packet`);
    }
    if (def.type === T_PAIR) {
      const key = r.string("user property name"); // [MQTT-1.5.7-1]
      const value = r.string("user property value");
      (user ??= []).push([key, value]);
      continue;
    }
    const value = readValue(r, def);
    const name = def.name;
    if (out[name] !== undefined) {
      throw protocolError(`Cannot decode ${r.what}: property "${name}" appears more than once`);
    }
    out[name] = value;
  }
  r.end = outerEnd;
  if (user !== undefined) out.userProperties = user;
  checkValues(out, kind, r.what);
  return out;
}

function readValue(r: WireReader, def: PropertyDef): unknown {
  const name = def.name;
  switch (def.type) {
    case T_BYTE: {
      const v = r.u8(name);
      if (v > 1) throw protocolError(`Cannot decode ${r.what}: property "${name}" must be 0 or 1, got ${v}`);
      // The two request flags are booleans in our types; the payload format indicator stays 0 | 1.
      return name === "payloadFormatIndicator" ? v : v === 1;
    }
    case T_U16:
      return r.u16(name);
    case T_U32:
      return r.u32(name);
    case T_VARINT:
      return r.varint(name);
    case T_STRING:
      return r.string(name);
    default:
      return r.binary(name);
  }
}

/** Values the spec forbids in otherwise well-formed properties: Protocol Errors. */
function checkValues(out: Record<string, unknown>, kind: number, what: string): void {
  if (out.receiveMaximum === 0) throw protocolError(`Cannot decode ${what}: receive maximum must not be 0`);
  if (out.maximumPacketSize === 0) {
    throw protocolError(`Cannot decode ${what}: maximum packet size must not be 0`);
  }
  // [MQTT-3.3.2-8]
  if (out.topicAlias === 0) throw protocolError(`Cannot decode ${what}: topic alias must not be 0`);
  if (out.subscriptionIdentifier !== undefined) {
    if (kind === PROPS.publish) {
      // [MQTT-3.3.4-6]
      throw protocolError(
        `Cannot decode ${what}: a client must not send a subscription identifier in PUBLISH`,
      );
    }
    if (out.subscriptionIdentifier === 0) {
      throw protocolError(`Cannot decode ${what}: subscription identifier must not be 0`);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Writing PUBLISH / Will properties

/** A Variable Byte Integer's size in bytes (1..4). */
export function varintSize(n: number): number {
  return n < 128 ? 1 : n < 16_384 ? 2 : n < 2_097_152 ? 3 : 4;
}

/** Write a Variable Byte Integer at `p` in the fewest bytes [MQTT-1.5.5-1]; returns the position after it. */
export function writeVarint(out: Uint8Array, p: number, n: number): number {
  while (n >= 128) {
    out[p++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  out[p++] = n;
  return p;
}

function stringSize(s: string, what: string): number {
  const n = utf8Length(s);
  if (n > 65_535) throw new RangeError(`Cannot encode ${what}: it is ${n} bytes, more than 65535`);
  return n;
}

/** The byte length of the PUBLISH properties (without the Property Length itself). */
export function publishPropertiesSize(p: PublishProperties | undefined): number {
  if (p === undefined) return 0;
  let n = 0;
  if (p.payloadFormatIndicator !== undefined) n += 2;
  if (p.messageExpiryInterval !== undefined) n += 5;
  if (p.contentType !== undefined) n += 3 + stringSize(p.contentType, "content type");
  if (p.responseTopic !== undefined) n += 3 + stringSize(p.responseTopic, "response topic");
  if (p.correlationData !== undefined) {
    if (p.correlationData.length > 65_535) {
      throw new RangeError("Cannot encode correlation data over 65535 bytes");
    }
    n += 3 + p.correlationData.length;
  }
  const ids = p.subscriptionIdentifiers;
  if (ids !== undefined) { for (const id of ids) n += 1 + varintSize(id); }
  if (p.topicAlias !== undefined) n += 3;
  const user = p.userProperties;
  if (user !== undefined) {
    for (const [k, v] of user) {
      n += 5 + stringSize(k, "user property name") + stringSize(v, "user property value");
    }
  }
  return n;
}

function writeU16(out: Uint8Array, p: number, v: number): number {
  out[p] = v >> 8;
  out[p + 1] = v & 0xff;
  return p + 2;
}

function writeString(out: Uint8Array, p: number, s: string): number {
  const n = writeUtf8(s, out, p + 2);
  writeU16(out, p, n);
  return p + 2 + n;
}

/** Write PUBLISH properties at `p` (size from {@link publishPropertiesSize}); returns the position after. */
export function writePublishProperties(
  out: Uint8Array,
  p: number,
  props: PublishProperties | undefined,
): number {
  if (props === undefined) return p;
  if (props.payloadFormatIndicator !== undefined) {
    out[p++] = 0x01;
    out[p++] = props.payloadFormatIndicator;
  }
  if (props.messageExpiryInterval !== undefined) {
    const v = props.messageExpiryInterval;
    out[p++] = 0x02;
    out[p++] = (v >>> 24) & 0xff;
    out[p++] = (v >>> 16) & 0xff;
    out[p++] = (v >>> 8) & 0xff;
    out[p++] = v & 0xff;
  }
  if (props.contentType !== undefined) {
    out[p++] = 0x03;
    p = writeString(out, p, props.contentType);
  }
  if (props.responseTopic !== undefined) {
    out[p++] = 0x08;
    p = writeString(out, p, props.responseTopic);
  }
  if (props.correlationData !== undefined) {
    out[p++] = 0x09;
    p = writeU16(out, p, props.correlationData.length);
    out.set(props.correlationData, p);
    p += props.correlationData.length;
  }
  if (props.subscriptionIdentifiers !== undefined) {
    for (const id of props.subscriptionIdentifiers) {
      out[p++] = 0x0b;
      p = writeVarint(out, p, id);
    }
  }
  if (props.topicAlias !== undefined) {
    out[p++] = 0x23;
    p = writeU16(out, p, props.topicAlias);
  }
  if (props.userProperties !== undefined) {
    for (const [k, v] of props.userProperties) {
      out[p++] = 0x26;
      p = writeString(out, p, k);
      p = writeString(out, p, v);
    }
  }
  return p;
}
