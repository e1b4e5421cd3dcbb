/**
 * Byte builders and small scenarios shared by the conformance and robustness suites: exact frames for
 * the cases mqtt-packet refuses to generate (bad flags, bad strings, empty payloads), and a publisher /
 * subscriber pair of bystanders that proves a broker still serves other clients.
 * @module
 */

import assert from "node:assert/strict";
import type { Broker } from "../../src/broker.ts";
import { RawClient } from "../_helpers/raw_client.ts";

const encoder = new TextEncoder();

/** A part of a frame: a string (written as UTF-8) or exact bytes. */
export type Bytes = string | number[];

function bytesOf(value: Bytes): number[] {
  return typeof value === "string" ? [...encoder.encode(value)] : value;
}

/** A length-prefixed MQTT string of `value` (UTF-8 of a string, or exact bytes, which may be ill-formed). */
export function str(value: Bytes): number[] {
  const b = bytesOf(value);
  return [b.length >> 8, b.length & 0xff, ...b];
}

/** The Remaining Length encoding of `n` (1 to 4 bytes). */
export function varint(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

/** A whole packet: first byte, Remaining Length, body. */
export function frame(b0: number, body: number[]): number[] {
  return [b0, ...varint(body.length), ...body];
}

/** SUBSCRIBE with exact filter bytes and requested-QoS bytes; `flags` are the fixed-header flags (0010 is valid). */
export function subscribeFrame(packetId: number, entries: Array<[Bytes, number]>, flags = 0x02): number[] {
  const body = [packetId >> 8, packetId & 0xff];
  for (const [filter, options] of entries) body.push(...str(filter), options);
  return frame(0x80 | flags, body);
}

/** UNSUBSCRIBE with exact filter bytes. */
export function unsubscribeFrame(packetId: number, filters: Bytes[], flags = 0x02): number[] {
  const body = [packetId >> 8, packetId & 0xff];
  for (const filter of filters) body.push(...str(filter));
  return frame(0xa0 | flags, body);
}

/** PUBLISH with exact topic bytes. */
export function publishFrame(
  topic: Bytes,
  payload: Bytes,
  options: { qos?: number; packetId?: number; retain?: boolean; dup?: boolean } = {},
): number[] {
  const qos = options.qos ?? 0;
  const b0 = 0x30 | (options.dup ? 0x08 : 0) | (qos << 1) | (options.retain ? 1 : 0);
  const body = [...str(topic)];
  if (qos > 0) {
    const id = options.packetId ?? 1;
    body.push(id >> 8, id & 0xff);
  }
  body.push(...bytesOf(payload));
  return frame(b0, body);
}

/** A valid MQTT 3.1.1 CONNECT (clean session, keep-alive 0). */
export function connectFrame(clientId: string): number[] {
  return frame(0x10, [...str("MQTT"), 4, 0x02, 0, 0, ...str(clientId)]);
}

/** A memory client that completed CONNECT. */
export async function connected(broker: Broker, options: Record<string, unknown> = {}): Promise<RawClient> {
  const c = RawClient.memory(broker);
  const ack = await c.connect(options);
  assert.equal(ack.returnCode, 0, "CONNACK accepted");
  return c;
}

/** Two clients that keep exchanging messages while another connection misbehaves. */
export interface Bystanders {
  readonly publisher: RawClient;
  readonly subscriber: RawClient;
  /** Publish a QoS 1 message and a QoS 0 message and check both arrive; also PINGREQ on both. */
  check(label: string): Promise<void>;
}

let round = 0;

/** Connect a publisher and a subscriber to `by/#` (short, to fit tight topic limits), over memory or TCP (pass the port). */
export async function bystanders(broker: Broker, port?: number): Promise<Bystanders> {
  const open = async (): Promise<RawClient> => {
    const c = port === undefined ? RawClient.memory(broker) : await RawClient.tcp(port);
    const ack = await c.connect();
    assert.equal(ack.returnCode, 0);
    return c;
  };
  const publisher = await open();
  const subscriber = await open();
  const ack = await subscriber.subscribe("by/#", 1, 9);
  assert.deepEqual(ack.granted, [1]);
  let nextId = 1;
  return {
    publisher,
    subscriber,
    async check(label: string): Promise<void> {
      assert.equal(publisher.closed, false, `${label}: the bystander publisher is still connected`);
      assert.equal(subscriber.closed, false, `${label}: the bystander subscriber is still connected`);
      const n = ++round;
      const id = nextId;
      nextId = nextId === 65_535 ? 1 : nextId + 1;
      publisher.publish("by/1", `one ${n}`, { qos: 1, messageId: id });
      const puback = await publisher.expect("puback");
      assert.equal(puback.messageId, id, `${label}: PUBACK id`);
      const m1 = await subscriber.expect("publish");
      assert.equal(m1.payload.toString(), `one ${n}`, `${label}: QoS 1 message arrives`);
      subscriber.send({ cmd: "puback", messageId: m1.messageId });
      publisher.publish("by/0", `zero ${n}`);
      const m0 = await subscriber.expect("publish");
      assert.equal(m0.payload.toString(), `zero ${n}`, `${label}: QoS 0 message arrives`);
      publisher.send({ cmd: "pingreq" });
      await publisher.expect("pingresp");
      subscriber.send({ cmd: "pingreq" });
      await subscriber.expect("pingresp");
    },
  };
}

/** A small seeded PRNG (mulberry32): the same seed gives the same sequence on every runtime. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
