/**
 * The bridge to npm `mqtt-packet` (9.0.2): its parser for CONNECT, SUBSCRIBE and UNSUBSCRIBE, its
 * `generate` for the packets the encoder does not write by hand, and the conversions between its
 * packet objects and ours.
 *
 * mqtt-packet decodes strings with Buffer#toString (ill-formed UTF-8 silently becomes U+FFFD) and keeps
 * user properties in an object (order and interleaving lost). So the parser instance gets two methods
 * replaced: `_parseString` validates the raw bytes [MQTT-1.5.3-1] [MQTT-1.5.3-2] and `_parseProperties`
 * is our strict reader from _properties.ts. Both rely on mqtt-packet's private parser layout
 * (`_pos` relative to the packet body, `packet.length` = Remaining Length), pinned by the exact version
 * in package.json and covered by the codec tests.
 * @module
 */

import { Buffer } from "node:buffer";
import { generate, parser } from "mqtt-packet";
import type { Packet as MqttPacket } from "mqtt-packet";
import { malformed, protocolError } from "../errors.ts";
import type { MqttError } from "../errors.ts";
import type { ConnectPacket, Packet, ProtocolVersion } from "./types.ts";
import { decodeMqttString } from "./utf8.ts";
import { PROPS, readProperties } from "./_properties.ts";
import { WireReader } from "./_reader.ts";

/** What mqtt-packet's parser emits, loosely typed (we read only the fields we know). */
// deno-lint-ignore no-explicit-any
type RawPacket = Record<string, any>;

/** The private parts of mqtt-packet's Parser that the bridge uses. */
interface ParserInternals {
  settings: { protocolVersion?: number };
  packet: { cmd: string; length: number };
  _pos: number;
  _parseNum(): number;
  _parseString(): string | null;
  _parseProperties(): Record<string, unknown>;
  parse(buf: Buffer): number;
  on(event: "packet", listener: (packet: RawPacket) => void): unknown;
  on(event: "error", listener: (error: Error) => void): unknown;
}

const EMPTY = new Uint8Array(0);

/** One mqtt-packet parser with strict strings and properties, fed one complete frame at a time. */
export class MqttPacketParser {
  #p: ParserInternals | undefined;
  #bytes: Uint8Array = EMPTY;
  /** Index in #bytes of the packet body, which is where mqtt-packet's `_pos` 0 lies. */
  #base = 0;
  #propertyLists = 0;
  #packet: RawPacket | undefined;
  #endPos = 0;
  #error: Error | undefined;

  #make(): ParserInternals {
    const p = parser() as unknown as ParserInternals;
    p.on("packet", (packet) => {
      this.#packet = packet;
      this.#endPos = p._pos; // still the end of the body: _newPacket resets it after emitting
    });
    p.on("error", (error) => {
      this.#error ??= error;
    });
    p._parseString = () => {
      const len = p._parseNum();
      if (len === -1) return null;
      const start = p._pos;
      if (start + len > p.packet.length) return null;
      const s = decodeMqttString(this.#bytes, this.#base + start, this.#base + start + len);
      if (s === undefined) {
        // [MQTT-1.5.3-1] [MQTT-1.5.3-2]
        throw malformed(
          `Cannot decode ${p.packet.cmd.toUpperCase()}: a string is not valid UTF-8 without U+0000`,
        );
      }
      p._pos = start + len;
      return s;
    };
    p._parseProperties = () => {
      const cmd = p.packet.cmd;
      const kind = cmd === "connect"
        ? (this.#propertyLists++ === 0 ? PROPS.connect : PROPS.will)
        : cmd === "subscribe"
        ? PROPS.subscribe
        : PROPS.unsubscribe;
      const r = new WireReader(
        this.#bytes,
        this.#base + p._pos,
        this.#base + p.packet.length,
        cmd.toUpperCase(),
      );
      const props = readProperties(r, kind);
      p._pos = r.pos - this.#base;
      return props ?? {};
    };
    return p;
  }

  /**
   * Parse the complete frame `bytes[start, end)` whose body begins at `bodyStart`; returns mqtt-packet's
   * packet object (strings and properties already ours). Throws MqttError.
   */
  parse(
    bytes: Uint8Array,
    start: number,
    bodyStart: number,
    end: number,
    version: ProtocolVersion,
  ): RawPacket {
    const p = this.#p ?? this.#make();
    this.#p = undefined; // re-used only after a clean parse: a throw leaves its state half-way
    this.#bytes = bytes;
    this.#base = bodyStart;
    this.#propertyLists = 0;
    this.#packet = undefined;
    this.#error = undefined;
    p.settings = { protocolVersion: version };
    try {
      p.parse(Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start));
    } finally {
      this.#bytes = EMPTY;
    }
    // (read through a cast: TypeScript cannot see that the listeners above assigned these)
    const packet = this.#packet as RawPacket | undefined;
    const error = this.#error as Error | undefined;
    this.#packet = undefined;
    this.#error = undefined;
    if (error !== undefined) throw mapError(error, version);
    if (packet === undefined) throw malformed("Cannot decode packet: it ended early");
    if (this.#endPos !== packet.length) {
      throw malformed(
        `Cannot decode ${String(packet.cmd).toUpperCase()}: unexpected bytes after its last field`,
      );
    }
    this.#p = p;
    return packet;
  }
}

function mapError(error: Error, version: ProtocolVersion): MqttError {
  const msg = error.message;
  // 5.0 section 3.8.3.1: Retain Handling 3 and Maximum QoS 3 are Protocol Errors; in 3.1.1 a QoS byte
  // that is not 0..2 makes the SUBSCRIBE malformed [MQTT-3.8.3-4].
  if (
    msg.startsWith("Invalid retain handling") || (version === 5 && msg.startsWith("Invalid subscribe QoS"))
  ) {
    return protocolError(`Cannot decode SUBSCRIBE: ${msg}`);
  }
  return malformed(`Cannot decode packet: ${msg}`);
}

function copy(buf: Uint8Array): Uint8Array {
  return new Uint8Array(buf);
}

/** mqtt-packet's CONNECT object as our ConnectPacket (the header was already checked by hand). */
export function toConnect(raw: RawPacket): ConnectPacket {
  const packet: ConnectPacket = {
    type: "connect",
    protocolName: raw.protocolId,
    protocolVersion: raw.protocolVersion,
    clean: raw.clean,
    keepalive: raw.keepalive,
    clientId: raw.clientId,
  };
  if (raw.will !== undefined) {
    const w = raw.will;
    packet.will = { topic: w.topic, payload: copy(w.payload), qos: w.qos, retain: w.retain };
    if (w.properties !== undefined) packet.will.properties = w.properties;
  }
  if (raw.username !== undefined) packet.username = raw.username;
  if (raw.password !== undefined) packet.password = copy(raw.password);
  if (raw.properties !== undefined) packet.properties = raw.properties;
  return packet;
}

// ---------------------------------------------------------------------------------------------------------
// Generating

function toBuffer(u8: Uint8Array): Buffer {
  return Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
}

/** Properties whose mqtt-packet type is 'byte' (it wants a boolean). */
const BOOLEAN_PROPS = new Set([
  "payloadFormatIndicator",
  "requestResponseInformation",
  "requestProblemInformation",
  "retainAvailable",
  "wildcardSubscriptionAvailable",
  "subscriptionIdentifiersAvailable",
  "sharedSubscriptionAvailable",
]);

/**
 * Our properties in mqtt-packet's form: user properties as an object (values of a repeated name become
 * an array, so names that interleave lose their relative order), Uint8Array as Buffer, 0/1 flags as
 * booleans, `subscriptionIdentifiers` as `subscriptionIdentifier`.
 */
export function toMqttProperties(props: object | undefined): Record<string, unknown> | undefined {
  if (props === undefined) return undefined;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined) continue;
    if (key === "userProperties") {
      const obj: Record<string, string | string[]> = Object.create(null);
      for (const [k, v] of value as Array<[string, string]>) {
        const prev = obj[k];
        obj[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
      }
      out.userProperties = obj;
    } else if (key === "subscriptionIdentifiers") {
      const ids = value as number[];
      out.subscriptionIdentifier = ids.length === 1 ? ids[0] : ids;
    } else if (value instanceof Uint8Array) {
      out[key] = toBuffer(value);
    } else if (BOOLEAN_PROPS.has(key) && typeof value === "number") {
      out[key] = value !== 0;
    } else {
      out[key] = value;
    }
  }
  return out;
}

/** Our packet as an mqtt-packet object, for `generate` (and for the tests that compare with it). */
export function toMqttPacket(packet: Packet, version: ProtocolVersion): MqttPacket {
  const props = toMqttProperties("properties" in packet ? packet.properties : undefined);
  let raw: Record<string, unknown>;
  switch (packet.type) {
    case "connect": {
      raw = {
        cmd: "connect",
        protocolId: packet.protocolName,
        protocolVersion: packet.protocolVersion,
        clean: packet.clean,
        keepalive: packet.keepalive,
        clientId: packet.clientId,
      };
      if (packet.will !== undefined) {
        const w = packet.will;
        raw.will = {
          topic: w.topic,
          payload: toBuffer(w.payload),
          qos: w.qos,
          retain: w.retain,
          properties: toMqttProperties(w.properties),
        };
      }
      if (packet.username !== undefined) raw.username = packet.username;
      if (packet.password !== undefined) raw.password = toBuffer(packet.password);
      break;
    }
    case "connack":
      raw = { cmd: "connack", sessionPresent: packet.sessionPresent };
      raw[version === 5 ? "reasonCode" : "returnCode"] = packet.reasonCode;
      break;
    case "publish":
      raw = {
        cmd: "publish",
        topic: packet.topic,
        payload: toBuffer(packet.payload),
        qos: packet.qos,
        dup: packet.dup,
        retain: packet.retain,
        messageId: packet.packetId,
      };
      break;
    case "puback":
    case "pubrec":
    case "pubrel":
    case "pubcomp":
      raw = { cmd: packet.type, messageId: packet.packetId, reasonCode: packet.reasonCode ?? 0 };
      break;
    case "subscribe":
      raw = {
        cmd: "subscribe",
        messageId: packet.packetId,
        subscriptions: packet.subscriptions.map((s) => ({
          topic: s.topicFilter,
          qos: s.qos,
          nl: s.noLocal ?? false,
          rap: s.retainAsPublished ?? false,
          rh: s.retainHandling ?? 0,
        })),
      };
      break;
    case "suback":
      raw = { cmd: "suback", messageId: packet.packetId, granted: packet.reasonCodes };
      break;
    case "unsubscribe":
      raw = { cmd: "unsubscribe", messageId: packet.packetId, unsubscriptions: packet.topicFilters };
      break;
    case "unsuback":
      raw = { cmd: "unsuback", messageId: packet.packetId, granted: packet.reasonCodes ?? [] };
      break;
    case "pingreq":
    case "pingresp":
      raw = { cmd: packet.type };
      break;
    case "disconnect":
      raw = { cmd: "disconnect", reasonCode: packet.reasonCode ?? 0 };
      break;
    case "auth":
      raw = { cmd: "auth", reasonCode: packet.reasonCode };
      break;
  }
  if (props !== undefined) raw.properties = props;
  return raw as unknown as MqttPacket;
}

/** Encode with mqtt-packet's `generate`; its errors become TypeError with our wording. */
export function generateWithMqttPacket(packet: Packet, version: ProtocolVersion): Uint8Array {
  let buf: Buffer;
  try {
    buf = generate(toMqttPacket(packet, version), { protocolVersion: version });
  } catch (error) {
    throw new TypeError(`Cannot encode ${packet.type.toUpperCase()}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return new Uint8Array(buf); // a plain Uint8Array of our own, not a view into Buffer's shared pool
}
