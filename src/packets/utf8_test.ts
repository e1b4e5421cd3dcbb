import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { decodeMqttString, encodeUtf8, isValidMqttString, utf8Length, writeUtf8 } from "./utf8.ts";

function valid(bytes: number[]): boolean {
  return isValidMqttString(new Uint8Array(bytes), 0, bytes.length);
}

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

describe("isValidMqttString", () => {
  it("accepts well-formed UTF-8 at the edges of each range", () => {
    const cases: number[][] = [
      [],
      [0x61, 0x2f, 0x62],
      [0x01], // U+0001: allowed (a SHOULD NOT, not a MUST)
      [0x7f],
      [0xc2, 0x80], // U+0080
      [0xdf, 0xbf], // U+07FF
      [0xe0, 0xa0, 0x80], // U+0800
      [0xed, 0x9f, 0xbf], // U+D7FF, just below the surrogates
      [0xee, 0x80, 0x80], // U+E000, just above them
      [0xef, 0xbb, 0xbf], // U+FEFF
      [0xef, 0xbf, 0xbf], // U+FFFF
      [0xf0, 0x90, 0x80, 0x80], // U+10000
      [0xf4, 0x8f, 0xbf, 0xbf], // U+10FFFF
    ];
    for (const c of cases) assert.equal(valid(c), true, JSON.stringify(c));
  });

  it("MQTT-1.5.3-1 refuses ill-formed UTF-8, encoded surrogates and overlongs", () => {
    const cases: number[][] = [
      [0x80], // lone continuation
      [0xbf],
      [0xc0, 0x80], // overlong U+0000
      [0xc1, 0xbf], // overlong U+007F
      [0xe0, 0x80, 0x80], // overlong
      [0xe0, 0x9f, 0xbf], // overlong U+07FF
      [0xed, 0xa0, 0x80], // U+D800
      [0xed, 0xbf, 0xbf], // U+DFFF
      [0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80], // CESU-8 surrogate pair
      [0xf0, 0x80, 0x80, 0x80], // overlong
      [0xf0, 0x8f, 0xbf, 0xbf], // overlong U+FFFF
      [0xf4, 0x90, 0x80, 0x80], // U+110000
      [0xf5, 0x80, 0x80, 0x80],
      [0xff],
      [0xfe],
      [0xc3], // truncated
      [0xe2, 0x82], // truncated
      [0xf0, 0x9f, 0x98], // truncated
      [0xc3, 0x41], // bad continuation
      [0xe2, 0x41, 0x82],
      [0xf0, 0x9f, 0x41, 0x80],
    ];
    for (const c of cases) assert.equal(valid(c), false, JSON.stringify(c));
  });

  it("MQTT-1.5.3-2 refuses U+0000", () => {
    assert.equal(valid([0x00]), false);
    assert.equal(valid([0x61, 0x00]), false);
    assert.equal(valid([0xc3, 0xbc, 0x00]), false);
  });

  it("looks only inside [start, end)", () => {
    const bytes = new Uint8Array([0xff, 0x61, 0x62, 0xff]);
    assert.equal(isValidMqttString(bytes, 1, 3), true);
    assert.equal(isValidMqttString(bytes, 0, 3), false);
    // A sequence cut by `end` is truncated even if the bytes after it would complete it.
    const cut = new Uint8Array([0xe2, 0x82, 0xac]);
    assert.equal(isValidMqttString(cut, 0, 2), false);
    assert.equal(isValidMqttString(cut, 0, 3), true);
  });

  it("agrees with a fatal TextDecoder on 20000 random byte strings", () => {
    const fatal = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
    // Bytes that sit on the boundaries of the UTF-8 tables, so random strings hit the edge cases.
    const pool = [
      0x00,
      0x01,
      0x41,
      0x7f,
      0x80,
      0x8f,
      0x90,
      0x9f,
      0xa0,
      0xbf,
      0xc0,
      0xc1,
      0xc2,
      0xdf,
      0xe0,
      0xe1,
      0xec,
      0xed,
      0xee,
      0xef,
      0xf0,
      0xf1,
      0xf3,
      0xf4,
      0xf5,
      0xfe,
      0xff,
      0xbb,
    ];
    const random = rng(1);
    let validCount = 0;
    for (let n = 0; n < 20000; n++) {
      const bytes = new Uint8Array(1 + Math.floor(random() * 8));
      for (let i = 0; i < bytes.length; i++) bytes[i] = pool[Math.floor(random() * pool.length)];
      let expected: string | undefined;
      try {
        expected = fatal.decode(bytes);
        if (expected.includes("\0")) expected = undefined;
      } catch {
        expected = undefined;
      }
      assert.equal(isValidMqttString(bytes, 0, bytes.length), expected !== undefined, `[${bytes.join(",")}]`);
      assert.equal(decodeMqttString(bytes, 0, bytes.length), expected, `[${bytes.join(",")}]`);
      if (expected !== undefined) validCount++;
    }
    assert.ok(validCount > 300, `only ${validCount} valid samples`);
  });
});

describe("decodeMqttString", () => {
  it("MQTT-1.5.3-3 keeps a leading U+FEFF", () => {
    assert.equal(decodeMqttString(new Uint8Array([0xef, 0xbb, 0xbf, 0x61]), 0, 4), "\uFEFFa");
    assert.equal(decodeMqttString(new Uint8Array([0xef, 0xbb, 0xbf]), 0, 3), "\uFEFF");
  });

  it("decodes short and long ASCII, and mixed text", () => {
    const long = "a/".repeat(1000);
    const bytes = encodeUtf8(long);
    assert.equal(decodeMqttString(bytes, 0, bytes.length), long);
    assert.equal(decodeMqttString(bytes, 2, 6), "a/a/");
    const mixed = "température/ü/€/😀";
    const m = encodeUtf8(mixed);
    assert.equal(decodeMqttString(m, 0, m.length), mixed);
    assert.equal(decodeMqttString(m, 0, 0), "");
  });

  it("returns undefined for U+0000 in the ASCII fast path", () => {
    assert.equal(decodeMqttString(new Uint8Array([0x61, 0, 0x62]), 0, 3), undefined);
  });
});

describe("utf8Length and writeUtf8", () => {
  it("match TextEncoder on random strings, lone surrogates included", () => {
    const random = rng(3);
    const units = [
      0x41,
      0x7f,
      0x80,
      0x7ff,
      0x800,
      0xfeff,
      0xffff,
      0xd800,
      0xdbff,
      0xdc00,
      0xdfff,
      0x20ac,
      0x2f,
    ];
    for (let n = 0; n < 5000; n++) {
      let s = "";
      const len = Math.floor(random() * 10);
      for (let i = 0; i < len; i++) s += String.fromCharCode(units[Math.floor(random() * units.length)]);
      const expected = encodeUtf8(s);
      assert.equal(utf8Length(s), expected.length, JSON.stringify(s));
      const out = new Uint8Array(expected.length + 4).fill(0xaa);
      assert.equal(writeUtf8(s, out, 2), expected.length);
      assert.deepEqual(out.subarray(2, 2 + expected.length), expected);
      assert.equal(out[1], 0xaa);
      assert.equal(out[2 + expected.length], 0xaa);
    }
  });
});
