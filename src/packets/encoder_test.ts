import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { readdirSync, readFileSync } from "node:fs";
import { generate, parser } from "mqtt-packet";
import { encodePacket, encodePublish } from "./encoder.ts";
import { PacketDecoder } from "./decoder.ts";
import { toMqttPacket } from "./_mqtt_packet.ts";
import type { Packet, ProtocolVersion, PublishPacket, PublishProperties, QoS } from "./types.ts";
import { PACKET_FIXTURES } from "../../test/fixtures/packets.ts";

/** Decode `bytes` with our decoder at `version`: exactly one packet expected. */
function decode(bytes: Uint8Array, version: ProtocolVersion): Packet {
  const d = new PacketDecoder({ maxPacketSize: 268_435_460 });
  d.protocolVersion = version;
  d.push(bytes);
  const p = d.next();
  assert.ok(p !== null, "a whole packet");
  assert.equal(d.next(), null, "one packet only");
  return p;
}

/** Parse `bytes` with mqtt-packet's own parser (the reference for packets our decoder refuses). */
// deno-lint-ignore no-explicit-any
function mqttParse(bytes: Uint8Array, version: ProtocolVersion): Record<string, any> {
  const p = parser({ protocolVersion: version });
  // deno-lint-ignore no-explicit-any
  const out: Record<string, any>[] = [];
  let error: unknown;
  p.on("packet", (x) => out.push(x));
  p.on("error", (e) => error = e);
  p.parse(Buffer.from(bytes));
  if (error !== undefined) throw error;
  assert.equal(out.length, 1);
  const { length: _length, ...rest } = out[0];
  return rest;
}

/** mqtt-packet's `generate` of our packet, as a plain Uint8Array. */
function reference(packet: Packet, version: ProtocolVersion): Uint8Array {
  return new Uint8Array(generate(toMqttPacket(packet, version), { protocolVersion: version }));
}

/** A PUBLISH with defaults; keys given as undefined are left out, as the decoder leaves them out. */
function publish(over: Partial<PublishPacket>): PublishPacket {
  const p: PublishPacket = {
    type: "publish",
    topic: "a/b",
    payload: new Uint8Array(0),
    qos: 0,
    retain: false,
    dup: false,
  };
  for (const [k, v] of Object.entries(over)) if (v !== undefined) Object.assign(p, { [k]: v });
  return p;
}

const PAYLOADS = [new Uint8Array(0), new Uint8Array([1, 2, 3]), new Uint8Array(70_000).fill(7)];
const TOPICS = ["a", "t/" + "x".repeat(130), "y".repeat(16_400), "température/ü/€/😀"];
const FULL_PROPERTIES: PublishProperties = {
  payloadFormatIndicator: 1,
  messageExpiryInterval: 3600,
  contentType: "application/json",
  responseTopic: "reply/here",
  correlationData: new Uint8Array([0xde, 0xad]),
  topicAlias: 5,
  userProperties: [["a", "1"], ["a", "2"], ["b", "ü"]],
};

describe("encodePublish", () => {
  it("matches mqtt-packet's generate for QoS 0/1/2, retain, dup, payload and topic sizes, levels 3/4/5", () => {
    let count = 0;
    for (const version of [3, 4, 5] as const) {
      for (const qos of [0, 1, 2] as const) {
        for (const retain of [false, true]) {
          for (const dup of [false, true]) {
            for (const topic of TOPICS) {
              for (const payload of PAYLOADS) {
                const p = publish({
                  topic,
                  payload,
                  qos,
                  retain,
                  dup,
                  packetId: qos > 0 ? 0x1234 : undefined,
                });
                const ours = encodePacket(p, version);
                // mqtt-packet would set DUP on QoS 0; we never do [MQTT-3.3.1-2].
                const theirs = reference({ ...p, dup: dup && qos > 0 }, version);
                assert.deepEqual(
                  ours,
                  theirs,
                  `v${version} qos${qos} retain=${retain} dup=${dup} topic ${topic.length}`,
                );
                count++;
              }
            }
          }
        }
      }
    }
    assert.equal(count, 432);
  });

  it("uses a 1-, 2-, 3- and 4-byte Remaining Length at the boundaries", () => {
    // Remaining Length = 2 + 1 (topic "t") + payload.
    for (
      const [rl, lenBytes] of [[127, 1], [128, 2], [16_383, 2], [16_384, 3], [2_097_151, 3], [2_097_152, 4]]
    ) {
      const p = publish({ topic: "t", payload: new Uint8Array(rl - 3) });
      const bytes = encodePacket(p, 4);
      assert.equal(bytes.length, 1 + lenBytes + rl, `rl ${rl}`);
      assert.deepEqual(bytes, reference(p, 4));
      assert.deepEqual(decode(bytes, 4), p);
    }
  });

  it("matches mqtt-packet's generate with v5 properties, including subscription identifiers", () => {
    const cases: PublishProperties[] = [
      {},
      FULL_PROPERTIES,
      { subscriptionIdentifiers: [1] },
      { messageExpiryInterval: 0xffffffff, subscriptionIdentifiers: [127, 128, 16_384, 268_435_455] },
      { userProperties: [["k".repeat(300), "v".repeat(70)]] },
    ];
    for (const properties of cases) {
      for (const qos of [0, 2] as const) {
        const p = publish({
          topic: "p/q",
          payload: new Uint8Array([9]),
          qos,
          packetId: qos ? 77 : undefined,
          properties,
        });
        assert.deepEqual(encodePacket(p, 5), reference(p, 5), JSON.stringify(properties));
      }
    }
  });

  it("round-trips through the decoder (v5 properties, user property order kept)", () => {
    const props: PublishProperties = {
      ...FULL_PROPERTIES,
      userProperties: [["b", "1"], ["a", "2"], ["b", "3"]],
    };
    for (const version of [3, 4, 5] as const) {
      for (const qos of [0, 1, 2] as const) {
        for (const topic of TOPICS) {
          const p = publish({
            topic,
            payload: new Uint8Array([1, 2, 3]),
            qos,
            retain: qos === 1,
            dup: qos === 2,
            packetId: qos > 0 ? 65_535 : undefined,
            properties: version === 5 ? props : undefined,
          });
          assert.deepEqual(decode(encodePacket(p, version), version), p);
        }
      }
    }
  });

  it("gives the packet id offset (-1 for QoS 0) so a copy can be patched per subscriber", () => {
    for (const version of [4, 5] as const) {
      const q0 = encodePublish(publish({ qos: 0 }), version);
      assert.equal(q0.packetIdOffset, -1);
      const base = publish({
        qos: 1,
        payload: new Uint8Array([5]),
        properties: version === 5 ? { userProperties: [["x", "y"]] } : undefined,
      });
      const { bytes, packetIdOffset } = encodePublish(base, version);
      assert.equal(bytes[packetIdOffset], 0);
      assert.equal(bytes[packetIdOffset + 1], 0);
      const copy = bytes.slice();
      copy[packetIdOffset] = 0xab;
      copy[packetIdOffset + 1] = 0xcd;
      assert.deepEqual(decode(copy, version), { ...base, packetId: 0xabcd });
    }
  });

  it("MQTT-3.3.1-2 never sets DUP on QoS 0, and MQTT-2.3.1-5 writes no packet id there", () => {
    const bytes = encodePacket(publish({ qos: 0, dup: true, packetId: 5, payload: new Uint8Array([1]) }), 4);
    assert.equal(bytes[0], 0x30);
    assert.deepEqual([...bytes], [0x30, 6, 0, 3, 0x61, 0x2f, 0x62, 1]);
  });

  it("refuses what cannot be encoded", () => {
    assert.throws(() => encodePacket(publish({ qos: 1 }), 4), RangeError); // no packet id [MQTT-2.3.1-1]
    assert.throws(() => encodePacket(publish({ qos: 1, packetId: 0 }), 4), RangeError);
    assert.throws(() => encodePublish(publish({ topic: "x".repeat(65_536) }), 4), RangeError);
    assert.throws(
      () => encodePublish(publish({ properties: { contentType: "c".repeat(65_536) } }), 5),
      RangeError,
    );
  });
});

describe("encodePacket: the small packets", () => {
  const versions = [3, 4, 5] as const;

  it("writes acks as mqtt-packet does, PUBREL with flags 0010 (MQTT-2.2.2-1)", () => {
    for (const version of versions) {
      for (const type of ["puback", "pubrec", "pubrel", "pubcomp"] as const) {
        for (const packetId of [1, 300, 65_535]) {
          const p: Packet = { type, packetId };
          const ours = encodePacket(p, version);
          assert.deepEqual(ours, reference(p, version), `${type} v${version}`);
          assert.equal(ours[0] & 0x0f, type === "pubrel" ? 0x02 : 0x00);
          const back = decode(ours, version);
          assert.deepEqual(back, version === 5 ? { ...p, reasonCode: 0 } : p);
        }
      }
    }
  });

  it("writes v5 acks with a reason code and no properties in 3 bytes; with properties through mqtt-packet", () => {
    const short: Packet = { type: "puback", packetId: 9, reasonCode: 0x10 };
    assert.deepEqual([...encodePacket(short, 5)], [0x40, 3, 0, 9, 0x10]);
    assert.deepEqual(decode(encodePacket(short, 5), 5), short);
    assert.deepEqual(mqttParse(encodePacket(short, 5), 5), mqttParse(reference(short, 5), 5));
    const long: Packet = {
      type: "pubrec",
      packetId: 9,
      reasonCode: 0x80,
      properties: { reasonString: "no", userProperties: [["k", "v"]] },
    };
    assert.deepEqual(decode(encodePacket(long, 5), 5), long);
    const pubrel: Packet = { type: "pubrel", packetId: 4, reasonCode: 0x92 };
    assert.equal(encodePacket(pubrel, 5)[0], 0x62);
    assert.deepEqual(decode(encodePacket(pubrel, 5), 5), pubrel);
  });

  it("writes PINGREQ, PINGRESP and 3.1.1 CONNACK / SUBACK / UNSUBACK as mqtt-packet does", () => {
    const cases: Packet[] = [
      { type: "pingreq" },
      { type: "pingresp" },
      { type: "connack", sessionPresent: false, reasonCode: 0 },
      { type: "connack", sessionPresent: true, reasonCode: 0 },
      { type: "connack", sessionPresent: false, reasonCode: 5 },
      { type: "suback", packetId: 7, reasonCodes: [0, 1, 2, 0x80] },
      { type: "suback", packetId: 8, reasonCodes: new Array(200).fill(1) },
      { type: "unsuback", packetId: 9 },
    ];
    for (const version of [3, 4] as const) {
      for (const p of cases) {
        assert.deepEqual(encodePacket(p, version), reference(p, version), JSON.stringify(p));
      }
    }
  });

  it("writes v5 SUBACK / UNSUBACK without properties as mqtt-packet does, and with them through it", () => {
    const cases: Packet[] = [
      { type: "suback", packetId: 7, reasonCodes: [0, 1, 2, 0x80, 0x87, 0x8f, 0x97, 0xa2] },
      { type: "unsuback", packetId: 9, reasonCodes: [0, 0x11] },
      { type: "suback", packetId: 7, reasonCodes: [0x97], properties: { reasonString: "quota" } },
      { type: "unsuback", packetId: 9, reasonCodes: [0], properties: { userProperties: [["a", "b"]] } },
    ];
    for (const p of cases) assert.deepEqual(encodePacket(p, 5), reference(p, 5), JSON.stringify(p));
    assert.throws(() => encodePacket({ type: "unsuback", packetId: 1 }, 5), TypeError);
  });

  it("writes CONNACK v5 through mqtt-packet with its properties", () => {
    const p: Packet = {
      type: "connack",
      sessionPresent: true,
      reasonCode: 0,
      properties: {
        sessionExpiryInterval: 60,
        receiveMaximum: 100,
        maximumQoS: 1,
        retainAvailable: 1,
        maximumPacketSize: 1024,
        assignedClientIdentifier: "auto-1",
        topicAliasMaximum: 10,
        wildcardSubscriptionAvailable: true,
        subscriptionIdentifiersAvailable: false,
        sharedSubscriptionAvailable: true,
        serverKeepAlive: 30,
        userProperties: [["x", "1"]],
      },
    };
    const parsed = mqttParse(encodePacket(p, 5), 5);
    assert.equal(parsed.cmd, "connack");
    assert.equal(parsed.sessionPresent, true);
    assert.equal(parsed.reasonCode, 0);
    assert.deepEqual({ ...parsed.properties, userProperties: { ...parsed.properties.userProperties } }, {
      sessionExpiryInterval: 60,
      receiveMaximum: 100,
      maximumQoS: 1,
      retainAvailable: true,
      maximumPacketSize: 1024,
      assignedClientIdentifier: "auto-1",
      topicAliasMaximum: 10,
      wildcardSubscriptionAvailable: true,
      subscriptionIdentifiersAvailable: false,
      sharedSubscriptionAvailable: true,
      serverKeepAlive: 30,
      userProperties: { x: "1" },
    });
  });

  it("writes DISCONNECT in its shortest forms, and v5 with properties through mqtt-packet", () => {
    assert.deepEqual([...encodePacket({ type: "disconnect" }, 4)], [0xe0, 0]);
    assert.deepEqual([...encodePacket({ type: "disconnect", reasonCode: 0 }, 5)], [0xe0, 0]);
    assert.deepEqual([...encodePacket({ type: "disconnect", reasonCode: 0x8e }, 5)], [0xe0, 1, 0x8e]);
    for (
      const p of [{ type: "disconnect", reasonCode: 0x8e }, { type: "disconnect", reasonCode: 0 }] as Packet[]
    ) {
      assert.deepEqual(mqttParse(encodePacket(p, 5), 5), mqttParse(reference(p, 5), 5));
    }
    const withProps: Packet = {
      type: "disconnect",
      reasonCode: 0x9c,
      properties: { serverReference: "other:1883" },
    };
    assert.deepEqual(decode(encodePacket(withProps, 5), 5), withProps);
  });

  it("refuses a bad packet id", () => {
    assert.throws(() => encodePacket({ type: "puback", packetId: 0 }, 4), RangeError);
    assert.throws(() => encodePacket({ type: "suback", packetId: 70_000, reasonCodes: [0] }, 4), RangeError);
  });
});

describe("encodePacket: the fixture catalogue", () => {
  // mqtt-packet cannot write a password without a user name, which 5.0 allows.
  const NOT_ENCODABLE = new Set(["connect.v5.passwordWithoutUsername"]);

  for (const f of PACKET_FIXTURES) {
    if (f.packet === undefined || NOT_ENCODABLE.has(f.name)) continue;
    it(`${f.name}: encodes to the catalogue bytes and decodes back`, () => {
      const bytes = encodePacket(f.packet!, f.version);
      assert.deepEqual([...bytes], f.bytes);
      assert.deepEqual(decode(bytes, f.version), f.packet);
    });
  }

  it("connect.v5.passwordWithoutUsername is refused by the mqtt-packet path with a TypeError", () => {
    const f = PACKET_FIXTURES.find((x) => x.name === "connect.v5.passwordWithoutUsername")!;
    assert.throws(() => encodePacket(f.packet!, 5), TypeError);
  });
});

describe("encodePacket: round trips through mqtt-packet's parser", () => {
  it("CONNECT, SUBSCRIBE, UNSUBSCRIBE with v5 properties decode back to the same packet", () => {
    const packets: Array<[Packet, ProtocolVersion]> = [
      [{
        type: "connect",
        protocolName: "MQTT",
        protocolVersion: 5,
        clean: false,
        keepalive: 65_535,
        clientId: "ü-client",
        username: "ü",
        password: new Uint8Array([0, 255]),
        will: {
          topic: "w/ü",
          payload: new Uint8Array(300).fill(3),
          qos: 2,
          retain: true,
          properties: { willDelayInterval: 10, contentType: "text/plain", userProperties: [["a", "b"]] },
        },
        properties: { sessionExpiryInterval: 0xffffffff, requestProblemInformation: true },
      }, 5],
      [{
        type: "subscribe",
        packetId: 1,
        subscriptions: [
          { topicFilter: "+/x", qos: 2, noLocal: false, retainAsPublished: true, retainHandling: 1 },
          { topicFilter: "$share/g/#", qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 },
        ],
        properties: { subscriptionIdentifier: 268_435_455 },
      }, 5],
      [{
        type: "subscribe",
        packetId: 65_535,
        subscriptions: [{ topicFilter: "a".repeat(20_000), qos: 1 as QoS }],
      }, 4],
      [{ type: "unsubscribe", packetId: 2, topicFilters: ["a", "b/+", "#"] }, 3],
      [{ type: "auth", reasonCode: 0x19, properties: { authenticationMethod: "m", reasonString: "r" } }, 5],
    ];
    for (const [p, v] of packets) assert.deepEqual(decode(encodePacket(p, v), v), p, p.type);
  });
});

describe("codec imports", () => {
  it("only the mqtt-packet bridge in src/packets imports node: modules", () => {
    const dir = new URL(".", import.meta.url);
    const offenders: string[] = [];
    for (const name of readdirSync(dir)) {
      if (!name.endsWith(".ts") || name.endsWith("_test.ts")) continue;
      const text = readFileSync(new URL(name, dir), "utf8");
      if (/from\s+["']node:/.test(text) && name !== "_mqtt_packet.ts") offenders.push(name);
    }
    assert.deepEqual(offenders, []);
  });
});
