/**
 * The few MQTT 5 packets a broker sends to a client, decoded for the gateway's virtual clients. The broker's own
 * decoder reads the other direction; these frames come from the broker itself, so a bad one is a bug and only
 * needs to be reported, not answered.
 * @module
 */

/** A packet from the broker to a virtual client. */
export type ServerPacket =
  | { type: "connack"; reasonCode: number }
  | {
    type: "publish";
    topic: string;
    payload: Uint8Array;
    qos: 0 | 1 | 2;
    retain: boolean;
    packetId: number;
    /** Message Expiry Interval left, when the message has one. */
    expiry?: number;
  }
  | { type: "puback" | "pubrec" | "pubrel" | "pubcomp"; packetId: number; reasonCode: number }
  | { type: "suback" | "unsuback"; packetId: number; reasonCodes: number[] }
  | { type: "disconnect"; reasonCode: number }
  | { type: "pingresp" };

const text = new TextDecoder();
const ACKS = ["puback", "pubrec", "pubrel", "pubcomp"] as const;

/** Splits a byte stream into MQTT frames and decodes them. */
export class ServerFrameReader {
  #buffer = new Uint8Array(0);

  /** Append `bytes`; returns every whole packet now available. Throws on a packet it cannot read. */
  push(bytes: Uint8Array): ServerPacket[] {
    let buf = this.#buffer.length === 0 ? bytes : concat(this.#buffer, bytes);
    const out: ServerPacket[] = [];
    for (;;) {
      const frame = readFrame(buf);
      if (frame === undefined) break;
      out.push(decode(buf, buf[0], frame.start, frame.end));
      buf = buf.subarray(frame.end);
    }
    this.#buffer = buf.length === 0 ? new Uint8Array(0) : buf.slice();
    return out;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** The body bounds of the first whole frame in `buf`, undefined when it is not all there yet. */
function readFrame(buf: Uint8Array): { start: number; end: number } | undefined {
  let len = 0;
  let mul = 1;
  for (let i = 1; i <= 4; i++) {
    if (i >= buf.length) return undefined;
    const b = buf[i];
    len += (b & 0x7f) * mul;
    mul *= 128;
    if ((b & 0x80) === 0) {
      const start = i + 1;
      return start + len <= buf.length ? { start, end: start + len } : undefined;
    }
  }
  throw new Error("Cannot read an MQTT frame from the broker: remaining length longer than 4 bytes");
}

function varint(buf: Uint8Array, p: number): { value: number; next: number } {
  let value = 0;
  let mul = 1;
  for (let i = 0; i < 4; i++) {
    const b = buf[p + i];
    value += (b & 0x7f) * mul;
    mul *= 128;
    if ((b & 0x80) === 0) return { value, next: p + i + 1 };
  }
  throw new Error("Cannot read an MQTT property length from the broker");
}

function decode(buf: Uint8Array, b0: number, p: number, end: number): ServerPacket {
  const type = b0 >> 4;
  const u16 = (at: number) => (buf[at] << 8) | buf[at + 1];
  switch (type) {
    case 2:
      return { type: "connack", reasonCode: buf[p + 1] };
    case 3: {
      const qos = ((b0 >> 1) & 3) as 0 | 1 | 2;
      const topicLen = u16(p);
      const topic = text.decode(buf.subarray(p + 2, p + 2 + topicLen));
      let q = p + 2 + topicLen;
      let packetId = 0;
      if (qos > 0) {
        packetId = u16(q);
        q += 2;
      }
      const props = varint(buf, q);
      const expiry = messageExpiry(buf, props.next, props.next + props.value);
      return {
        type: "publish",
        topic,
        payload: buf.slice(props.next + props.value, end),
        qos,
        retain: (b0 & 1) === 1,
        packetId,
        ...(expiry === undefined ? {} : { expiry }),
      };
    }
    case 4:
    case 5:
    case 6:
    case 7:
      return { type: ACKS[type - 4], packetId: u16(p), reasonCode: end - p > 2 ? buf[p + 2] : 0 };
    case 9:
    case 11: {
      const props = varint(buf, p + 2);
      return {
        type: type === 9 ? "suback" : "unsuback",
        packetId: u16(p),
        reasonCodes: [...buf.subarray(props.next + props.value, end)],
      };
    }
    case 13:
      return { type: "pingresp" };
    case 14:
      return { type: "disconnect", reasonCode: end > p ? buf[p] : 0 };
    default:
      throw new Error(`Cannot read MQTT packet type ${type} from the broker`);
  }
}

/** The Message Expiry Interval (property 0x02) when it is the first property, as the broker writes it. */
function messageExpiry(buf: Uint8Array, p: number, end: number): number | undefined {
  // Only the first property is looked at: skipping others would need the whole property table.
  if (p < end && buf[p] === 0x02 && p + 5 <= end) {
    return ((buf[p + 1] << 24) >>> 0) + ((buf[p + 2] << 16) | (buf[p + 3] << 8) | buf[p + 4]);
  }
  return undefined;
}
