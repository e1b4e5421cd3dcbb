import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  DEFAULT_ITERATIONS,
  hashPassword,
  MIN_ITERATIONS,
  parsePasswordHash,
  timingSafeEqual,
  verifyPassword,
} from "./password.ts";

const FAST = { iterations: MIN_ITERATIONS };

describe("hashPassword / verifyPassword", () => {
  it("round-trips a password and rejects a wrong one", async () => {
    const encoded = await hashPassword("correct horse", FAST);
    assert.equal(await verifyPassword("correct horse", encoded), true);
    assert.equal(await verifyPassword("correct horsf", encoded), false);
    assert.equal(await verifyPassword("", encoded), false);
  });

  it("writes the self-describing format with a 16-byte salt and a 32-byte hash", async () => {
    const encoded = await hashPassword("x", { iterations: 1234 });
    assert.match(encoded, /^\$pbkdf2-sha256\$i=1234\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    const parts = parsePasswordHash(encoded);
    assert.ok(parts);
    assert.equal(parts.iterations, 1234);
    assert.equal(parts.salt.length, 16);
    assert.equal(parts.hash.length, 32);
  });

  it("uses a fresh salt each time", async () => {
    const a = await hashPassword("same", FAST);
    const b = await hashPassword("same", FAST);
    assert.notEqual(a, b);
    assert.equal(await verifyPassword("same", a), true);
    assert.equal(await verifyPassword("same", b), true);
  });

  it("verifies bytes as CONNECT carries them, UTF-8 for strings", async () => {
    const encoded = await hashPassword("pässwörd ✓", FAST);
    assert.equal(await verifyPassword(new TextEncoder().encode("pässwörd ✓"), encoded), true);
    assert.equal(await verifyPassword(new Uint8Array([0xff, 0x00]), encoded), false);
  });

  it("hashes and verifies an empty password", async () => {
    const encoded = await hashPassword("", FAST);
    assert.equal(await verifyPassword("", encoded), true);
    assert.equal(await verifyPassword(" ", encoded), false);
  });

  it("verifies a known vector (PBKDF2-HMAC-SHA256, RFC 7914 section 11: P=passwd, S=salt, c=1 → 55ac046e...)", async () => {
    // RFC 7914 gives 64 bytes for c=1; our 32-byte hash is its first half. The vector's 1 iteration is below
    // MIN_ITERATIONS, so compute the same derivation directly and compare the encoding path separately.
    const key = await crypto.subtle.importKey("raw", new TextEncoder().encode("passwd"), "PBKDF2", false, [
      "deriveBits",
    ]);
    const salt = new TextEncoder().encode("salt");
    const bits = new Uint8Array(
      await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations: 1 }, key, 256),
    );
    assert.equal(
      [...bits].map((b) => b.toString(16).padStart(2, "0")).join(""),
      "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc",
    );
  });

  it("verifies a hash produced elsewhere (Python hashlib.pbkdf2_hmac, salt = bytes 0..15, 1000 iterations)", async () => {
    // Computed outside JavaScript and pinned, so a change to the encoding (padding, alphabet, byte order) fails here.
    const encoded =
      "$pbkdf2-sha256$i=1000$AAECAwQFBgcICQoLDA0ODw$Tvsru20utY6o3q7VRBeuL9h/1QqKhWhwk2PaYNRWBgY";
    assert.equal(await verifyPassword("secret", encoded), true);
    assert.equal(await verifyPassword("Secret", encoded), false);
  });

  it("accepts base64 padding when reading a hash", async () => {
    const encoded = await hashPassword("pad", FAST);
    const [, , i, salt, hash] = encoded.split("$");
    assert.equal(await verifyPassword("pad", `$pbkdf2-sha256$${i}$${salt}==$${hash}=`), true);
  });

  it("returns false for malformed or out-of-range hashes instead of throwing", async () => {
    const good = await hashPassword("p", FAST);
    for (
      const bad of [
        "",
        "p",
        "$pbkdf2-sha1$i=1000$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        good.replace("i=1000", "i=999"),
        good.replace("i=1000", "i=99999999"),
        good.slice(0, -1),
        good + "A",
        good.replace(/\$[^$]+$/, "$!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"),
      ]
    ) {
      assert.equal(parsePasswordHash(bad), undefined, bad);
      assert.equal(await verifyPassword("p", bad), false, bad);
    }
  });

  it("refuses iteration counts outside the accepted range", async () => {
    await assert.rejects(
      hashPassword("p", { iterations: 999 }),
      /Cannot hash a password with 999 iterations/,
    );
    await assert.rejects(hashPassword("p", { iterations: 1.5 }), RangeError);
    await assert.rejects(hashPassword("p", { iterations: 20_000_000 }), RangeError);
  });

  it("defaults to an iteration count that verifies in well under a second", async () => {
    const encoded = await hashPassword("default");
    assert.ok(encoded.startsWith(`$pbkdf2-sha256$i=${DEFAULT_ITERATIONS}$`));
    const start = performance.now();
    assert.equal(await verifyPassword("default", encoded), true);
    // Measured ~40 ms on the project machine; the bound is loose so a busy CI box does not flake.
    assert.ok(performance.now() - start < 1000);
  });
});

describe("timingSafeEqual", () => {
  it("compares bytes and lengths", () => {
    assert.equal(timingSafeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2])), true);
    assert.equal(timingSafeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3])), false);
    assert.equal(timingSafeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2, 3])), false);
    assert.equal(timingSafeEqual(new Uint8Array(), new Uint8Array()), true);
  });
});
