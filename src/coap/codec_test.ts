import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parse, serialize } from "./codec.ts";
import { ACK, type CoapMessage, CON, GET, NON, OPT, RESPONSE, stringOpt, uintOpt } from "./message.ts";

const hex = (s: string) => Uint8Array.from(s.replace(/\s+/g, "").match(/../g)!.map((h) => parseInt(h, 16)));
const msg = (m: Partial<CoapMessage>): CoapMessage => ({
  type: CON,
  code: GET,
  messageId: 0x1234,
  token: new Uint8Array(),
  options: [],
  payload: new Uint8Array(),
  ...m,
});

describe("CoAP codec: valid messages", () => {
  const table: Array<[string, CoapMessage, string]> = [
    ["empty CON (ping)", msg({ code: 0 }), "40 00 12 34"],
    ["empty ACK", msg({ type: ACK, code: 0, messageId: 7 }), "60 00 00 07"],
    [
      "GET /ps/a with token",
      msg({ token: hex("abcd"), options: [stringOpt(OPT.uriPath, "ps"), stringOpt(OPT.uriPath, "a")] }),
      "42 01 12 34 ab cd b2 7073 01 61",
    ],
    ["Observe 0 is zero bytes", msg({ options: [uintOpt(OPT.observe, 0)] }), "40 01 12 34 60"],
    // Uri-Query (15) after Uri-Path (11): delta 4; Block1 27: delta 12; Size1 60: delta 33 → nibble 13, byte 20.
    [
      "extended deltas",
      msg({ options: [stringOpt(OPT.uriQuery, "q"), uintOpt(OPT.block1, 6), uintOpt(OPT.size1, 300)] }),
      "40 01 12 34 d1 02 71 c1 06 d2 14 01 2c",
    ],
    [
      "2.05 NON with payload",
      msg({ type: NON, code: RESPONSE.content, payload: new TextEncoder().encode("hi") }),
      "50 45 12 34 ff 68 69",
    ],
    [
      "option 258 (one-byte delta 245)",
      msg({ options: [uintOpt(OPT.noResponse, 2)] }),
      "40 01 12 34 d1 f5 02",
    ],
    ["option 2000 (two-byte delta)", msg({ options: [uintOpt(2000, 5)] }), "40 01 12 34 e1 06 c3 05"],
  ];
  for (const [name, message, wire] of table) {
    it(`${name}: serializes and parses back`, () => {
      const bytes = serialize(message);
      assert.deepEqual([...bytes], [...hex(wire)]);
      const parsed = parse(bytes);
      assert.ok(parsed.ok, parsed.ok ? "" : parsed.reason);
      assert.deepEqual(
        { ...parsed.message, options: parsed.message.options.map((o) => [o.number, [...o.value]]) },
        { ...message, options: message.options.map((o) => [o.number, [...o.value]]) },
      );
    });
  }

  it("an option value of 300 bytes uses the two-byte length form", () => {
    const value = new Uint8Array(300).fill(0x61);
    const bytes = serialize(msg({ options: [{ number: OPT.uriPath, value }] }));
    assert.deepEqual([...bytes.subarray(4, 7)], [0xbe, 0x00, 300 - 269]);
    const parsed = parse(bytes);
    assert.ok(parsed.ok);
    assert.equal(parsed.message.options[0].value.length, 300);
  });

  it("serializes options in number order whatever order they are given in", () => {
    const bytes = serialize(msg({ options: [stringOpt(OPT.uriQuery, "x"), stringOpt(OPT.uriPath, "p")] }));
    const parsed = parse(bytes);
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.message.options.map((o) => o.number), [OPT.uriPath, OPT.uriQuery]);
  });

  it("refuses to send a 9-byte token", () => {
    assert.throws(() => serialize(msg({ token: new Uint8Array(9) })), /token of 9 bytes/);
  });
});

describe("CoAP codec: message format errors", () => {
  const table: Array<[string, string, RegExp, boolean]> = [
    ["too short", "40 01 12", /shorter than a header/, false],
    ["version 2 is silently ignored", "80 01 12 34", /version 2/, false],
    ["version 0", "00 01 12 34", /version 0/, false],
    ["token length 9", "49 01 12 34 000000000000000000", /token length 9/, true],
    ["token length 15", "4f 01 12 34", /token length 15/, true],
    ["token overruns", "44 01 12 34 aa bb", /token of 4 bytes/, true],
    ["empty message with bytes", "40 00 12 34 ff", /empty message/, true],
    ["reserved class 1", "40 20 12 34", /reserved class/, true],
    ["reserved class 7", "40 e0 12 34", /reserved class/, true],
    ["payload marker, no payload", "40 01 12 34 ff", /no payload/, true],
    ["delta nibble 15 (not a marker)", "40 01 12 34 f1 00", /delta nibble 15/, true],
    ["length nibble 15", "40 01 12 34 bf", /length nibble 15/, true],
    ["delta byte missing", "40 01 12 34 d0", /delta runs past/, true],
    ["length bytes missing", "40 01 12 34 be 01", /length runs past/, true],
    ["value overruns", "40 01 12 34 b3 61 62", /runs past the end/, true],
    ["option number above 65535", "40 01 12 34 e0 ff ff e0 00 10", /above 65535/, true],
  ];
  for (const [name, wire, reason, hasHeader] of table) {
    it(name, () => {
      const r = parse(hex(wire));
      assert.equal(r.ok, false);
      if (r.ok) return;
      assert.match(r.reason, reason);
      assert.equal(r.header !== undefined, hasHeader);
      if (hasHeader) assert.equal(r.header!.messageId, 0x1234);
    });
  }

  it("never throws on random bytes (seeded, 20k datagrams)", () => {
    let seed = 12345;
    const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    for (let i = 0; i < 20_000; i++) {
      const bytes = new Uint8Array(Math.floor(rand() * 40));
      for (let j = 0; j < bytes.length; j++) bytes[j] = Math.floor(rand() * 256);
      if (bytes.length > 0 && rand() < 0.7) bytes[0] = 0x40 | (bytes[0] & 0x3f);
      const r = parse(bytes);
      if (r.ok) assert.deepEqual([...parse(serialize(r.message)).ok ? [1] : [0]], [1]);
    }
  });
});
