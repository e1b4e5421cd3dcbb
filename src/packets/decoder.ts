/**
 * The stream decoder: bytes from one connection in, whole MQTT packets out.
 *
 * Framing is done here: the fixed header and Remaining Length are read as soon as they arrive, so a bad
 * first byte or a packet over the size limit is refused before its body is buffered. Frames that lie
 * whole inside a pushed chunk are decoded right away from the chunk (no copy of the chunk; a PUBLISH
 * payload is copied out exactly); a frame split across chunks is gathered in a buffer of its own, which
 * then backs the payload without another copy. PUBLISH, its acks, PINGREQ, DISCONNECT and AUTH are
 * decoded by hand, and so are SUBSCRIBE and UNSUBSCRIBE (see _subscribe_decoder.ts); CONNECT goes through mqtt-packet with strict strings
 * (see _mqtt_packet.ts).
 *
 * @example
 * ```ts
 * import { PacketDecoder } from "./decoder.ts";
 * const decoder = new PacketDecoder({ maxPacketSize: 1024 * 1024 });
 * decoder.push(new Uint8Array([0xc0, 0x00])); // PINGREQ
 * decoder.next(); // { type: "pingreq" }
 * decoder.next(); // null: more bytes needed
 * ```
 * @module
 */

import { malformed, MqttError, protocolError } from "../errors.ts";
import { RC } from "./reason_codes.ts";
import type { Packet, ProtocolVersion, PublishPacket } from "./types.ts";
import {
  checkConnectHeader,
  decodeAck,
  decodeAuth,
  decodeDisconnect,
  decodePublish,
} from "./_hand_decoders.ts";
import { MqttPacketParser, toConnect } from "./_mqtt_packet.ts";
import { decodeSubscribe, decodeUnsubscribe } from "./_subscribe_decoder.ts";

let sharedParser: MqttPacketParser | undefined;

/** Options of {@link PacketDecoder}. */
export interface PacketDecoderOptions {
  /** Largest whole packet accepted, in bytes (fixed header included). */
  maxPacketSize: number;
  /**
   * True when an inbound QoS 2 packet id awaits PUBREL. A PUBLISH re-sent with such an id is delivered to no one
   * [MQTT-4.3.3-2], so its payload is neither copied nor gathered: thousands of large re-sent PUBLISHes then cost
   * no memory (Mosquitto's CVE-2023-28366 was memory spent on exactly those).
   */
  awaitingRelease?: (packetId: number) => boolean;
}

const TYPE_NAMES = [
  "reserved type 0",
  "CONNECT",
  "CONNACK",
  "PUBLISH",
  "PUBACK",
  "PUBREC",
  "PUBREL",
  "PUBCOMP",
  "SUBSCRIBE",
  "SUBACK",
  "UNSUBSCRIBE",
  "UNSUBACK",
  "PINGREQ",
  "PINGRESP",
  "DISCONNECT",
  "AUTH",
];

/** Smallest buffer for a frame split across chunks; it then doubles, up to the frame's size. */
const MIN_GATHER = 4096;

/**
 * Decodes the packets a client sends. Push bytes as they arrive, then call `next()` until it returns
 * null. Errors are MqttError with the reason code the connection should close with: 0x81 malformed,
 * 0x82 protocol error, 0x84 unsupported protocol version (CONNECT), 0x95 packet too large.
 */
export class PacketDecoder {
  /** Protocol level for packets after CONNECT (default 4); set when a CONNECT is decoded. */
  protocolVersion: ProtocolVersion = 4;

  readonly #maxPacketSize: number;
  readonly #awaitingRelease: ((packetId: number) => boolean) | undefined;
  /** A re-sent QoS 2 PUBLISH split across chunks: its bytes still to drop, and the packet to queue after. */
  #skipLeft = 0;
  #skipPacket: Packet | undefined;
  readonly #queue: Packet[] = [];
  #queueHead = 0;
  /** The first bad-input error; thrown by next() once the packets before it are taken. */
  #error: MqttError | undefined;
  #dead = false;
  /** Up to 5 bytes of a fixed header split across chunks. */
  /** A fixed header split across chunks; made only when that happens (an idle client holds none). */
  #head: Uint8Array | undefined;
  #headLen = 0;
  /** A frame split across chunks: the bytes so far (header included), and the frame's full size. */
  #frame: Uint8Array | undefined;
  #frameFill = 0;
  #frameSize = 0;
  #frameBodyStart = 0;

  constructor(options: PacketDecoderOptions) {
    const max = options.maxPacketSize;
    if (!Number.isInteger(max) || max < 2) {
      throw new RangeError(`Cannot create PacketDecoder: maxPacketSize must be an integer >= 2, got ${max}`);
    }
    this.#maxPacketSize = max;
    this.#awaitingRelease = options.awaitingRelease;
  }

  /** Bytes held that are not yet a whole packet. */
  get buffered(): number {
    return this.#frame !== undefined ? this.#frameFill : this.#headLen;
  }

  /**
   * Append received bytes. The caller may reuse `chunk` after the call: whatever is kept is copied.
   * Throws only once the decoder is dead (after next() threw).
   */
  push(chunk: Uint8Array): void {
    if (this.#dead) throw this.#error!;
    if (this.#error !== undefined) return; // the rest of the stream is garbage: keep nothing
    // Work on a plain Uint8Array: Node's Buffer#slice does not copy.
    const bytes = chunk.constructor === Uint8Array
      ? chunk
      : new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length);
    try {
      this.#consume(bytes);
    } catch (error) {
      this.#error = error instanceof MqttError
        ? error
        : new MqttError(RC.malformedPacket, `Cannot decode packet: ${(error as Error).message}`, {
          cause: error,
        });
      this.#frame = undefined;
      this.#frameFill = 0;
      this.#headLen = 0;
      this.#skipLeft = 0;
      this.#skipPacket = undefined;
    }
  }

  /**
   * The next complete packet, or null when more bytes are needed. Throws MqttError on bad input; after a
   * throw the decoder is dead and every later call throws the same error.
   */
  next(): Packet | null {
    const queue = this.#queue;
    if (this.#queueHead < queue.length) {
      const packet = queue[this.#queueHead++];
      if (this.#queueHead === queue.length) {
        queue.length = 0;
        this.#queueHead = 0;
      }
      return packet;
    }
    if (this.#error !== undefined) {
      this.#dead = true;
      throw this.#error;
    }
    return null;
  }

  #consume(bytes: Uint8Array): void {
    const len = bytes.length;
    let pos = 0;
    if (this.#skipLeft > 0) {
      pos = Math.min(this.#skipLeft, len);
      this.#skipLeft -= pos;
      if (this.#skipLeft > 0) return;
      this.#queue.push(this.#skipPacket!);
      this.#skipPacket = undefined;
    }
    if (this.#headLen > 0) {
      pos = this.#continueHeader(bytes);
      if (pos < 0) return;
    }
    if (this.#frame !== undefined) {
      pos = this.#continueFrame(bytes, pos);
      if (pos < 0) return;
    }
    while (pos < len) {
      const b0 = bytes[pos];
      this.#checkFirstByte(b0);
      // Remaining Length: 1..4 bytes [MQTT-1.5.5 / 2.2.3]
      let rl = 0;
      let mul = 1;
      let i = pos + 1;
      let done = false;
      for (; i < len && i <= pos + 4; i++) {
        const b = bytes[i];
        rl += (b & 0x7f) * mul;
        mul *= 128;
        if ((b & 0x80) === 0) {
          done = true;
          i++;
          break;
        }
      }
      if (!done) {
        if (i > pos + 4) throw malformed("Cannot decode packet: remaining length is longer than 4 bytes");
        (this.#head ??= new Uint8Array(5)).set(bytes.subarray(pos, len));
        this.#headLen = len - pos;
        return;
      }
      const size = i - pos + rl;
      this.#checkSize(b0, size);
      if (pos + size <= len) {
        this.#decodeFrame(bytes, b0, pos, i, pos + size, false);
        pos += size;
      } else if (this.#skipResent(bytes, b0, i, pos + size)) {
        return;
      } else {
        this.#startFrame(size, i - pos);
        pos = this.#continueFrame(bytes, pos);
        return;
      }
    }
  }

  /** Complete a fixed header split across chunks; the chunk position after it, or -1 if still short. */
  #continueHeader(bytes: Uint8Array): number {
    const head = this.#head!;
    const had = this.#headLen;
    let n = had;
    let pos = 0;
    while (pos < bytes.length) {
      const b = bytes[pos++];
      head[n++] = b;
      if ((b & 0x80) === 0) {
        let rl = 0;
        let mul = 1;
        for (let k = 1; k < n; k++) {
          rl += (head[k] & 0x7f) * mul;
          mul *= 128;
        }
        const size = n + rl;
        this.#headLen = 0;
        this.#checkSize(head[0], size);
        this.#startFrame(size, n);
        this.#frame!.set(head.subarray(0, n));
        this.#frameFill = n;
        return pos;
      }
      if (n === 5) throw malformed("Cannot decode packet: remaining length is longer than 4 bytes");
    }
    this.#headLen = n;
    return -1;
  }

  /**
   * A QoS 2 PUBLISH split across chunks whose id awaits PUBREL: decode what precedes the payload now and drop the
   * rest as it comes, instead of gathering the frame. False when it is not one (or its prefix is not all here).
   */
  #skipResent(bytes: Uint8Array, b0: number, bodyStart: number, frameEnd: number): boolean {
    if (this.#awaitingRelease === undefined || ((b0 >> 1) & 3) !== 2) return false;
    const prefixEnd = this.#resentPrefixEnd(bytes, bodyStart, bytes.length);
    if (prefixEnd < 0) return false;
    const packet = decodePublish(bytes, b0, bodyStart, prefixEnd, this.protocolVersion, true);
    packet.duplicate = true;
    this.#skipPacket = packet;
    this.#skipLeft = frameEnd - bytes.length;
    return true;
  }

  /**
   * Where the payload of a QoS 2 PUBLISH starts when its packet id awaits PUBREL (and no PUBREL for it waits in
   * the queue, which would release the id first); -1 otherwise or when the bytes before the payload are not all
   * in `bytes[bodyStart, available)`.
   */
  #resentPrefixEnd(bytes: Uint8Array, bodyStart: number, available: number): number {
    if (available - bodyStart < 2) return -1;
    const idAt = bodyStart + 2 + ((bytes[bodyStart]! << 8) | bytes[bodyStart + 1]!);
    if (idAt + 2 > available) return -1;
    const id = (bytes[idAt]! << 8) | bytes[idAt + 1]!;
    if (id === 0 || !this.#awaitingRelease!(id)) return -1;
    const queue = this.#queue;
    for (let k = this.#queueHead; k < queue.length; k++) {
      const q = queue[k]!;
      if (q.type === "pubrel" && q.packetId === id) return -1;
    }
    let end = idAt + 2;
    if (this.protocolVersion === 5) {
      // The properties come before the payload: their length is a variable byte integer.
      let length = 0;
      let mul = 1;
      for (let k = 0;; k++) {
        if (end >= available || k === 4) return -1;
        const b = bytes[end++]!;
        length += (b & 0x7f) * mul;
        mul *= 128;
        if ((b & 0x80) === 0) break;
      }
      end += length;
      if (end > available) return -1;
    }
    return end;
  }

  #startFrame(size: number, bodyStart: number): void {
    this.#frame = new Uint8Array(Math.min(size, Math.max(MIN_GATHER, bodyStart)));
    this.#frameFill = 0;
    this.#frameSize = size;
    this.#frameBodyStart = bodyStart;
  }

  /**
   * Copy chunk bytes from `pos` into the pending frame (growing its buffer geometrically, never past the
   * frame size); decode it when whole. The chunk position after the frame, or -1 when still short.
   */
  #continueFrame(bytes: Uint8Array, pos: number): number {
    const size = this.#frameSize;
    const take = Math.min(size - this.#frameFill, bytes.length - pos);
    let frame = this.#frame!;
    const want = this.#frameFill + take;
    if (want > frame.length) {
      const grown = new Uint8Array(Math.min(size, Math.max(want, frame.length * 2)));
      grown.set(frame.subarray(0, this.#frameFill));
      frame = grown;
      this.#frame = grown;
    }
    frame.set(bytes.subarray(pos, pos + take), this.#frameFill);
    this.#frameFill = want;
    if (want < size) return -1;
    this.#frame = undefined;
    this.#frameFill = 0;
    // The frame buffer is ours alone and never reused: a PUBLISH payload may be a view over it.
    this.#decodeFrame(frame, frame[0], 0, this.#frameBodyStart, size, true);
    return pos + take;
  }

  /** Refuse a first byte as soon as it is seen: a type the client never sends or bad flags. */
  #checkFirstByte(b0: number): void {
    const type = b0 >> 4;
    const flags = b0 & 0x0f;
    switch (type) {
      case 3:
        // [MQTT-3.3.1-4]
        if ((flags & 0x06) === 0x06) throw malformed("Cannot decode PUBLISH: both QoS bits are set");
        return;
      case 6: // PUBREL [MQTT-3.6.1-1]
      case 8: // SUBSCRIBE [MQTT-3.8.1-1]
      case 10: // UNSUBSCRIBE [MQTT-3.10.1-1]
        if (flags !== 0x02) {
          throw malformed(`Cannot decode ${TYPE_NAMES[type]}: fixed header flags must be 0010`);
        }
        return;
      case 1:
      case 4:
      case 5:
      case 7:
      case 12:
      case 14: // [MQTT-3.14.1-1]
        // [MQTT-2.2.2-2]
        if (flags !== 0) {
          throw malformed(`Cannot decode ${TYPE_NAMES[type]}: fixed header flags must be 0000`);
        }
        return;
      case 15:
        if (this.protocolVersion === 5) {
          // [MQTT-3.15.1-1]
          if (flags !== 0) throw malformed("Cannot decode AUTH: fixed header flags must be 0000");
          return;
        }
        throw protocolError(
          `Cannot accept AUTH from an MQTT ${this.protocolVersion === 3 ? "3.1" : "3.1.1"} client`,
        );
      default:
        // CONNACK, SUBACK, UNSUBACK, PINGRESP and type 0 only ever go from server to client.
        throw protocolError(`Cannot accept ${TYPE_NAMES[type]} from a client`);
    }
  }

  #checkSize(b0: number, size: number): void {
    if (size > this.#maxPacketSize) {
      throw new MqttError(
        RC.packetTooLarge,
        `Cannot accept ${TYPE_NAMES[b0 >> 4]} of ${size} bytes: the limit is ${this.#maxPacketSize}`,
      );
    }
  }

  /** Decode the frame `bytes[start, end)` (body from `bodyStart`) and queue the packet. */
  #decodeFrame(
    bytes: Uint8Array,
    b0: number,
    start: number,
    bodyStart: number,
    end: number,
    owned: boolean,
  ): void {
    const version = this.protocolVersion;
    const type = b0 >> 4;
    let packet: Packet;
    switch (type) {
      case 3:
        if (!owned && this.#awaitingRelease !== undefined && ((b0 >> 1) & 3) === 2) {
          const prefixEnd = this.#resentPrefixEnd(bytes, bodyStart, end);
          if (prefixEnd >= 0) {
            // A view, not a copy, then dropped: nothing of the payload is kept.
            packet = decodePublish(bytes, b0, bodyStart, prefixEnd, version, true);
            (packet as PublishPacket).duplicate = true;
            break;
          }
        }
        packet = decodePublish(bytes, b0, bodyStart, end, version, owned);
        break;
      case 4:
      case 5:
      case 6:
      case 7:
        packet = decodeAck(bytes, type, bodyStart, end, version);
        break;
      case 12:
        if (end !== bodyStart) throw malformed("Cannot decode PINGREQ: remaining length is not 0");
        packet = { type: "pingreq" };
        break;
      case 14:
        packet = decodeDisconnect(bytes, bodyStart, end, version);
        break;
      case 15:
        packet = decodeAuth(bytes, bodyStart, end);
        break;
      case 1: {
        const level = checkConnectHeader(bytes, bodyStart, end);
        packet = toConnect(this.#parser().parse(bytes, start, bodyStart, end, level));
        // Later packets on this connection are read at the level CONNECT declared.
        this.protocolVersion = level;
        break;
      }
      case 8:
        packet = decodeSubscribe(bytes, bodyStart, end, version);
        break;
      default: // 10, the only type left after #checkFirstByte
        packet = decodeUnsubscribe(bytes, bodyStart, end, version);
        break;
    }
    this.#queue.push(packet);
  }

  #parser(): MqttPacketParser {
    // One parser for every connection: parse() is synchronous and takes the whole frame, so nothing of one
    // connection is left in it for the next; a parser per connection cost about 2 kB of each idle client.
    return (sharedParser ??= new MqttPacketParser());
  }
}
