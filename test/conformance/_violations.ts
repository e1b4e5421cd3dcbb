/**
 * Protocol violations as exact bytes, named for test titles: shared by the 4.8 conformance suite (memory)
 * and the robustness suite (TCP and memory).
 * @module
 */

import { connectFrame, frame, publishFrame, str, subscribeFrame, unsubscribeFrame } from "./_wire.ts";

/** Violations sent after a successful CONNECT: [what, bytes]. */
export const VIOLATIONS_AFTER_CONNECT: ReadonlyArray<readonly [string, number[]]> = [
  ["a PUBLISH with both QoS bits set", frame(0x36, [...str("t"), 0, 1, 0x78])],
  ["a PUBREL with flags 0000", [0x60, 0x02, 0x00, 0x01]],
  ["a PUBACK with flag bits set", [0x42, 0x02, 0x00, 0x01]],
  ["a PINGREQ with flag bits set", [0xc1, 0x00]],
  ["a PINGREQ with a body", [0xc0, 0x01, 0x00]],
  ["a DISCONNECT with a body", [0xe0, 0x01, 0x00]],
  ["a CONNACK (server-only packet)", [0x20, 0x02, 0x00, 0x00]],
  ["a SUBACK (server-only packet)", [0x90, 0x03, 0x00, 0x01, 0x00]],
  ["an UNSUBACK (server-only packet)", [0xb0, 0x02, 0x00, 0x01]],
  ["a PINGRESP (server-only packet)", [0xd0, 0x00]],
  ["the reserved packet type 0", [0x00, 0x00]],
  ["an AUTH packet on a 3.1.1 connection", [0xf0, 0x00]],
  ["a second CONNECT", connectFrame("again")],
  ["a QoS 1 PUBLISH with packet identifier 0", publishFrame("t", "x", { qos: 1, packetId: 0 })],
  ["a SUBSCRIBE with packet identifier 0", subscribeFrame(0, [["t", 0]])],
  ["an UNSUBSCRIBE with packet identifier 0", unsubscribeFrame(0, ["t"])],
  ["a Remaining Length of five bytes", [0x30, 0xff, 0xff, 0xff, 0xff, 0x01]],
  ["a PUBLISH whose topic length overruns the packet", [0x30, 0x03, 0x00, 0x05, 0x61]],
  ["a QoS 1 PUBLISH cut before its packet identifier", [0x32, 0x04, 0x00, 0x02, 0x61, 0x62]],
  ["a SUBSCRIBE whose last filter lacks its QoS byte", frame(0x82, [0x00, 0x01, ...str("a")])],
  ["a SUBSCRIBE with a stray byte after its last pair", frame(0x82, [0x00, 0x01, ...str("a"), 0x00, 0x00])],
  ["an UNSUBSCRIBE with a truncated filter", frame(0xa2, [0x00, 0x01, 0x00, 0x05, 0x61])],
  ["a PUBACK with a Remaining Length of 3", [0x40, 0x03, 0x00, 0x01, 0x00]],
  ["a PUBCOMP with a Remaining Length of 1", [0x70, 0x01, 0x00]],
  ["a PUBLISH topic with ill-formed UTF-8", publishFrame([0x61, 0xc3, 0x28], "x")],
  ["a PUBLISH topic with an encoded surrogate", publishFrame([0xed, 0xb0, 0x80], "x")],
  ["a PUBLISH topic with U+0000", publishFrame([0x61, 0x00], "x")],
  ["a PUBLISH topic with a wildcard", publishFrame("a/+/c", "x", { qos: 1, packetId: 2 })],
  ["a PUBLISH with an empty topic", publishFrame("", "x")],
  ["a SUBSCRIBE with a requested QoS of 3", subscribeFrame(3, [["a", 3]])],
  ["a SUBSCRIBE with no topic filter", [0x82, 0x02, 0x00, 0x04]],
  ["an UNSUBSCRIBE with no topic filter", [0xa2, 0x02, 0x00, 0x04]],
];

/** Violations sent instead of a valid CONNECT. */
export const VIOLATIONS_BEFORE_CONNECT: ReadonlyArray<readonly [string, number[]]> = [
  ["a PINGREQ before CONNECT", [0xc0, 0x00]],
  ["a PUBLISH before CONNECT", publishFrame("t", "x")],
  ["an HTTP request instead of CONNECT", [...new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n")]],
  ["a CONNECT with a truncated client id", frame(0x10, [...str("MQTT"), 4, 0x02, 0, 0, 0x00, 0x05, 0x61])],
  ["a CONNECT with trailing bytes", frame(0x10, [...str("MQTT"), 4, 0x02, 0, 0, ...str("id"), 0x00])],
  ["a CONNECT with reserved flags in the fixed header", [0x11, ...connectFrame("f").slice(1)]],
];
