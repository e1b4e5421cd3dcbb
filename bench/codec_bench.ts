/**
 * PUBLISH encode and decode rates: the hand-written codec against mqtt-packet.
 *
 *   deno run -A bench/codec_bench.ts  |  bun bench/codec_bench.ts  |  node bench/codec_bench.ts
 *
 * Bounded: each case runs a warm-up and then ITERATIONS operations (a few hundred thousand).
 * @module
 */

import { Buffer } from "node:buffer";
import { generate, parser } from "mqtt-packet";
import { encodePublish } from "../src/packets/encoder.ts";
import { PacketDecoder } from "../src/packets/decoder.ts";
import { toMqttPacket } from "../src/packets/_mqtt_packet.ts";
import type { ProtocolVersion, PublishPacket } from "../src/packets/types.ts";

const ITERATIONS = 300_000;
const WARMUP = 20_000;
const BATCH = 1000;

const runtime = "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : "node";

const v4: PublishPacket = {
  type: "publish",
  topic: "sensors/building-1/floor-2/temp",
  payload: new TextEncoder().encode("21.5"),
  qos: 1,
  packetId: 42,
  retain: false,
  dup: false,
};
const v5: PublishPacket = {
  ...v4,
  properties: { payloadFormatIndicator: 1, messageExpiryInterval: 60, userProperties: [["unit", "C"]] },
};

let sink = 0;

function rate(label: string, ops: number, run: (n: number) => void): void {
  run(Math.min(WARMUP, ops));
  const start = performance.now();
  run(ops);
  const ms = performance.now() - start;
  const perSec = Math.round(ops / (ms / 1000));
  console.log(`${label.padEnd(44)} ${(perSec / 1000).toFixed(0).padStart(6)} k/s`);
}

function encodeCases(name: string, packet: PublishPacket, version: ProtocolVersion): void {
  const mp = toMqttPacket(packet, version);
  const opts = { protocolVersion: version };
  rate(`encode ${name} hand-written`, ITERATIONS, (n) => {
    for (let i = 0; i < n; i++) sink += encodePublish(packet, version).bytes.length;
  });
  rate(`encode ${name} mqtt-packet generate`, ITERATIONS, (n) => {
    for (let i = 0; i < n; i++) sink += generate(mp, opts).length;
  });
}

function decodeCases(name: string, packet: PublishPacket, version: ProtocolVersion): void {
  const one = encodePublish(packet, version).bytes;
  const many = new Uint8Array(one.length * BATCH);
  for (let i = 0; i < BATCH; i++) many.set(one, i * one.length);
  const oneBuf = Buffer.from(one);
  const manyBuf = Buffer.from(many);

  const ours = new PacketDecoder({ maxPacketSize: 1 << 20 });
  ours.protocolVersion = version;
  const theirs = parser({ protocolVersion: version });
  theirs.on("packet", () => sink++);

  rate(`decode ${name} hand-written, 1/chunk`, ITERATIONS, (n) => {
    for (let i = 0; i < n; i++) {
      ours.push(one);
      for (let p = ours.next(); p !== null; p = ours.next()) sink++;
    }
  });
  rate(`decode ${name} mqtt-packet parser, 1/chunk`, ITERATIONS, (n) => {
    for (let i = 0; i < n; i++) theirs.parse(oneBuf);
  });
  rate(`decode ${name} hand-written, ${BATCH}/chunk`, ITERATIONS, (n) => {
    for (let i = 0; i < n / BATCH; i++) {
      ours.push(many);
      for (let p = ours.next(); p !== null; p = ours.next()) sink++;
    }
  });
  rate(`decode ${name} mqtt-packet parser, ${BATCH}/chunk`, ITERATIONS, (n) => {
    for (let i = 0; i < n / BATCH; i++) theirs.parse(manyBuf);
  });
}

console.log(
  `codec_bench on ${runtime}: QoS 1 PUBLISH, ${encodePublish(v4, 4).bytes.length} bytes (v3.1.1), ` +
    `${encodePublish(v5, 5).bytes.length} bytes (v5, 3 properties); ${ITERATIONS} operations per line`,
);
encodeCases("v3.1.1", v4, 4);
encodeCases("v5    ", v5, 5);
decodeCases("v3.1.1", v4, 4);
decodeCases("v5    ", v5, 5);
if (sink === 0) console.log("(nothing ran)");
