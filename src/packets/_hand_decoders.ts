/**
 * Hand-written decoders for the packets a connection sees most: PUBLISH (the hot path), its acks,
 * and the small DISCONNECT / AUTH bodies, plus the fixed part of CONNECT that must be judged before
 * anything else (protocol name, level, flags). Each takes one complete frame: `bytes[p, end)` is the
 * body after the fixed header.
 * @module
 */

import { malformed, MqttError, protocolError } from "../errors.ts";
import {
  AUTH_REASON_CODES,
  DISCONNECT_REASON_CODES,
  PUBLISH_ACK_REASON_CODES,
  PUBREL_REASON_CODES,
  RC,
} from "./reason_codes.ts";
import type {
  AckPacket,
  AuthPacket,
  DisconnectPacket,
  ProtocolVersion,
  PublishPacket,
  QoS,
} from "./types.ts";
import { decodeMqttString } from "./utf8.ts";
import { PROPS, readProperties } from "./_properties.ts";
import { WireReader } from "./_reader.ts";

/**
 * PUBLISH. `owned` says that `bytes` is a buffer nobody will ever write to again, so the payload may be
 * a view over it; otherwise the payload is copied.
 */
export function decodePublish(
  bytes: Uint8Array,
  b0: number,
  p: number,
  end: number,
  version: ProtocolVersion,
  owned: boolean,
): PublishPacket {
  const qos = (b0 >> 1) & 3;
  if (qos === 3) throw malformed("Cannot decode PUBLISH: both QoS bits are set"); // [MQTT-3.3.1-4]
  // DUP must be 0 on every QoS 0 PUBLISH [MQTT-3.3.1-2]: a client that sets it breaks the protocol.
  if (qos === 0 && (b0 & 8) === 8) {
    throw protocolError("Cannot decode PUBLISH: DUP is set on a QoS 0 message");
  }
  if (end - p < 2) throw malformed("Cannot decode PUBLISH: the topic name is missing");
  const topicLen = (bytes[p] << 8) | bytes[p + 1];
  p += 2;
  if (p + topicLen > end) {
    throw malformed(`Cannot decode PUBLISH: topic length ${topicLen} overruns the packet`);
  }
  const topic = decodeMqttString(bytes, p, p + topicLen);
  if (topic === undefined) {
    // [MQTT-1.5.3-1] [MQTT-1.5.3-2] [MQTT-3.3.2-1]
    throw malformed("Cannot decode PUBLISH: the topic name is not a valid UTF-8 string without U+0000");
  }
  p += topicLen;
  let packetId = 0;
  if (qos > 0) {
    // A QoS 0 PUBLISH has no packet identifier: its bytes belong to the payload [MQTT-2.3.1-5].
    if (end - p < 2) throw malformed("Cannot decode PUBLISH: the packet identifier is missing");
    packetId = (bytes[p] << 8) | bytes[p + 1];
    // [MQTT-2.3.1-1]
    if (packetId === 0) throw protocolError("Cannot decode PUBLISH: QoS > 0 with packet identifier 0");
    p += 2;
  }
  let properties: Record<string, unknown> | undefined;
  if (version === 5) {
    const r = new WireReader(bytes, p, end, "PUBLISH");
    properties = readProperties(r, PROPS.publish);
    p = r.pos;
  }
  const packet: PublishPacket = {
    type: "publish",
    topic,
    payload: owned ? bytes.subarray(p, end) : bytes.slice(p, end),
    qos: qos as QoS,
    retain: (b0 & 1) === 1,
    dup: (b0 & 8) === 8,
  };
  if (qos > 0) packet.packetId = packetId;
  if (properties !== undefined) packet.properties = properties;
  return packet;
}

const ACK_TYPES = ["puback", "pubrec", "pubrel", "pubcomp"] as const;
/** PUBACK, PUBREC, PUBREL, PUBCOMP (packet type 4..7). */
export function decodeAck(
  bytes: Uint8Array,
  type: number,
  p: number,
  end: number,
  version: ProtocolVersion,
): AckPacket {
  const name = ACK_TYPES[type - 4];
  const len = end - p;
  if (version !== 5 ? len !== 2 : len < 2) {
    throw malformed(`Cannot decode ${name.toUpperCase()}: remaining length ${len} is not valid`);
  }
  const packet: AckPacket = { type: name, packetId: (bytes[p] << 8) | bytes[p + 1] };
  if (version !== 5) return packet;
  // v5: the reason code may be left out when 0 and there are no properties; a remaining length below 4
  // means a property length of 0.
  packet.reasonCode = len > 2 ? bytes[p + 2] : 0;
  const allowed = type <= 5 ? PUBLISH_ACK_REASON_CODES : PUBREL_REASON_CODES;
  if (!allowed.has(packet.reasonCode)) {
    throw protocolError(
      `Cannot decode ${name.toUpperCase()}: reason code 0x${
        packet.reasonCode.toString(16)
      } is not defined for it`,
    );
  }
  if (len > 3) {
    const r = new WireReader(bytes, p + 3, end, name.toUpperCase());
    const props = readProperties(r, PROPS.ack);
    if (r.pos !== end) throw malformed(`Cannot decode ${name.toUpperCase()}: bytes after the properties`);
    if (props !== undefined) packet.properties = props;
  }
  return packet;
}

/** DISCONNECT. */
export function decodeDisconnect(
  bytes: Uint8Array,
  p: number,
  end: number,
  version: ProtocolVersion,
): DisconnectPacket {
  const len = end - p;
  if (version !== 5) {
    if (len !== 0) throw malformed(`Cannot decode DISCONNECT: remaining length ${len} is not 0`);
    return { type: "disconnect" };
  }
  const packet: DisconnectPacket = { type: "disconnect", reasonCode: len > 0 ? bytes[p] : 0 };
  if (!DISCONNECT_REASON_CODES.has(packet.reasonCode!)) {
    throw protocolError(
      `Cannot decode DISCONNECT: reason code 0x${packet.reasonCode!.toString(16)} is not defined`,
    );
  }
  if (len > 1) {
    const r = new WireReader(bytes, p + 1, end, "DISCONNECT");
    const props = readProperties(r, PROPS.disconnect);
    if (r.pos !== end) throw malformed("Cannot decode DISCONNECT: bytes after the properties");
    if (props !== undefined) packet.properties = props;
  }
  return packet;
}

/** AUTH (v5 only; the caller refuses type 15 below v5). */
export function decodeAuth(bytes: Uint8Array, p: number, end: number): AuthPacket {
  const len = end - p;
  const packet: AuthPacket = { type: "auth", reasonCode: len > 0 ? bytes[p] : 0 };
  if (!AUTH_REASON_CODES.has(packet.reasonCode)) {
    throw protocolError(`Cannot decode AUTH: reason code 0x${packet.reasonCode.toString(16)} is not defined`);
  }
  if (len > 1) {
    const r = new WireReader(bytes, p + 1, end, "AUTH");
    const props = readProperties(r, PROPS.auth);
    if (r.pos !== end) throw malformed("Cannot decode AUTH: bytes after the properties");
    if (props !== undefined) packet.properties = props;
  }
  return packet;
}

/**
 * Judge the fixed part of a CONNECT body (protocol name, level, connect flags) before anything else,
 * so that an unsupported level is reported on its own (the server answers CONNACK 0x01 / 0x84).
 * Returns the protocol level.
 */
export function checkConnectHeader(bytes: Uint8Array, p: number, end: number): ProtocolVersion {
  if (end - p < 2) throw malformed("Cannot decode CONNECT: the protocol name is missing");
  const nameLen = (bytes[p] << 8) | bytes[p + 1];
  p += 2;
  if (end - p < nameLen + 1) throw malformed("Cannot decode CONNECT: the protocol name or level is missing");
  const isMqtt = nameLen === 4 && bytes[p] === 0x4d && bytes[p + 1] === 0x51 && bytes[p + 2] === 0x54 &&
    bytes[p + 3] === 0x54;
  const isMqisdp = nameLen === 6 && bytes[p] === 0x4d && bytes[p + 1] === 0x51 && bytes[p + 2] === 0x49 &&
    bytes[p + 3] === 0x73 && bytes[p + 4] === 0x64 && bytes[p + 5] === 0x70;
  if (!isMqtt && !isMqisdp) {
    // [MQTT-3.1.2-1]: not MQTT at all, so no CONNACK either.
    const shown = decodeMqttString(bytes, p, p + nameLen) ?? "(invalid UTF-8)";
    throw malformed(`Cannot accept CONNECT: protocol name "${shown}" is neither "MQTT" nor "MQIsdp"`);
  }
  p += nameLen;
  const level = bytes[p++];
  if (isMqtt ? level !== 4 && level !== 5 : level !== 3) {
    // [MQTT-3.1.2-2]
    throw new MqttError(
      RC.unsupportedProtocolVersion,
      `Cannot accept CONNECT: protocol level ${level} is not supported with protocol name "${
        isMqtt ? "MQTT" : "MQIsdp"
      }"`,
    );
  }
  if (p >= end) throw malformed("Cannot decode CONNECT: the connect flags are missing");
  const flags = bytes[p];
  // [MQTT-3.1.2-3]
  if ((flags & 0x01) !== 0) throw malformed("Cannot decode CONNECT: reserved connect flag bit 0 is set");
  const will = (flags & 0x04) !== 0;
  const willQos = (flags >> 3) & 3;
  const willRetain = (flags & 0x20) !== 0;
  if (!will && willQos !== 0) {
    // [MQTT-3.1.2-11] [MQTT-3.1.2-13]
    throw malformed(`Cannot decode CONNECT: will QoS ${willQos} is set without the will flag`);
  }
  // [MQTT-3.1.2-15]
  if (!will && willRetain) throw malformed("Cannot decode CONNECT: will retain is set without the will flag");
  // [MQTT-3.1.2-14]
  if (willQos === 3) throw malformed("Cannot decode CONNECT: will QoS is 3");
  if (level !== 5 && (flags & 0x40) !== 0 && (flags & 0x80) === 0) {
    // [MQTT-3.1.2-22]: 3.1.1 only; v5 allows a password without a user name.
    throw malformed("Cannot decode CONNECT: the password flag is set without the user name flag");
  }
  return level as ProtocolVersion;
}
