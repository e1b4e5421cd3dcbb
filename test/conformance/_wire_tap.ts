/**
 * A byte-level view of what the broker writes, for statements about exact bits (reserved flags, DUP, RETAIN,
 * where a packet identifier sits) that a decoded packet would hide. Frames are split here by hand from the fixed
 * header and Remaining Length, independently of both the broker's codec and mqtt-packet.
 * @module
 */

import { Buffer } from "node:buffer";
import mqtt from "mqtt-packet";
import type { Broker } from "../../src/broker.ts";
import { connectMemory, type MemoryPeer } from "../../src/transport/memory.ts";
import type { AnyPacket } from "../_helpers/raw_client.ts";

/** One packet as it was on the wire. */
export interface Frame {
  /** Packet type (high nibble of the first byte). */
  readonly type: number;
  /** Fixed-header flags (low nibble of the first byte). */
  readonly flags: number;
  /** The body after the fixed header. */
  readonly body: Uint8Array;
  /** The whole packet. */
  readonly bytes: Uint8Array;
}

/** An in-memory connection that records the broker's output as raw frames. */
export class WireTap {
  readonly frames: Frame[] = [];
  closed = false;
  #peer: MemoryPeer;
  #pending = new Uint8Array(0);

  constructor(broker: Broker) {
    this.#peer = connectMemory(broker.accept);
    this.#peer.onData = (b) => this.#take(b);
    this.#peer.onClose = () => {
      this.closed = true;
    };
  }

  /** Send a packet described as mqtt-packet takes it. */
  send(packet: AnyPacket): void {
    this.#peer.write(mqtt.generate(packet, { protocolVersion: 4 }));
  }

  /** Send exact bytes. */
  sendBytes(bytes: number[] | Uint8Array): void {
    this.#peer.write(bytes instanceof Uint8Array ? bytes : Uint8Array.from(bytes));
  }

  /** CONNECT (3.1.1, clean session unless told) and wait for the CONNACK frame. */
  async connect(clientId: string, clean = true): Promise<Frame> {
    this.send({ cmd: "connect", protocolId: "MQTT", protocolVersion: 4, clientId, clean, keepalive: 0 });
    return await this.waitFor(2);
  }

  /** Wait for the first recorded frame of `type` not yet taken, and take it. */
  async waitFor(type: number, ms = 2000): Promise<Frame> {
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
  async collect(ms: number): Promise<Frame[]> {
    await new Promise((r) => setTimeout(r, ms));
    return this.frames.splice(0);
  }

  /** Close from the client side. */
  destroy(): void {
    this.#peer.close();
  }

  #take(chunk: Uint8Array): void {
    const all = new Uint8Array(this.#pending.length + chunk.length);
    all.set(this.#pending);
    all.set(chunk, this.#pending.length);
    let pos = 0;
    for (;;) {
      if (all.length - pos < 2) break;
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
      this.frames.push({
        type: all[pos]! >> 4,
        flags: all[pos]! & 0x0f,
        body: bytes.subarray(i - pos),
        bytes,
      });
      pos = i + rl;
    }
    this.#pending = all.slice(pos);
  }
}

/** The UTF-8 bytes of `s` with their two-byte length prefix, as an MQTT string is encoded. */
export function mqttString(s: string | number[]): number[] {
  const b = typeof s === "string" ? [...new TextEncoder().encode(s)] : s;
  return [b.length >> 8, b.length & 0xff, ...b];
}

/** A PUBLISH packet from its parts, byte for byte (single-byte Remaining Length, so keep it small). */
export function publishBytes(
  options: {
    topic: string | number[];
    payload?: number[] | string;
    qos?: number;
    dup?: boolean;
    retain?: boolean;
    id?: number;
  },
): number[] {
  const qos = options.qos ?? 0;
  const first = 0x30 | (options.dup ? 0x08 : 0) | (qos << 1) | (options.retain ? 1 : 0);
  const payload = typeof options.payload === "string"
    ? [...new TextEncoder().encode(options.payload)]
    : options.payload ?? [];
  const id = qos > 0 || options.id !== undefined ? [(options.id ?? 1) >> 8, (options.id ?? 1) & 0xff] : [];
  const body = [...mqttString(options.topic), ...id, ...payload];
  if (body.length > 127) {
    throw new RangeError(`Cannot build PUBLISH: body of ${body.length} bytes needs a longer length`);
  }
  return [first, body.length, ...body];
}

/** Decode a raw frame with mqtt-packet (the independent oracle). */
export function decodeFrame(frame: Frame): AnyPacket {
  let out: AnyPacket;
  const parser = mqtt.parser({ protocolVersion: 4 });
  parser.on("packet", (p: AnyPacket) => (out = p));
  parser.on("error", (e: Error) => {
    throw e;
  });
  parser.parse(Buffer.from(frame.bytes));
  return out;
}
