import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { PacketDecoder } from "./decoder.ts";
import { encodePacket, encodePublish } from "./encoder.ts";
import type { Packet, ProtocolVersion, PublishPacket } from "./types.ts";

function publish(version: ProtocolVersion, packetId: number, size: number): Uint8Array {
  return encodePublish({
    type: "publish",
    topic: "a/b",
    payload: new Uint8Array(size).fill(7),
    qos: 2,
    retain: false,
    dup: true,
    packetId,
    properties: version === 5 ? { contentType: "x" } : undefined,
  }, version).bytes.slice();
}

function setup(version: ProtocolVersion, awaiting: Set<number>) {
  const decoder = new PacketDecoder({ maxPacketSize: 1 << 20, awaitingRelease: (id) => awaiting.has(id) });
  decoder.protocolVersion = version;
  const all = (): Packet[] => {
    const out: Packet[] = [];
    for (let p = decoder.next(); p !== null; p = decoder.next()) out.push(p);
    return out;
  };
  return { decoder, all };
}

describe("PacketDecoder: a QoS 2 PUBLISH re-sent while its id awaits PUBREL", () => {
  for (const version of [4, 5] as const) {
    it(`v${version}: inside one chunk, its payload is left out; other ids keep theirs`, () => {
      const { decoder, all } = setup(version, new Set([42]));
      const bytes = new Uint8Array([...publish(version, 42, 1000), ...publish(version, 43, 1000)]);
      decoder.push(bytes);
      const [resent, fresh] = all() as PublishPacket[];
      assert.equal(resent.duplicate, true);
      assert.equal(resent.payload.byteLength, 0);
      assert.equal(resent.topic, "a/b");
      assert.equal(resent.packetId, 42);
      if (version === 5) assert.equal(resent.properties?.contentType, "x");
      assert.equal(fresh.duplicate, undefined);
      assert.equal(fresh.payload.byteLength, 1000);
    });

    it(`v${version}: split across chunks, its bytes are dropped as they come, in order`, () => {
      const { decoder, all } = setup(version, new Set([42]));
      const big = publish(version, 42, 32 * 1024);
      const next = encodePacket({ type: "pingreq" }, version);
      decoder.push(big.subarray(0, 100));
      assert.deepEqual(all(), [], "nothing before the frame is whole");
      assert.equal(decoder.buffered, 0, "nothing gathered");
      decoder.push(big.subarray(100, 20_000));
      decoder.push(new Uint8Array([...big.subarray(20_000), ...next]));
      const packets = all();
      assert.deepEqual(packets.map((p) => p.type), ["publish", "pingreq"]);
      assert.equal((packets[0] as PublishPacket).duplicate, true);
    });
  }

  it("keeps the payload when a PUBREL for the id is queued ahead (the id is released first)", () => {
    const { decoder, all } = setup(4, new Set([42]));
    const pubrel = encodePacket({ type: "pubrel", packetId: 42 }, 4);
    decoder.push(new Uint8Array([...pubrel, ...publish(4, 42, 500)]));
    const [, again] = all() as PublishPacket[];
    assert.equal(again.duplicate, undefined);
    assert.equal(again.payload.byteLength, 500);
  });

  it("without awaitingRelease nothing changes", () => {
    const decoder = new PacketDecoder({ maxPacketSize: 1 << 20 });
    decoder.push(publish(4, 42, 10));
    assert.equal((decoder.next() as PublishPacket).payload.byteLength, 10);
  });
});
