import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { PacketDecoder } from "./decoder.ts";
import { encodePacket } from "./encoder.ts";
import { MqttError } from "../errors.ts";
import { RC } from "./reason_codes.ts";
import type { Packet, ProtocolVersion, PublishPacket } from "./types.ts";
import { PACKET_FIXTURES, type PacketFixture, packetFixture } from "../../test/fixtures/packets.ts";

const MAX = 1024 * 1024;

function decoderFor(version: ProtocolVersion, maxPacketSize = MAX): PacketDecoder {
  const d = new PacketDecoder({ maxPacketSize });
  d.protocolVersion = version;
  return d;
}

/** Everything the decoder yields for `chunks`, then the error it threw (if any). */
function drain(d: PacketDecoder, chunks: Uint8Array[]): { packets: Packet[]; error?: MqttError } {
  const packets: Packet[] = [];
  try {
    for (const chunk of chunks) {
      d.push(chunk);
      for (let p = d.next(); p !== null; p = d.next()) packets.push(p);
    }
  } catch (error) {
    if (!(error instanceof MqttError)) throw error;
    return { packets, error };
  }
  return { packets };
}

function checkFixture(f: PacketFixture, chunks: Uint8Array[]): void {
  const { packets, error } = drain(decoderFor(f.version), chunks);
  if (f.error !== undefined) {
    assert.equal(packets.length, 0, `${f.name}: no packet before the error`);
    assert.ok(error, `${f.name}: expected error 0x${f.error.toString(16)}`);
    assert.equal(error.reasonCode, f.error, `${f.name}: ${error.message}`);
  } else {
    assert.equal(error, undefined, `${f.name}: ${error?.message}`);
    assert.equal(packets.length, 1, f.name);
    assert.deepEqual(packets[0], f.packet, f.name);
  }
}

function bytesOf(f: PacketFixture): Uint8Array {
  return new Uint8Array(f.bytes);
}

describe("PacketDecoder: the fixture catalogue", () => {
  it("has at least 60 uniquely named cases, each with a packet or an error", () => {
    assert.ok(PACKET_FIXTURES.length >= 60, `${PACKET_FIXTURES.length} cases`);
    assert.equal(new Set(PACKET_FIXTURES.map((f) => f.name)).size, PACKET_FIXTURES.length);
    for (const f of PACKET_FIXTURES) {
      assert.ok((f.packet === undefined) !== (f.error === undefined), f.name);
      assert.ok(f.description.length > 0, f.name);
    }
  });

  for (const f of PACKET_FIXTURES) {
    const title = f.spec !== undefined ? `${f.spec} ${f.name}` : f.name;
    it(`${title}: whole`, () => checkFixture(f, [bytesOf(f)]));
    it(`${title}: byte by byte`, () => checkFixture(f, f.bytes.map((b) => new Uint8Array([b]))));
  }
});

describe("PacketDecoder: framing", () => {
  it("decodes many packets pushed in one chunk, in order", () => {
    for (const version of [4, 5] as const) {
      const connect = version === 5
        ? packetFixture("connect.v5.minimal")
        : packetFixture("connect.v311.minimal");
      const valid = PACKET_FIXTURES.filter((f) =>
        f.packet !== undefined && f.version === version && f.packet.type !== "connect"
      );
      assert.ok(valid.length > 10);
      const all = [connect, ...valid, ...valid];
      const chunk = new Uint8Array(all.flatMap((f) => f.bytes));
      const d = new PacketDecoder({ maxPacketSize: MAX });
      const { packets, error } = drain(d, [chunk]);
      assert.equal(error, undefined, error?.message ?? "");
      assert.deepEqual(packets, all.map((f) => f.packet));
      assert.equal(d.protocolVersion, version, "CONNECT sets the protocol level");
      assert.equal(d.buffered, 0);
    }
  });

  it("decodes the same stream cut at every possible pair of points", () => {
    const fs = ["connect.v5.will", "publish.v5.properties", "subscribe.v5.options", "puback.v5.properties"];
    const stream = new Uint8Array(fs.flatMap((n) => packetFixture(n).bytes));
    const expected = fs.map((n) => packetFixture(n).packet);
    for (let i = 1; i < stream.length; i += 3) {
      for (let j = i; j < stream.length; j += 7) {
        const d = new PacketDecoder({ maxPacketSize: MAX });
        const { packets, error } = drain(d, [
          stream.subarray(0, i),
          stream.subarray(i, j),
          stream.subarray(j),
        ]);
        assert.equal(error, undefined);
        assert.deepEqual(packets, expected, `cut at ${i}, ${j}`);
      }
    }
  });

  it("reports buffered bytes of a partial packet", () => {
    const d = new PacketDecoder({ maxPacketSize: MAX });
    const bytes = bytesOf(packetFixture("publish.qos1"));
    d.push(bytes.subarray(0, 1));
    assert.equal(d.buffered, 1);
    assert.equal(d.next(), null);
    d.push(bytes.subarray(1, 5));
    assert.equal(d.buffered, 5);
    assert.equal(d.next(), null);
    d.push(bytes.subarray(5));
    assert.equal(d.buffered, 0);
    assert.deepEqual(d.next(), packetFixture("publish.qos1").packet);
    assert.equal(d.next(), null);
  });

  it("returns the packets before a bad one, then throws the same error forever", () => {
    const good = packetFixture("publish.qos0");
    const bad = packetFixture("publish.qos3");
    const d = new PacketDecoder({ maxPacketSize: MAX });
    d.push(new Uint8Array([...good.bytes, ...good.bytes, ...bad.bytes, ...good.bytes]));
    assert.deepEqual(d.next(), good.packet);
    assert.deepEqual(d.next(), good.packet);
    let first: unknown;
    assert.throws(() => d.next(), (e) => {
      first = e;
      return e instanceof MqttError && e.reasonCode === RC.malformedPacket;
    });
    assert.throws(() => d.next(), (e) => e === first);
    assert.throws(() => d.push(bytesOf(good)), (e) => e === first);
    assert.throws(() => d.next(), (e) => e === first);
    assert.equal(d.buffered, 0, "nothing is kept after an error");
  });

  it("refuses a bad first byte before the rest of the packet arrives", () => {
    const d = new PacketDecoder({ maxPacketSize: MAX });
    d.push(new Uint8Array([0x20])); // CONNACK from a client
    assert.throws(() => d.next(), (e) => e instanceof MqttError && e.reasonCode === RC.protocolError);
  });

  it("decodes AUTH only at protocol level 5", () => {
    const d = new PacketDecoder({ maxPacketSize: MAX });
    d.push(new Uint8Array([...packetFixture("connect.v5.minimal").bytes, 0xf0, 0]));
    assert.equal(d.next()?.type, "connect");
    assert.deepEqual(d.next(), { type: "auth", reasonCode: 0 });
  });

  it("rejects a bad maxPacketSize option", () => {
    assert.throws(() => new PacketDecoder({ maxPacketSize: 1 }), RangeError);
    assert.throws(() => new PacketDecoder({ maxPacketSize: 1.5 }), RangeError);
  });
});

describe("PacketDecoder: size limit", () => {
  it("throws packet too large from the header alone, before any body byte", () => {
    const d = new PacketDecoder({ maxPacketSize: 100 });
    d.push(new Uint8Array([0x30, 0xe8, 0x07])); // PUBLISH of remaining length 1000
    assert.equal(d.buffered, 0);
    assert.throws(() => d.next(), (e) => e instanceof MqttError && e.reasonCode === RC.packetTooLarge);
  });

  it("throws packet too large when the header arrives one byte at a time", () => {
    const d = new PacketDecoder({ maxPacketSize: 100 });
    d.push(new Uint8Array([0x30]));
    d.push(new Uint8Array([0xff]));
    assert.equal(d.next(), null);
    d.push(new Uint8Array([0xff]));
    d.push(new Uint8Array([0x7f])); // 2 MB
    assert.equal(d.buffered, 0);
    assert.throws(() => d.next(), (e) => e instanceof MqttError && e.reasonCode === RC.packetTooLarge);
  });

  it("counts the fixed header: a packet of exactly the limit passes, one byte more fails", () => {
    const packet: PublishPacket = {
      type: "publish",
      topic: "t",
      payload: new Uint8Array(95),
      qos: 0,
      retain: false,
      dup: false,
    };
    const bytes = encodePacket(packet, 4);
    assert.equal(bytes.length, 100);
    const ok = new PacketDecoder({ maxPacketSize: 100 });
    ok.push(bytes);
    assert.deepEqual(ok.next(), packet);
    const tooSmall = new PacketDecoder({ maxPacketSize: 99 });
    tooSmall.push(bytes);
    assert.throws(() => tooSmall.next(), (e) => e instanceof MqttError && e.reasonCode === RC.packetTooLarge);
  });
});

describe("PacketDecoder: buffers", () => {
  it("gathers a 1 MB PUBLISH sent in 1000-byte chunks", () => {
    const payload = new Uint8Array(1024 * 1024);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) & 0xff;
    const packet: PublishPacket = {
      type: "publish",
      topic: "big",
      payload,
      qos: 1,
      packetId: 9,
      retain: false,
      dup: false,
    };
    const bytes = encodePacket(packet, 4);
    const d = new PacketDecoder({ maxPacketSize: 2 * 1024 * 1024 });
    const started = Date.now();
    const reused = new Uint8Array(1000);
    let got: Packet | null = null;
    for (let i = 0; i < bytes.length; i += 1000) {
      const n = Math.min(1000, bytes.length - i);
      reused.set(bytes.subarray(i, i + n));
      d.push(reused.subarray(0, n));
      reused.fill(0xee); // the caller reuses its buffer
      got = d.next() ?? got;
    }
    assert.ok(Date.now() - started < 5000, "linear, not quadratic");
    assert.deepEqual(got, packet);
  });

  it("keeps payloads intact when the caller overwrites its chunk", () => {
    for (const split of [false, true]) {
      const f = packetFixture("publish.qos2.retain");
      const chunk = bytesOf(f);
      const d = new PacketDecoder({ maxPacketSize: MAX });
      if (split) {
        const head = chunk.slice(0, 3);
        d.push(head);
        head.fill(0);
        d.push(chunk.subarray(3));
      } else {
        d.push(chunk);
      }
      chunk.fill(0);
      const p = d.next() as PublishPacket;
      assert.deepEqual(p, f.packet, split ? "split" : "whole");
      assert.equal(p.payload.constructor, Uint8Array);
    }
  });

  it("copies out of Node Buffer chunks too (Buffer#slice would not)", () => {
    const f = packetFixture("publish.v5.properties");
    const buf = Buffer.from(f.bytes);
    const d = decoderFor(5);
    d.push(buf);
    buf.fill(0);
    const p = d.next() as PublishPacket;
    assert.deepEqual(p, f.packet);
    assert.equal(p.payload.constructor, Uint8Array);
    assert.equal(p.properties?.correlationData?.constructor, Uint8Array);
  });

  it("gives CONNECT binary fields as plain Uint8Array copies", () => {
    const f = packetFixture("connect.v311.full");
    const chunk = bytesOf(f);
    const d = new PacketDecoder({ maxPacketSize: MAX });
    d.push(chunk);
    chunk.fill(0);
    const p = d.next();
    assert.deepEqual(p, f.packet);
    assert.ok(p?.type === "connect" && p.password?.constructor === Uint8Array);
  });
});

describe("PacketDecoder: robustness", () => {
  /** Deterministic pseudo-random numbers, so a failure can be replayed. */
  function rng(seed: number): () => number {
    let s = seed >>> 0;
    return () => {
      s = (s + 0x6d2b79f5) >>> 0;
      let t = s;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  it("throws only MqttError on mutated fixtures (3000 mutations)", () => {
    const random = rng(42);
    const valid = PACKET_FIXTURES.filter((f) => f.packet !== undefined);
    for (let n = 0; n < 3000; n++) {
      const f = valid[Math.floor(random() * valid.length)];
      const bytes = bytesOf(f);
      const i = Math.floor(random() * bytes.length);
      bytes[i] = Math.floor(random() * 256);
      const cut = random() < 0.2 ? Math.floor(random() * bytes.length) : bytes.length;
      const d = decoderFor(f.version);
      try {
        d.push(bytes.subarray(0, cut));
        while (d.next() !== null) { /* drain */ }
      } catch (error) {
        assert.ok(error instanceof MqttError, `${f.name} byte ${i}: ${(error as Error).stack}`);
        assert.ok(
          [0x81, 0x82, 0x84, 0x95].includes(error.reasonCode),
          `${f.name}: 0x${error.reasonCode.toString(16)}`,
        );
      }
    }
  });

  it("throws only MqttError on random bytes (2000 streams)", () => {
    const random = rng(7);
    for (let n = 0; n < 2000; n++) {
      const bytes = new Uint8Array(1 + Math.floor(random() * 64));
      for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(random() * 256);
      const d = decoderFor(random() < 0.5 ? 4 : 5, 1000);
      try {
        d.push(bytes);
        while (d.next() !== null) { /* drain */ }
      } catch (error) {
        assert.ok(error instanceof MqttError, String((error as Error).stack));
      }
    }
  });
});
