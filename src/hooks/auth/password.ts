/**
 * Password hashes for the users file: PBKDF2-SHA-256 through Web Crypto, in a self-describing string.
 *
 * Format: `$pbkdf2-sha256$i=<iterations>$<salt>$<hash>`, salt (16 random bytes) and hash (32 bytes) in
 * standard base64 without padding. The iteration count travels with the hash, so raising the default later
 * leaves existing files valid.
 * @module
 */

/**
 * Default PBKDF2 iterations. Measured on the project's 2-core machine: 310 000 iterations take about 36–41 ms on
 * Deno 2.9, Bun 1.4 and Node 26 (100 000 take 12–14 ms, 600 000 take 69–84 ms). 310 000 is OWASP's 2023 figure
 * for PBKDF2-SHA-256 and stays within a ~50 ms budget per connection.
 */
export const DEFAULT_ITERATIONS = 310_000;
/** Fewest iterations accepted when hashing or reading a hash (tests use it to stay fast). */
export const MIN_ITERATIONS = 1_000;
/** Most iterations accepted: a hash above this would let a users file stall every login. */
export const MAX_ITERATIONS = 10_000_000;

const PREFIX = "$pbkdf2-sha256$";
const SALT_BYTES = 16;
const HASH_BYTES = 32;
const FORMAT = /^\$pbkdf2-sha256\$i=(\d{1,8})\$([A-Za-z0-9+/]{22}(?:==)?)\$([A-Za-z0-9+/]{43}=?)$/;
const encoder = new TextEncoder();

/** The parts of an encoded hash. */
export interface PasswordHash {
  readonly iterations: number;
  readonly salt: Uint8Array;
  readonly hash: Uint8Array;
}

/**
 * Hash a password with a fresh random salt.
 *
 * @example
 * ```ts
 * const encoded = await hashPassword("correct horse");
 * // "$pbkdf2-sha256$i=310000$...$..."
 * await verifyPassword("correct horse", encoded); // true
 * ```
 */
export async function hashPassword(password: string, options: { iterations?: number } = {}): Promise<string> {
  const iterations = options.iterations ?? DEFAULT_ITERATIONS;
  if (!Number.isInteger(iterations) || iterations < MIN_ITERATIONS || iterations > MAX_ITERATIONS) {
    throw new RangeError(
      `Cannot hash a password with ${iterations} iterations: expected a whole number from ${MIN_ITERATIONS} to ${MAX_ITERATIONS}`,
    );
  }
  const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  const hash = await derive(encoder.encode(password), salt, iterations);
  return `${PREFIX}i=${iterations}$${toBase64(salt)}$${toBase64(hash)}`;
}

/**
 * Check a password (as CONNECT carries it, bytes, or a string taken as UTF-8) against an encoded hash.
 * Returns false for a wrong password and for a malformed `encoded`. The final comparison takes the same time
 * wherever the bytes differ.
 */
export async function verifyPassword(password: Uint8Array | string, encoded: string): Promise<boolean> {
  const parsed = parsePasswordHash(encoded);
  if (parsed === undefined) return false;
  const bytes = typeof password === "string" ? encoder.encode(password) : password;
  const actual = await derive(bytes, parsed.salt, parsed.iterations);
  return timingSafeEqual(actual, parsed.hash);
}

/** Split an encoded hash into its parts; undefined when it is not in the expected format. */
export function parsePasswordHash(encoded: string): PasswordHash | undefined {
  const m = FORMAT.exec(encoded);
  if (!m) return undefined;
  const iterations = Number(m[1]);
  if (iterations < MIN_ITERATIONS || iterations > MAX_ITERATIONS) return undefined;
  return { iterations, salt: fromBase64(m[2]), hash: fromBase64(m[3]) };
}

/** Compare two byte arrays in time that depends only on their lengths. */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

async function derive(password: Uint8Array, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  // Copy into fresh ArrayBuffers: Web Crypto's types (and some runtimes) refuse views over shared or pooled buffers.
  const key = await crypto.subtle.importKey("raw", new Uint8Array(password), "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt: new Uint8Array(salt), iterations },
    key,
    HASH_BYTES * 8,
  );
  return new Uint8Array(bits);
}

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/=+$/, "");
}

function fromBase64(text: string): Uint8Array {
  const padded = text.replace(/=+$/, "");
  const binary = atob(padded + "=".repeat((4 - (padded.length % 4)) % 4));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}
