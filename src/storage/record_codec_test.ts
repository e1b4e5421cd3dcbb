import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  decodeInflight,
  decodeMessage,
  decodeQueued,
  decodeSession,
  decodeWill,
  encodeInflight,
  encodeMessage,
  encodeQueued,
  encodeSession,
  encodeWill,
} from "./record_codec.ts";
import type { StoredMessage, StoredWill } from "./storage.ts";

const WHERE = '["comqtt","r","a/b"]';

function rich(): StoredMessage {
  return {
    topic: "ä/🌡️",
    payload: new Uint8Array([0, 255, 7]),
    qos: 2,
    retain: true,
    origin: "pub",
    receivedAt: 1_700_000_000_001,
    properties: {
      payloadFormatIndicator: 0,
      messageExpiryInterval: 10,
      topicAlias: 3,
      responseTopic: "r",
      correlationData: new Uint8Array([0, 0, 1]),
      userProperties: [["z", "1"], ["a", "2"], ["z", "3"]],
      subscriptionIdentifiers: [1, 2],
      contentType: "text/plain",
      willDelayInterval: 5,
    },
  };
}

/** A frame by hand: version, kind byte, header JSON, tail. */
function frame(kind: string, header: unknown, tail: number[] = [], version = 1): Uint8Array {
  const head = new TextEncoder().encode(typeof header === "string" ? header : JSON.stringify(header));
  const out = new Uint8Array(6 + head.length + tail.length);
  out[0] = version;
  out[1] = kind.charCodeAt(0);
  new DataView(out.buffer).setUint32(2, head.length);
  out.set(head, 6);
  out.set(tail, 6 + head.length);
  return out;
}

describe("record codec", () => {
  it("round-trips every record kind with every optional field, and without them", () => {
    const m = rich();
    assert.deepEqual(decodeMessage(encodeMessage(m), WHERE), m);
    const plain: StoredMessage = {
      topic: "t",
      payload: new Uint8Array(0),
      qos: 0,
      retain: false,
      receivedAt: 0,
    };
    assert.deepEqual(decodeMessage(encodeMessage(plain), WHERE), plain);

    const session = {
      clientId: "c",
      expiryInterval: 0xffff_ffff,
      disconnectedAt: 12,
      subscriptions: [
        {
          filter: "a/#",
          qos: 2 as const,
          noLocal: true,
          retainAsPublished: false,
          retainHandling: 2 as const,
        },
        {
          filter: "b",
          qos: 0 as const,
          noLocal: false,
          retainAsPublished: true,
          retainHandling: 0 as const,
          identifier: 9,
        },
      ],
    };
    assert.deepEqual(decodeSession(encodeSession(session), WHERE), session);

    const entry = {
      packetId: 65_535,
      message: m,
      qos: 2 as const,
      retain: true,
      state: "pubrel" as const,
      subscriptionIds: [4],
    };
    assert.deepEqual(decodeInflight(encodeInflight(entry, 1234.5), WHERE), { entry, order: 1234.5 });

    const q = { seq: 2 ** 50, message: plain, qos: 0 as const, retain: false };
    assert.deepEqual(decodeQueued(encodeQueued(q), WHERE), q);

    const will: StoredWill = {
      clientId: "c",
      will: m,
      at: 99,
      info: { id: "c", username: "u", remoteAddress: "1.2.3.4:5", listener: "ws", protocolVersion: 3 },
    };
    assert.deepEqual(decodeWill(encodeWill(will), WHERE), will);
  });

  it("decoded payloads are plain Uint8Arrays that do not alias the record bytes", () => {
    const bytes = encodeMessage(rich());
    const m = decodeMessage(bytes, WHERE);
    assert.equal(Object.getPrototypeOf(m.payload), Uint8Array.prototype);
    bytes.fill(0);
    assert.deepEqual([...m.payload], [0, 255, 7]);
  });

  it("is compact: payloads are stored raw, not base64", () => {
    const m: StoredMessage = {
      topic: "a/b",
      payload: new Uint8Array(10_000),
      qos: 1,
      retain: false,
      receivedAt: 1_700_000_000_000,
    };
    assert.ok(encodeMessage(m).length < 10_000 + 80, `${encodeMessage(m).length} bytes`);
  });

  it("rejects damaged frames with an error naming the key", () => {
    const ok = encodeMessage(rich());
    const cases: Array<[Uint8Array, RegExp]> = [
      [new Uint8Array([1, 0x4d]), /only 2 bytes/],
      [frame("M", {}, [], 2), /unknown codec version 2 \(this build reads 1\)/],
      [
        encodeQueued({ seq: 1, message: rich(), qos: 1, retain: false }),
        /kind byte is 81, expected 77 \("message"\)/,
      ],
      [ok.subarray(0, 20), /header length \d+ runs past the end/],
      [frame("M", "{not json"), /the header is not valid UTF-8 JSON/],
      [frame("M", "[1,2]"), /the header is not an object/],
      [frame("M", { t: "x", q: 1, r: false, at: 1 }), /field "n" is missing/],
      [frame("M", { t: "x", q: 1, r: false, at: 1, n: 0, extra: 1 }), /field "extra" is not a known field/],
      [frame("M", { t: 5, q: 1, r: false, at: 1, n: 0 }), /field "t" must be a string, found 5/],
      [frame("M", { t: "x", q: 1, r: "no", at: 1, n: 0 }), /field "r" must be true or false, found "no"/],
      [
        frame("M", { t: "x", q: 1.5, r: false, at: 1, n: 0 }),
        /field "q" must be an integer from 0 to 2, found 1.5/,
      ],
      [frame("M", { t: "x", q: 1, r: false, at: null, n: 0 }), /field "at" must be a number, found null/],
      [
        frame("M", { t: "x", q: 1, r: false, at: 1, n: 4 }, [1, 2]),
        /field "n" says 4 bytes but only 2 remain/,
      ],
      [frame("M", { t: "x", q: 1, r: false, at: 1, n: 1 }, [1, 2]), /1 unexpected bytes after the fields/],
      [
        frame("M", { t: "x", q: 1, r: false, at: 1, n: 0, p: { up: [["a"]] } }),
        /field "p.up.0" must be a \[name, value\] pair/,
      ],
      [
        frame("M", { t: "x", q: 1, r: false, at: 1, n: 0, p: { si: [0] } }),
        /field "p.si.0" must be an integer from 1/,
      ],
      [
        frame("M", { t: "x", q: 1, r: false, at: 1, n: 0, p: { cd: 3 } }, [1]),
        /field "p.cd" says 3 bytes but only 1/,
      ],
    ];
    for (const [bytes, pattern] of cases) {
      assert.throws(() => decodeMessage(bytes, WHERE), (err: Error) => {
        assert.ok(
          err.message.startsWith(`Cannot decode the stored message record at ${WHERE}: `),
          err.message,
        );
        assert.match(err.message, pattern);
        return true;
      });
    }
  });

  it("checks each kind's own fields", () => {
    const m = { t: "x", q: 1, r: false, at: 1, n: 0 };
    assert.throws(
      () => decodeInflight(frame("I", { p: 0, q: 1, r: false, st: "publish", o: 1, m }), WHERE),
      /"p" must be an integer from 1 to 65535/,
    );
    assert.throws(
      () => decodeInflight(frame("I", { p: 1, q: 0, r: false, st: "publish", o: 1, m }), WHERE),
      /"q" must be an integer from 1 to 2/,
    );
    assert.throws(
      () => decodeInflight(frame("I", { p: 1, q: 1, r: false, st: "pubcomp", o: 1, m }), WHERE),
      /"st" must be "publish" or "pubrel", found "pubcomp"/,
    );
    assert.throws(
      () => decodeQueued(frame("Q", { s: -1, q: 1, r: false, m }), WHERE),
      /"s" must be an integer from 0/,
    );
    assert.throws(
      () => decodeSession(frame("S", { c: "c", e: 1, s: [["f", 1, 0, 0]] }), WHERE),
      /"s.0" must have 5 or 6 items/,
    );
    assert.throws(
      () => decodeSession(frame("S", { c: "c", e: -1, s: [] }), WHERE),
      /"e" must be an integer from 0 to 4294967295/,
    );
    assert.throws(
      () => decodeWill(frame("W", { c: "c", at: 1, i: { id: "c", a: "x", l: "t", v: 6 }, m }), WHERE),
      /"i.v" must be an integer from 3 to 5/,
    );
    assert.throws(
      () => decodeWill(frame("W", { c: "c", at: 1, i: "x", m }), WHERE),
      /"i" must be an object, found "x"/,
    );
  });
});
