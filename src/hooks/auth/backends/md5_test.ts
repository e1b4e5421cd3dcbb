import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { md5 } from "./md5.ts";

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const text = (s: string) => new TextEncoder().encode(s);

describe("md5", () => {
  it("matches the RFC 1321 test suite", () => {
    assert.equal(hex(md5(text(""))), "d41d8cd98f00b204e9800998ecf8427e");
    assert.equal(hex(md5(text("a"))), "0cc175b9c0f1b6a831c399e269772661");
    assert.equal(hex(md5(text("abc"))), "900150983cd24fb0d6963f7d28e17f72");
    assert.equal(hex(md5(text("message digest"))), "f96b697d7cb7938d525a2f31aaf161d0");
    assert.equal(hex(md5(text("abcdefghijklmnopqrstuvwxyz"))), "c3fcd3d76192e4007dfb496cca67e13b");
    assert.equal(
      hex(md5(text("12345678901234567890123456789012345678901234567890123456789012345678901234567890"))),
      "57edf4a22be3c955ac49da2e2107b67a",
    );
  });

  it("handles every length around the 56- and 64-byte padding edges", () => {
    // Reference digests of "x" repeated n times, from `md5sum` (coreutils).
    const expected: Record<number, string> = {
      55: "04364420e25c512fd958a70738aa8f72",
      56: "668a72d5ba17f08e62dabcafad6db14b",
      63: "7dc2ca208106a2f703567bdff99d8981",
      64: "c1bb4f81d892b2d57947682aeb252456",
    };
    for (const [n, digest] of Object.entries(expected)) {
      assert.equal(hex(md5(text("x".repeat(Number(n))))), digest, `n=${n}`);
    }
  });
});
