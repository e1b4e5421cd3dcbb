/**
 * Stored password formats of the Redis and SQL backends, named as CoMQTT names them so a CoMQTT user can keep
 * the same rows: `plain` (CoMQTT 0), `bcrypt` (1), `md5` (2), `sha1` (3), `sha256` (4), `sha512` (5), `hmac-sha1` (6),
 * `hmac-sha256` (7), `hmac-sha512` (8), plus our own `pbkdf2` (see ../password.ts) and `auto`, which tells bcrypt
 * and PBKDF2 apart by their prefix and accepts nothing else. Digests compare as hex, case-insensitively, as
 * CoMQTT writes them. Salted SHA digests take the salt before (`prefix`) or after (`suffix`) the password.
 * Web Crypto has no MD5, so `md5` uses a small implementation of our own (md5.ts).
 * @module
 */

import bcrypt from "bcryptjs";
import { hashPassword, timingSafeEqual, verifyPassword } from "../password.ts";
import { md5 } from "./md5.ts";
import { PASSWORD_FORMATS } from "../../../config/auth_config.ts";

export { PASSWORD_FORMATS };

/** How stored passwords are encoded. */
export type PasswordFormat = typeof PASSWORD_FORMATS[number];

/** How to check a password against what a backend stored. */
export interface PasswordCheck {
  /** The encoding of the stored password. */
  readonly format: PasswordFormat;
  /** The HMAC key of the `hmac-*` formats (CoMQTT's `hash-key`). */
  readonly hashKey?: string;
  /** Where a stored salt goes for the `sha*` formats. Default `suffix` (password + salt). */
  readonly saltPosition?: "prefix" | "suffix";
}

const encoder = new TextEncoder();
const SHA: Record<string, string> = { sha1: "SHA-1", sha256: "SHA-256", sha512: "SHA-512" };

/**
 * True when `password` (as CONNECT carries it) matches `stored`. A malformed `stored` value is a mismatch, never
 * an error. `salt` is the stored salt, when the backend has one.
 */
export async function checkPassword(
  check: PasswordCheck,
  password: Uint8Array,
  stored: string,
  salt?: string,
): Promise<boolean> {
  switch (check.format) {
    case "auto":
      if (/^\$2[aby]\$/.test(stored)) return await checkBcrypt(password, stored);
      if (stored.startsWith("$pbkdf2-sha256$")) return await verifyPassword(password, stored);
      return false;
    case "plain":
      return timingSafeEqual(password, encoder.encode(stored));
    case "bcrypt":
      return await checkBcrypt(password, stored);
    case "pbkdf2":
      return await verifyPassword(password, stored);
    case "md5":
    case "sha1":
    case "sha256":
    case "sha512":
      return sameHex(await digest(check, password, salt), stored);
    case "hmac-sha1":
    case "hmac-sha256":
    case "hmac-sha512": {
      const hash = SHA[check.format.slice(5)]!;
      const key = await crypto.subtle.importKey(
        "raw",
        encoder.encode(check.hashKey ?? ""),
        { name: "HMAC", hash },
        false,
        ["sign"],
      );
      const mac = await crypto.subtle.sign("HMAC", key, new Uint8Array(password));
      return sameHex(new Uint8Array(mac), stored);
    }
  }
}

/** The salted digest of the `md5` and `sha*` formats. */
async function digest(
  check: PasswordCheck,
  password: Uint8Array,
  salt: string | undefined,
): Promise<Uint8Array> {
  const s = encoder.encode(salt ?? "");
  const input = check.saltPosition === "prefix" ? concat(s, password) : concat(password, s);
  if (check.format === "md5") return md5(input);
  return new Uint8Array(await crypto.subtle.digest(SHA[check.format]!, input));
}

async function checkBcrypt(password: Uint8Array, stored: string): Promise<boolean> {
  try {
    return await bcrypt.compare(new TextDecoder().decode(password), stored);
  } catch {
    return false; // not a bcrypt hash
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function sameHex(actual: Uint8Array, stored: string): boolean {
  const text = stored.trim().toLowerCase();
  if (!/^[0-9a-f]*$/.test(text) || text.length !== actual.length * 2) return false;
  const expected = new Uint8Array(actual.length);
  for (let i = 0; i < expected.length; i++) expected[i] = parseInt(text.slice(i * 2, i * 2 + 2), 16);
  return timingSafeEqual(actual, expected);
}

/**
 * Encode `password` in `format`, for tests and for filling a store (`plain` and the digests as CoMQTT writes
 * them; bcrypt with cost 10; PBKDF2 with our default iterations unless told).
 */
export async function encodePassword(
  check: PasswordCheck,
  password: string,
  options: { salt?: string; iterations?: number } = {},
): Promise<string> {
  const bytes = encoder.encode(password);
  switch (check.format) {
    case "plain":
      return password;
    case "auto":
    case "bcrypt":
      return await bcrypt.hash(password, 10);
    case "pbkdf2":
      return await hashPassword(password, { iterations: options.iterations });
    case "md5":
    case "sha1":
    case "sha256":
    case "sha512":
      return toHex(await digest(check, bytes, options.salt));
    default: {
      const hash = SHA[check.format.slice(5)]!;
      const key = await crypto.subtle.importKey(
        "raw",
        encoder.encode(check.hashKey ?? ""),
        { name: "HMAC", hash },
        false,
        ["sign"],
      );
      return toHex(new Uint8Array(await crypto.subtle.sign("HMAC", key, bytes)));
    }
  }
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
