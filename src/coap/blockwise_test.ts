import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../clock.ts";
import { blockOption, Blockwise, decodeBlock } from "./blockwise.ts";
import { decodeUint, OPT, RESPONSE } from "./message.ts";

describe("block options (RFC 7959 2.2)", () => {
  const table: Array<[number[], { num: number; more: boolean; szx: number } | undefined]> = [
    [[], { num: 0, more: false, szx: 0 }],
    [[0x06], { num: 0, more: false, szx: 6 }],
    [[0x1e], { num: 1, more: true, szx: 6 }],
    [[0x12, 0x3d], { num: 0x123, more: true, szx: 5 }],
    [[0x07], undefined], // SZX 7 is reserved
    [[1, 2, 3, 4], undefined], // more than 3 bytes
  ];
  for (const [bytes, expected] of table) {
    it(`[${bytes.join(", ")}]`, () => {
      assert.deepEqual(decodeBlock(Uint8Array.from(bytes)), expected);
      if (expected) assert.deepEqual(decodeBlock(blockOption(OPT.block2, expected).value), expected);
    });
  }
});

describe("Blockwise", () => {
  const payload = Uint8Array.from({ length: 2500 }, (_, i) => i & 0xff);

  it("serves a large reply in blocks with one ETag and Size2, leaving small ones alone", () => {
    const bw = new Blockwise({ clock: new FakeClock(), maxBodySize: 4096 });
    const small = { code: RESPONSE.content, payload: new Uint8Array(10) };
    assert.equal(bw.first("p", "r", small, 6), small);
    const first = bw.first("p", "r", { code: RESPONSE.content, payload }, 6);
    const opt = (r: typeof first, n: number) => r.options!.find((o) => o.number === n)!.value;
    assert.equal(first.payload!.length, 1024);
    assert.deepEqual(decodeBlock(opt(first, OPT.block2)), { num: 0, more: true, szx: 6 });
    assert.equal(decodeUint(opt(first, OPT.size2)), 2500);
    const last = bw.next("p", "r", { num: 2, more: false, szx: 6 })!;
    assert.deepEqual([...last.payload!], [...payload.subarray(2048)]);
    assert.deepEqual(decodeBlock(opt(last, OPT.block2)), { num: 2, more: false, szx: 6 });
    assert.deepEqual(opt(last, OPT.etag), opt(first, OPT.etag));
    // A client may ask for smaller blocks later [RFC 7959 2.4].
    assert.equal(bw.next("p", "r", { num: 5, more: false, szx: 4 })!.payload!.length, 256);
    assert.equal(bw.next("p", "r", { num: 9, more: false, szx: 6 })!.code, RESPONSE.badOption);
    assert.equal(bw.next("other", "r", { num: 1, more: false, szx: 6 }), undefined);
  });

  it("reassembles Block1 uploads and forgets unfinished ones after their lifetime", () => {
    const clock = new FakeClock();
    const bw = new Blockwise({ clock, maxBodySize: 4096, lifetimeMs: 1000 });
    const part = (n: number) => payload.subarray(n * 1024, Math.min(2500, (n + 1) * 1024));
    assert.equal(bw.upload("p", "r", { num: 0, more: true, szx: 6 }, part(0)).done, false);
    assert.equal(bw.upload("p", "r", { num: 1, more: true, szx: 6 }, part(1)).done, false);
    const done = bw.upload("p", "r", { num: 2, more: false, szx: 6 }, part(2));
    assert.ok(done.done);
    assert.deepEqual([...done.body], [...payload]);
    bw.upload("p", "r", { num: 0, more: true, szx: 6 }, part(0));
    clock.advance(2000);
    bw.sweep();
    const late = bw.upload("p", "r", { num: 1, more: true, szx: 6 }, part(1));
    assert.ok(!late.done && late.reply.code === RESPONSE.requestEntityIncomplete);
    const short = bw.upload("p", "s", { num: 0, more: true, szx: 6 }, new Uint8Array(10));
    assert.ok(
      !short.done && short.reply.code === RESPONSE.requestEntityIncomplete,
      "a non-final block must be full",
    );
  });
});
