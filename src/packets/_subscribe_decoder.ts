/**
 * SUBSCRIBE and UNSUBSCRIBE, decoded by hand: a client may send one with a hundred thousand entries, so each entry
 * must cost little. A filter whose bytes repeat the previous entry's reuses its string (no second UTF-8 decode),
 * which makes a packet holding one filter many times as cheap to read as its size allows.
 * @module
 */

import { malformed, protocolError } from "../errors.ts";
import type { ProtocolVersion, SubscribePacket, SubscriptionRequest, UnsubscribePacket } from "./types.ts";
import { decodeMqttString } from "./utf8.ts";
import { PROPS, readProperties } from "./_properties.ts";
import { WireReader } from "./_reader.ts";

/** SUBSCRIBE body `bytes[p, end)` (the fixed header's flags were checked by the caller [MQTT-3.8.1-1]). */
export function decodeSubscribe(
  bytes: Uint8Array,
  p: number,
  end: number,
  version: ProtocolVersion,
): SubscribePacket {
  if (end - p < 2) throw malformed("Cannot decode SUBSCRIBE: the packet identifier is missing");
  const packetId = (bytes[p]! << 8) | bytes[p + 1]!;
  p += 2;
  // [MQTT-2.3.1-1]
  if (packetId === 0) throw protocolError("Cannot decode SUBSCRIBE: packet identifier 0");
  let properties: Record<string, unknown> | undefined;
  if (version === 5) {
    const r = new WireReader(bytes, p, end, "SUBSCRIBE");
    properties = readProperties(r, PROPS.subscribe);
    p = r.pos;
  }
  const subscriptions: SubscriptionRequest[] = [];
  let prevStart = -1;
  let prevLen = -1;
  let prevFilter = "";
  let prevOptions = -1;
  let prevRequest: SubscriptionRequest | undefined;
  while (p < end) {
    if (end - p < 2) throw malformed("Cannot decode SUBSCRIBE: a topic filter length is cut short");
    const len = (bytes[p]! << 8) | bytes[p + 1]!;
    p += 2;
    if (p + len > end) {
      throw malformed(`Cannot decode SUBSCRIBE: topic filter length ${len} overruns the packet`);
    }
    let filter: string | undefined;
    let same = false;
    if (len === prevLen && sameBytes(bytes, prevStart, p, len)) {
      filter = prevFilter;
      same = true;
    } else {
      filter = decodeMqttString(bytes, p, p + len);
      // [MQTT-1.5.3-1] [MQTT-1.5.3-2] [MQTT-3.8.3-1]
      if (filter === undefined) {
        throw malformed("Cannot decode SUBSCRIBE: a topic filter is not valid UTF-8 without U+0000");
      }
      prevStart = p;
      prevLen = len;
      prevFilter = filter;
    }
    p += len;
    if (p >= end) throw malformed(`Cannot decode SUBSCRIBE: filter "${filter}" has no options byte`);
    const options = bytes[p++]!;
    // An entry equal to the one before shares its (read-only) request object.
    if (!same || options !== prevOptions) {
      prevRequest = version === 5 ? v5Request(filter, options) : v3Request(filter, options);
      prevOptions = options;
    }
    subscriptions.push(prevRequest!);
  }
  // [MQTT-3.8.3-3] (5.0: MQTT-3.8.3-2)
  if (subscriptions.length === 0) throw protocolError("Cannot decode SUBSCRIBE: it holds no topic filter");
  const packet: SubscribePacket = { type: "subscribe", packetId, subscriptions };
  if (properties !== undefined) packet.properties = properties;
  return packet;
}

/** UNSUBSCRIBE body `bytes[p, end)` (flags checked by the caller [MQTT-3.10.1-1]). */
export function decodeUnsubscribe(
  bytes: Uint8Array,
  p: number,
  end: number,
  version: ProtocolVersion,
): UnsubscribePacket {
  if (end - p < 2) throw malformed("Cannot decode UNSUBSCRIBE: the packet identifier is missing");
  const packetId = (bytes[p]! << 8) | bytes[p + 1]!;
  p += 2;
  // [MQTT-2.3.1-1]
  if (packetId === 0) throw protocolError("Cannot decode UNSUBSCRIBE: packet identifier 0");
  let properties: Record<string, unknown> | undefined;
  if (version === 5) {
    const r = new WireReader(bytes, p, end, "UNSUBSCRIBE");
    properties = readProperties(r, PROPS.unsubscribe);
    p = r.pos;
  }
  const topicFilters: string[] = [];
  let prevStart = -1;
  let prevLen = -1;
  let prevFilter = "";
  while (p < end) {
    if (end - p < 2) throw malformed("Cannot decode UNSUBSCRIBE: a topic filter length is cut short");
    const len = (bytes[p]! << 8) | bytes[p + 1]!;
    p += 2;
    if (p + len > end) {
      throw malformed(`Cannot decode UNSUBSCRIBE: topic filter length ${len} overruns the packet`);
    }
    if (len !== prevLen || !sameBytes(bytes, prevStart, p, len)) {
      const filter = decodeMqttString(bytes, p, p + len);
      // [MQTT-1.5.3-1] [MQTT-1.5.3-2]
      if (filter === undefined) {
        throw malformed("Cannot decode UNSUBSCRIBE: a topic filter is not valid UTF-8 without U+0000");
      }
      prevStart = p;
      prevLen = len;
      prevFilter = filter;
    }
    topicFilters.push(prevFilter);
    p += len;
  }
  // [MQTT-3.10.3-2]
  if (topicFilters.length === 0) throw protocolError("Cannot decode UNSUBSCRIBE: it holds no topic filter");
  const packet: UnsubscribePacket = { type: "unsubscribe", packetId, topicFilters };
  if (properties !== undefined) packet.properties = properties;
  return packet;
}

function v3Request(topicFilter: string, options: number): SubscriptionRequest {
  // The upper six bits are reserved and QoS 3 is not a QoS [MQTT-3.8.3-4].
  if ((options & 0xfc) !== 0 || options === 3) {
    throw malformed(`Cannot decode SUBSCRIBE: requested QoS byte 0x${options.toString(16)} is not 0, 1 or 2`);
  }
  return { topicFilter, qos: options as 0 | 1 | 2 };
}

function v5Request(topicFilter: string, options: number): SubscriptionRequest {
  // Bits 6 and 7 are reserved [MQTT-3.8.3-5] (5.0).
  if ((options & 0xc0) !== 0) {
    throw malformed(`Cannot decode SUBSCRIBE: options byte 0x${options.toString(16)} sets reserved bits`);
  }
  const qos = options & 3;
  const retainHandling = (options >> 4) & 3;
  // QoS 3 and Retain Handling 3 are Protocol Errors (5.0 section 3.8.3.1).
  if (qos === 3) throw protocolError("Cannot decode SUBSCRIBE: maximum QoS 3");
  if (retainHandling === 3) throw protocolError("Cannot decode SUBSCRIBE: retain handling 3");
  return {
    topicFilter,
    qos: qos as 0 | 1 | 2,
    noLocal: (options & 0x04) !== 0,
    retainAsPublished: (options & 0x08) !== 0,
    retainHandling: retainHandling as 0 | 1 | 2,
  };
}

function sameBytes(bytes: Uint8Array, a: number, b: number, len: number): boolean {
  for (let i = 0; i < len; i++) if (bytes[a + i] !== bytes[b + i]) return false;
  return true;
}
