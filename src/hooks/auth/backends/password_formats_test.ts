import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { checkPassword, encodePassword } from "./password_formats.ts";
import type { PasswordCheck } from "./password_formats.ts";
import { hashPassword } from "../password.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

describe("checkPassword", () => {
  it("CoMQTT's digests: hex of sha256/sha512/sha1 and of HMAC with the hash key (case-insensitive)", async () => {
    // Reference values computed independently (sha256sum, openssl dgst -hmac).
    const sha256 = "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"; // "password"
    assert.equal(await checkPassword({ format: "sha256" }, bytes("password"), sha256), true);
    assert.equal(await checkPassword({ format: "sha256" }, bytes("password"), sha256.toUpperCase()), true);
    assert.equal(await checkPassword({ format: "sha256" }, bytes("Password"), sha256), false);
    const hmac = "29547da9137cbdc67e97383dab75d4edb89f9ac09254ceb0456a2fddeb2ec8a3"; // HMAC-SHA256("password", "k")
    assert.equal(await checkPassword({ format: "hmac-sha256", hashKey: "k" }, bytes("password"), hmac), true);
    assert.equal(
      await checkPassword({ format: "hmac-sha256", hashKey: "j" }, bytes("password"), hmac),
      false,
    );
    // md5sum of "password" (CoMQTT's code 2).
    assert.equal(
      await checkPassword({ format: "md5" }, bytes("password"), "5f4dcc3b5aa765d61d8327deb882cf99"),
      true,
    );
    for (const format of ["md5", "sha1", "sha512", "hmac-sha1", "hmac-sha256", "hmac-sha512"] as const) {
      const check: PasswordCheck = { format, hashKey: "key" };
      const stored = await encodePassword(check, "pw");
      assert.equal(await checkPassword(check, bytes("pw"), stored), true, format);
      assert.equal(await checkPassword(check, bytes("px"), stored), false, format);
      if (format.startsWith("hmac")) {
        assert.equal(
          await checkPassword({ format, hashKey: "other" }, bytes("pw"), stored),
          false,
          "key matters",
        );
      }
    }
  });

  it("salted sha: the salt before or after the password", async () => {
    const prefix: PasswordCheck = { format: "sha256", saltPosition: "prefix" };
    const stored = await encodePassword(prefix, "pw", { salt: "NaCl" });
    assert.equal(await checkPassword(prefix, bytes("pw"), stored, "NaCl"), true);
    assert.equal(await checkPassword(prefix, bytes("pw"), stored, "other"), false);
    assert.equal(
      await checkPassword({ format: "sha256" }, bytes("pw"), stored, "NaCl"),
      false,
      "suffix differs",
    );
  });

  it("bcrypt, our PBKDF2, and auto telling them apart; auto refuses anything else", async () => {
    const bcrypt = await encodePassword({ format: "bcrypt" }, "pw");
    const pbkdf2 = await hashPassword("pw", { iterations: 1000 });
    assert.equal(await checkPassword({ format: "bcrypt" }, bytes("pw"), bcrypt), true);
    assert.equal(await checkPassword({ format: "bcrypt" }, bytes("nope"), bcrypt), false);
    assert.equal(await checkPassword({ format: "pbkdf2" }, bytes("pw"), pbkdf2), true);
    assert.equal(await checkPassword({ format: "auto" }, bytes("pw"), bcrypt), true);
    assert.equal(await checkPassword({ format: "auto" }, bytes("pw"), pbkdf2), true);
    assert.equal(
      await checkPassword({ format: "auto" }, bytes("pw"), "pw"),
      false,
      "plain text is not guessed",
    );
    assert.equal(await checkPassword({ format: "bcrypt" }, bytes("pw"), "not a hash"), false);
  });

  it("plain compares the bytes", async () => {
    assert.equal(await checkPassword({ format: "plain" }, bytes("pw"), "pw"), true);
    assert.equal(await checkPassword({ format: "plain" }, bytes("pw "), "pw"), false);
  });
});
