/**
 * The encoder: our Packet objects to wire bytes.
 *
 * PUBLISH (every protocol level, v5 properties included) and the small fixed packets are written by
 * hand on Uint8Array: PUBACK / PUBREC / PUBREL / PUBCOMP, PINGREQ / PINGRESP, CONNACK, SUBACK, UNSUBACK
 * and DISCONNECT in their 3.1.1 forms, and in their 5.0 forms when they carry no properties (AUTH too
 * when it is a bare success). Everything else goes through mqtt-packet's `generate` (see
 * _mqtt_packet.ts; there, v5 user properties whose names interleave come out grouped by name).
 *
 * @example
 * ```ts
 * import { encodePacket, encodePublish } from "./encoder.ts";
 * encodePacket({ type: "puback", packetId: 7 }, 4); // Uint8Array [0x40, 2, 0, 7]
 * const { bytes, packetIdOffset } = encodePublish(
 *   { type: "publish", topic: "a/b", payload: new Uint8Array([1]), qos: 1, retain: false, dup: false },
 *   4,
 * );
 * const copy = bytes.slice(); // one per subscriber, with its own packet id
 * copy[packetIdOffset] = 0x12;
 * copy[packetIdOffset + 1] = 0x34;
 * ```
 * @module
 */

import type { AckPacket, Packet, ProtocolVersion, PublishPacket } from "./types.ts";
import { utf8Length, writeUtf8 } from "./utf8.ts";
import { publishPropertiesSize, varintSize, writePublishProperties, writeVarint } from "./_properties.ts";
import { generateWithMqttPacket } from "./_mqtt_packet.ts";
import { allocBytes } from "./byte_pool.ts";

/** The largest Remaining Length a Variable Byte Integer can carry. */
const MAX_REMAINING_LENGTH = 268_435_455;

const ACK_HEADERS = { puback: 0x40, pubrec: 0x50, pubrel: 0x62, pubcomp: 0x70 } as const;

/**
 * Encode a PUBLISH and say where its 2-byte packet id sits (-1 for QoS 0), so that a caller can encode
 * once and patch a copy per subscriber. A QoS > 0 packet without `packetId` gets 0 there, to be patched.
 * DUP is only ever set on QoS > 0 [MQTT-3.3.1-2]; a QoS 0 PUBLISH carries no packet id [MQTT-2.3.1-5].
 */
export function encodePublish(
  packet: PublishPacket,
  protocolVersion: ProtocolVersion,
): { bytes: Uint8Array; packetIdOffset: number } {
  const { topic, payload, qos } = packet;
  const topicLen = utf8Length(topic);
  if (topicLen > 65_535) {
    throw new RangeError(`Cannot encode PUBLISH: topic is ${topicLen} bytes, more than 65535`);
  }
  const v5 = protocolVersion === 5;
  const propsLen = v5 ? publishPropertiesSize(packet.properties) : 0;
  const rl = 2 + topicLen + (qos > 0 ? 2 : 0) + (v5 ? varintSize(propsLen) + propsLen : 0) + payload.length;
  if (rl > MAX_REMAINING_LENGTH) {
    throw new RangeError(
      `Cannot encode PUBLISH to "${topic}": remaining length ${rl} exceeds ${MAX_REMAINING_LENGTH}`,
    );
  }
  const out = allocBytes(1 + varintSize(rl) + rl);
  out[0] = 0x30 | (qos > 0 && packet.dup ? 0x08 : 0) | (qos << 1) | (packet.retain ? 1 : 0);
  let p = writeVarint(out, 1, rl);
  out[p++] = topicLen >> 8;
  out[p++] = topicLen & 0xff;
  p += writeUtf8(topic, out, p);
  let packetIdOffset = -1;
  if (qos > 0) {
    packetIdOffset = p;
    const id = packet.packetId ?? 0;
    out[p++] = id >> 8;
    out[p++] = id & 0xff;
  }
  if (v5) {
    p = writeVarint(out, p, propsLen);
    p = writePublishProperties(out, p, packet.properties);
  }
  out.set(payload, p);
  return { bytes: out, packetIdOffset };
}

/** Encode any packet for a connection at `protocolVersion`. Throws TypeError / RangeError on a bad packet. */
export function encodePacket(packet: Packet, protocolVersion: ProtocolVersion): Uint8Array {
  const v5 = protocolVersion === 5;
  switch (packet.type) {
    case "publish":
      if (packet.qos > 0) checkPacketId(packet.packetId, "PUBLISH"); // [MQTT-2.3.1-1]
      return encodePublish(packet, protocolVersion).bytes;
    case "puback":
    case "pubrec":
    case "pubrel":
    case "pubcomp":
      if (v5 && hasProperties(packet.properties)) break;
      return encodeAck(packet, v5);
    case "pingreq":
      return bytesOf(0xc0, 0);
    case "pingresp":
      return bytesOf(0xd0, 0);
    case "connack":
      if (v5) break;
      // 3.1.1: Session Present is bit 0 of the acknowledge flags, the rest stays 0.
      return bytesOf(0x20, 2, packet.sessionPresent ? 1 : 0, packet.reasonCode);
    case "suback":
      if (v5 && hasProperties(packet.properties)) break;
      checkPacketId(packet.packetId, "SUBACK");
      return encodeCodesAck(0x90, packet.packetId, packet.reasonCodes, v5);
    case "unsuback":
      if (v5 && hasProperties(packet.properties)) break;
      checkPacketId(packet.packetId, "UNSUBACK");
      if (!v5) return new Uint8Array([0xb0, 2, packet.packetId >> 8, packet.packetId & 0xff]);
      if (packet.reasonCodes === undefined || packet.reasonCodes.length === 0) {
        throw new TypeError("Cannot encode a v5 UNSUBACK without reason codes");
      }
      return encodeCodesAck(0xb0, packet.packetId, packet.reasonCodes, true);
    case "disconnect": {
      if (v5 && hasProperties(packet.properties)) break;
      const rc = v5 ? packet.reasonCode ?? 0 : 0;
      // v5: the reason code may be left out when it is 0 (Normal disconnection) and there are no properties.
      return rc === 0 ? new Uint8Array([0xe0, 0]) : new Uint8Array([0xe0, 1, rc]);
    }
    case "auth":
      // Remaining Length 0 stands for "success, no properties"; anything else goes through mqtt-packet.
      if (v5 && packet.reasonCode === 0 && !hasProperties(packet.properties)) {
        return new Uint8Array([0xf0, 0]);
      }
      break;
    default:
      break;
  }
  return generateWithMqttPacket(packet, protocolVersion);
}

function checkPacketId(id: number | undefined, what: string): void {
  if (id === undefined || !Number.isInteger(id) || id < 1 || id > 65_535) {
    throw new RangeError(`Cannot encode ${what}: packet identifier ${id} is not in 1..65535`);
  }
}

function hasProperties(props: object | undefined): boolean {
  if (props === undefined) return false;
  for (const value of Object.values(props)) if (value !== undefined) return true;
  return false;
}

/** PUBACK, PUBREC, PUBREL (flags 0010 [MQTT-2.2.2-1] [MQTT-3.6.1-1]), PUBCOMP, without properties. */
function encodeAck(packet: AckPacket, v5: boolean): Uint8Array {
  checkPacketId(packet.packetId, packet.type.toUpperCase());
  const id = packet.packetId;
  const rc = v5 ? packet.reasonCode ?? 0 : 0;
  // v5: Reason Code and Property Length may be left out when the code is 0 and there are no properties;
  // a Remaining Length of 3 means "reason code, no properties".
  if (rc === 0) return bytesOf(ACK_HEADERS[packet.type], 2, id >> 8, id & 0xff);
  return bytesOf(ACK_HEADERS[packet.type], 3, id >> 8, id & 0xff, rc);
}

/** A small packet from the byte pool (byte_pool.ts says why). */
function bytesOf(b0: number, b1: number, b2?: number, b3?: number, b4?: number): Uint8Array {
  const n = b2 === undefined ? 2 : b3 === undefined ? 3 : b4 === undefined ? 4 : 5;
  const out = allocBytes(n);
  out[0] = b0;
  out[1] = b1;
  if (n > 2) out[2] = b2!;
  if (n > 3) out[3] = b3!;
  if (n > 4) out[4] = b4!;
  return out;
}

/** SUBACK or v5 UNSUBACK without properties: packet id, [property length 0], one code per filter. */
function encodeCodesAck(header: number, packetId: number, codes: number[], v5: boolean): Uint8Array {
  const rl = 2 + (v5 ? 1 : 0) + codes.length;
  if (rl > MAX_REMAINING_LENGTH) {
    throw new RangeError(`Cannot encode an acknowledgement of ${codes.length} codes`);
  }
  const out = allocBytes(1 + varintSize(rl) + rl);
  out[0] = header;
  let p = writeVarint(out, 1, rl);
  out[p++] = packetId >> 8;
  out[p++] = packetId & 0xff;
  if (v5) out[p++] = 0; // property length [MQTT-2.2.2-1] (5.0: a packet with no properties still says 0)
  for (const code of codes) out[p++] = code;
  return out;
}
