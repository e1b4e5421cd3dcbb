/**
 * Helpers for the MQTT 5.0 conformance suites: brokers that close themselves, connected v5 clients, exact byte
 * builders for what mqtt-packet will not generate (ill-formed strings, interleaved user properties, bad flags), and
 * an independent reader for v5 frames the broker writes (property order, Variable Byte Integer widths, flag bits),
 * written from the standard and not from the broker's codec.
 * @module
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import mqtt from "mqtt-packet";
import type { Broker } from "../../../src/broker.ts";
import type { Hook } from "../../../src/hooks/hook.ts";
import { connectMemory, type MemoryPeer } from "../../../src/transport/memory.ts";
import { type AnyPacket, RawClient } from "../../_helpers/raw_client.ts";
import { tcpBroker, testBroker, until } from "../../_helpers/broker.ts";

/** What testBroker takes: broker options plus the auth hook to put first. */
export type TestBrokerOptions = NonNullable<Parameters<typeof testBroker>[0]>;

/** Run `body` against a fresh in-memory broker that is closed afterwards, pass or fail. */
export async function withBroker(
  body: (broker: Broker) => Promise<void>,
  options: TestBrokerOptions = {},
): Promise<void> {
  const broker = testBroker(options);
  try {
    await body(broker);
  } finally {
    await broker.close();
  }
}

/**
 * Run `body` against a broker on an ephemeral 127.0.0.1 TCP port; `open` makes a v5 client socket. Clients and
 * broker are closed afterwards, pass or fail.
 */
export async function withTcpBroker(
  body: (broker: Broker, open: () => Promise<RawClient>) => Promise<void>,
  options: TestBrokerOptions = {},
): Promise<void> {
  const { broker, port } = await tcpBroker(options);
  const clients: RawClient[] = [];
  const open = async (): Promise<RawClient> => {
    const c = await RawClient.tcp(port, 5);
    clients.push(c);
    return c;
  };
  try {
    await body(broker, open);
  } finally {
    for (const c of clients) c.destroy();
    await broker.close();
  }
}

/** A v5 client over the in-memory transport that completed CONNECT with reason code 0. */
export async function client5(broker: Broker, options: AnyPacket = {}): Promise<RawClient> {
  const c = RawClient.memory(broker, 5);
  const ack = await c.connect(options);
  assert.equal(ack.reasonCode, 0, `CONNACK accepted (got 0x${Number(ack.reasonCode).toString(16)})`);
  return c;
}

/** SUBSCRIBE (v5) with options per filter and an optional Subscription Identifier; returns the SUBACK. */
export async function subscribe5(
  c: RawClient,
  entries: Array<[string, number, { nl?: boolean; rap?: boolean; rh?: number }?]>,
  options: { id?: number; messageId?: number } = {},
): Promise<AnyPacket> {
  c.send({
    cmd: "subscribe",
    messageId: options.messageId ?? 1,
    properties: options.id === undefined ? undefined : { subscriptionIdentifier: options.id },
    subscriptions: entries.map(([topic, qos, o]) => ({
      topic,
      qos,
      nl: o?.nl ?? false,
      rap: o?.rap ?? false,
      rh: o?.rh ?? 0,
    })),
  });
  return await c.expect("suback");
}

/** A connected v5 client subscribed to `filter` at `qos` (granted as asked). */
export async function subscriber5(
  broker: Broker,
  filter: string,
  qos: number,
  connect: AnyPacket = {},
  options: { id?: number; rap?: boolean; rh?: number } = {},
): Promise<RawClient> {
  const c = await client5(broker, connect);
  const ack = await subscribe5(c, [[filter, qos, { rap: options.rap, rh: options.rh }]], { id: options.id });
  assert.deepEqual(ack.granted, [qos]);
  return c;
}

/** Expect a DISCONNECT with `code` from the broker, then the close. */
export async function expectDisconnect(c: RawClient, code: number): Promise<AnyPacket> {
  const d = await c.expect("disconnect");
  assert.equal(d.reasonCode, code, `DISCONNECT reason code 0x${Number(d.reasonCode).toString(16)}`);
  assert.equal(await c.waitClosed(), true, "the connection is closed after DISCONNECT");
  return d;
}

/** End a client's connection abruptly (no DISCONNECT) and wait until the broker has seen it. */
export async function drop(broker: Broker, c: RawClient | Tap5, clientId: string): Promise<void> {
  c.destroy();
  await until(() => broker.getClient(clientId) === undefined, 1000, `${clientId} to be gone`);
}

/** Let queued microtasks (the in-memory transport) run. */
export async function settle(ms = 10): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

// ---- CONNECT helpers -------------------------------------------------------------------------------------

/** The fixed part of a v5 CONNECT for `RawClient.send` (add clientId and the rest). */
export const CONNECT5 = { cmd: "connect", protocolId: "MQTT", protocolVersion: 5, clean: true, keepalive: 0 };

/** The broker closed the connection and sent nothing (the option it takes over a CONNACK 0x80+). */
export async function closedSilently(c: RawClient): Promise<void> {
  assert.equal(await c.waitClosed(), true, "the connection is closed");
  assert.deepEqual(c.packets.map((p: AnyPacket) => p.cmd), [], "nothing was sent before the close");
}

/** A refused connection: CONNACK with `code`, Session Present 0, then close. */
export async function refusedWith(c: RawClient, code: number): Promise<AnyPacket> {
  const ack = await c.expect("connack");
  assert.equal(ack.reasonCode, code, `CONNACK reason code 0x${Number(ack.reasonCode).toString(16)}`);
  assert.equal(ack.sessionPresent, false);
  assert.equal(await c.waitClosed(), true, "the connection is closed after a refusing CONNACK");
  return ack;
}

/** An auth hook that allows every client but the ones whose user name is "deny". */
export const denyByName: Hook = {
  id: "deny-by-name",
  onAuthenticate: (_c, packet) => packet.username === "deny" ? "deny" : "allow",
};

// ---- byte builders --------------------------------------------------------------------------------------

const enc = new TextEncoder();

/** Big-endian 2-byte integer. */
export function u16(n: number): number[] {
  return [(n >> 8) & 0xff, n & 0xff];
}

/** Big-endian 4-byte integer. */
export function u32(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

/** Variable Byte Integer in the fewest bytes. */
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

/** A length-prefixed string: UTF-8 of a JS string, or exact bytes (which may be ill-formed on purpose). */
export function str(s: string | number[]): number[] {
  const b = typeof s === "string" ? [...enc.encode(s)] : s;
  return [...u16(b.length), ...b];
}

/** UTF-8 bytes of a text. */
export function text(s: string): number[] {
  return [...enc.encode(s)];
}

/** Property Length and the properties. */
export function props(...parts: number[][]): number[] {
  const body = parts.flat();
  return [...varint(body.length), ...body];
}

/** A User Property (0x26) entry. */
export function userProp(key: string | number[], value: string | number[]): number[] {
  return [0x26, ...str(key), ...str(value)];
}

/** A whole packet: first byte, Remaining Length, body parts. */
export function frame(b0: number, ...parts: number[][]): number[] {
  const body = parts.flat();
  return [b0, ...varint(body.length), ...body];
}

/** A v5 CONNECT from its connect flags, keep-alive, properties (already with length) and payload bytes. */
export function connect5Bytes(
  options: {
    flags?: number;
    keepalive?: number;
    properties?: number[];
    payload: number[];
    name?: string;
    level?: number;
  },
): number[] {
  return frame(
    0x10,
    str(options.name ?? "MQTT"),
    [options.level ?? 5, options.flags ?? 0x02],
    u16(options.keepalive ?? 0),
    options.properties ?? props(),
    options.payload,
  );
}

/** A v5 PUBLISH from exact parts. */
export function publish5Bytes(
  options: {
    topic: string | number[];
    payload?: string | number[];
    qos?: number;
    dup?: boolean;
    retain?: boolean;
    packetId?: number;
    properties?: number[];
  },
): number[] {
  const qos = options.qos ?? 0;
  const b0 = 0x30 | (options.dup ? 0x08 : 0) | (qos << 1) | (options.retain ? 1 : 0);
  const payload = typeof options.payload === "string" ? text(options.payload) : options.payload ?? [];
  return frame(
    b0,
    str(options.topic),
    qos > 0 ? u16(options.packetId ?? 1) : [],
    options.properties ?? props(),
    payload,
  );
}

// ---- independent reader of v5 frames --------------------------------------------------------------------

/** One packet as it was on the wire. */
export interface Frame5 {
  readonly type: number;
  readonly flags: number;
  /** Bytes used by the Remaining Length and whether that is the fewest possible. */
  readonly remainingLengthBytes: number;
  readonly body: Uint8Array;
  readonly bytes: Uint8Array;
}

/** A Variable Byte Integer read at `pos`: its value, its width, and whether the width is the fewest possible. */
export function readVarint(
  bytes: Uint8Array,
  pos: number,
): { value: number; size: number; minimal: boolean } {
  let value = 0;
  let mul = 1;
  let size = 0;
  for (;;) {
    const b = bytes[pos + size];
    if (b === undefined) throw new Error(`Variable Byte Integer runs past the end at ${pos}`);
    value += (b & 0x7f) * mul;
    mul *= 128;
    size++;
    if ((b & 0x80) === 0) break;
    if (size === 4) throw new Error("Variable Byte Integer longer than 4 bytes");
  }
  return { value, size, minimal: size === varint(value).length };
}

const P_BYTE = new Set([0x01, 0x17, 0x19, 0x24, 0x25, 0x28, 0x29, 0x2a]);
const P_U16 = new Set([0x13, 0x21, 0x22, 0x23]);
const P_U32 = new Set([0x02, 0x11, 0x18, 0x27]);
const P_VARINT = new Set([0x0b]);
const P_STRING = new Set([0x03, 0x08, 0x12, 0x15, 0x1a, 0x1c, 0x1f]);
const P_BINARY = new Set([0x09, 0x16]);

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** One property as read from the wire. */
export interface WireProperty {
  readonly id: number;
  /** number, string, [name, value] for a user property, or the raw bytes for binary data. */
  readonly value: number | string | [string, string] | Uint8Array;
  /** For strings: the exact bytes. */
  readonly raw?: Uint8Array;
  /** For Variable Byte Integers: whether the width is minimal. */
  readonly minimal?: boolean;
}

/** Read a Property Length and the properties after it, in order. */
export function readProperties(
  bytes: Uint8Array,
  pos: number,
): { properties: WireProperty[]; end: number; lengthMinimal: boolean } {
  const len = readVarint(bytes, pos);
  let p = pos + len.size;
  const end = p + len.value;
  const out: WireProperty[] = [];
  const string = (): { s: string; raw: Uint8Array } => {
    const n = (bytes[p]! << 8) | bytes[p + 1]!;
    const raw = bytes.slice(p + 2, p + 2 + n);
    p += 2 + n;
    return { s: strictUtf8.decode(raw), raw };
  };
  while (p < end) {
    const id = bytes[p++]!;
    if (P_BYTE.has(id)) out.push({ id, value: bytes[p++]! });
    else if (P_U16.has(id)) {
      out.push({ id, value: (bytes[p]! << 8) | bytes[p + 1]! });
      p += 2;
    } else if (P_U32.has(id)) {
      out.push({
        id,
        value: ((bytes[p]! << 24) >>> 0) + (bytes[p + 1]! << 16) + (bytes[p + 2]! << 8) + bytes[p + 3]!,
      });
      p += 4;
    } else if (P_VARINT.has(id)) {
      const v = readVarint(bytes, p);
      out.push({ id, value: v.value, minimal: v.minimal });
      p += v.size;
    } else if (P_STRING.has(id)) {
      const { s, raw } = string();
      out.push({ id, value: s, raw });
    } else if (P_BINARY.has(id)) {
      const n = (bytes[p]! << 8) | bytes[p + 1]!;
      out.push({ id, value: bytes.slice(p + 2, p + 2 + n) });
      p += 2 + n;
    } else if (id === 0x26) {
      const k = string();
      const v = string();
      out.push({ id, value: [k.s, v.s] });
    } else throw new Error(`Unknown property identifier 0x${id.toString(16)} at ${p - 1}`);
  }
  if (p !== end) throw new Error(`Properties end at ${p}, the Property Length says ${end}`);
  return { properties: out, end, lengthMinimal: len.minimal };
}

/** A PUBLISH frame taken apart: topic (exact bytes too), packet id, properties in order, payload. */
export interface PublishParts {
  readonly qos: number;
  readonly dup: boolean;
  readonly retain: boolean;
  readonly topic: string;
  readonly topicBytes: Uint8Array;
  readonly packetId: number | undefined;
  readonly properties: WireProperty[];
  readonly propertyLengthMinimal: boolean;
  readonly payload: Uint8Array;
}

/** Take a v5 PUBLISH frame apart. */
export function publishParts(f: Frame5): PublishParts {
  assert.equal(f.type, 3, "a PUBLISH frame");
  const b = f.body;
  const qos = (f.flags >> 1) & 3;
  const n = (b[0]! << 8) | b[1]!;
  const topicBytes = b.slice(2, 2 + n);
  let p = 2 + n;
  let packetId: number | undefined;
  if (qos > 0) {
    packetId = (b[p]! << 8) | b[p + 1]!;
    p += 2;
  }
  const { properties, end, lengthMinimal } = readProperties(b, p);
  return {
    qos,
    dup: (f.flags & 8) !== 0,
    retain: (f.flags & 1) !== 0,
    topic: strictUtf8.decode(topicBytes),
    topicBytes,
    packetId,
    properties,
    propertyLengthMinimal: lengthMinimal,
    payload: b.slice(end),
  };
}

/** The values of property `id` in a list, in order. */
export function propertyValues(list: WireProperty[], id: number): WireProperty["value"][] {
  return list.filter((p) => p.id === id).map((p) => p.value);
}

/** Split a byte stream into frames by the fixed header, independently of any codec. */
class FrameSplitter {
  #pending = new Uint8Array(0);

  push(chunk: Uint8Array, out: Frame5[]): void {
    const all = new Uint8Array(this.#pending.length + chunk.length);
    all.set(this.#pending);
    all.set(chunk, this.#pending.length);
    let pos = 0;
    while (all.length - pos >= 2) {
      let rl = 0;
      let mul = 1;
      let i = pos + 1;
      let complete = false;
      for (; i < all.length && i <= pos + 4; i++) {
        rl += (all[i]! & 0x7f) * mul;
        mul *= 128;
        if ((all[i]! & 0x80) === 0) {
          complete = true;
          i++;
          break;
        }
      }
      if (!complete || i + rl > all.length) break;
      const bytes = all.slice(pos, i + rl);
      out.push({
        type: all[pos]! >> 4,
        flags: all[pos]! & 0x0f,
        remainingLengthBytes: i - pos - 1,
        body: bytes.subarray(i - pos),
        bytes,
      });
      pos = i + rl;
    }
    this.#pending = all.slice(pos);
  }
}

/** Decode one v5 frame with mqtt-packet (the independent oracle). */
export function decode5(f: Frame5): AnyPacket {
  let out: AnyPacket;
  let error: Error | undefined;
  const parser = mqtt.parser({ protocolVersion: 5 });
  parser.on("packet", (p: AnyPacket) => (out = p));
  parser.on("error", (e: Error) => (error = e));
  parser.parse(Buffer.from(f.bytes));
  if (error !== undefined) throw error;
  return out;
}

/** An in-memory v5 connection that records the broker's output as raw frames. */
export class Tap5 {
  readonly frames: Frame5[] = [];
  closed = false;
  #peer: MemoryPeer;
  #splitter = new FrameSplitter();

  constructor(broker: Broker) {
    this.#peer = connectMemory(broker.accept);
    this.#peer.onData = (b) => this.#splitter.push(b, this.frames);
    this.#peer.onClose = () => {
      this.closed = true;
    };
  }

  /** Send a packet described as mqtt-packet takes it (v5). */
  send(packet: AnyPacket): void {
    this.#peer.write(mqtt.generate(packet, { protocolVersion: 5 }));
  }

  /** Send exact bytes. */
  sendBytes(bytes: number[] | Uint8Array): void {
    this.#peer.write(bytes instanceof Uint8Array ? bytes : Uint8Array.from(bytes));
  }

  /** CONNECT (v5, Clean Start unless told) and wait for the CONNACK frame. */
  async connect(options: AnyPacket = {}): Promise<Frame5> {
    this.send({
      cmd: "connect",
      protocolId: "MQTT",
      protocolVersion: 5,
      clean: true,
      keepalive: 0,
      clientId: "t" + Math.random().toString(16).slice(2, 10),
      ...options,
    });
    return await this.waitFor(2);
  }

  /** Wait for the first recorded frame of `type` not yet taken, and take it. */
  async waitFor(type: number, ms = 2000): Promise<Frame5> {
    const end = Date.now() + ms;
    for (;;) {
      const i = this.frames.findIndex((f) => f.type === type);
      if (i >= 0) return this.frames.splice(i, 1)[0]!;
      if (this.closed) throw new Error(`Connection closed while waiting for packet type ${type}`);
      if (Date.now() > end) throw new Error(`No packet of type ${type} within ${ms} ms`);
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  /** Frames that arrive within `ms`, taken. */
  async collect(ms: number): Promise<Frame5[]> {
    await new Promise((r) => setTimeout(r, ms));
    return this.frames.splice(0);
  }

  /** Close from the client side. */
  destroy(): void {
    this.#peer.close();
  }
}

/** Connect a Tap5 and subscribe it; returns it once the SUBACK frame arrived. */
export async function tapSubscriber(
  broker: Broker,
  filter: string,
  qos: number,
  connect: AnyPacket = {},
): Promise<Tap5> {
  const tap = new Tap5(broker);
  const ack = decode5(await tap.connect(connect));
  assert.equal(ack.reasonCode, 0);
  tap.send({
    cmd: "subscribe",
    messageId: 1,
    subscriptions: [{ topic: filter, qos, nl: false, rap: false, rh: 0 }],
  });
  await tap.waitFor(9);
  return tap;
}
