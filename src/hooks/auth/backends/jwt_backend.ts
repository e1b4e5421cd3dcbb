/**
 * The JWT backend: the CONNECT password carries a signed token (HS256/384/512 with a shared secret, RS*, PS* or
 * ES* with a public key or a JWKS). A valid token admits the client until its `exp`, when the client is
 * disconnected; its ACL comes from a claim.
 *
 * The ACL claim (default `acl`) is either a list `[{topic, access}]` (access `read`, `write`, `readwrite`,
 * `deny`, or CoMQTT's 0-3) or EMQX's shape `{pub: [...], sub: [...], all: [...]}`. A token without the claim
 * gives no opinion on ACL checks. `superuser: true` in the token bypasses ACL checks. When the token has a
 * `username` claim (or the configured `usernameClaim`), it must equal the CONNECT user name. A password that is
 * not shaped like a JWT gets no opinion (another auth in a chain may know it); a token that fails is refused.
 * @module
 */

import { createLocalJWKSet, importSPKI, jwtVerify } from "jose";
import type { FlattenedJWSInput, JSONWebKeySet, JWSHeaderParameters, JWTPayload } from "jose";
import type { AclRule, RuleAccess } from "../acl_rules.ts";
import { parseAclList } from "./http_backend.ts";
import type { AuthAnswer, AuthBackend, AuthRequest } from "./backend.ts";

/** Signature algorithms accepted by default. */
export const DEFAULT_JWT_ALGORITHMS: readonly string[] = ["HS256", "RS256", "ES256"];

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** Options of {@link JwtBackend}: exactly one of `secret`, `publicKey`, `jwks`. */
export interface JwtBackendOptions {
  /** Shared secret of the HS* algorithms. */
  readonly secret?: string;
  /** SPKI PEM public key of the RS*, PS* and ES* algorithms. */
  readonly publicKey?: string;
  /**
   * A JSON Web Key Set, `{ keys: [...] }` (the adapter reads `jwksFile`). Typed by `jose`, whose types this
   * package does not re-export, so left out of the generated docs.
   * @ignore
   */
  readonly jwks?: JSONWebKeySet;
  /** Accepted `alg` values. Default HS256, RS256, ES256 (each only with a matching key). */
  readonly algorithms?: readonly string[];
  /** Claim holding the ACL. Default `acl`. */
  readonly aclClaim?: string;
  /** Claim that must equal the user name when the token has it. Default `username`. */
  readonly usernameClaim?: string;
  /** Required `iss` / `aud`, when set. */
  readonly issuer?: string;
  /** Required `aud` claim, when set. */
  readonly audience?: string;
  /** Seconds of clock skew accepted on `exp` and `nbf`. Default 0. */
  readonly clockTolerance?: number;
}

/** Verifies tokens locally: no network call, so it never times out. */
export class JwtBackend implements AuthBackend {
  readonly kind = "jwt";
  readonly #options: JwtBackendOptions;
  readonly #getKey: (header: JWSHeaderParameters) => Promise<CryptoKey | Uint8Array>;

  /** Throws a TypeError unless exactly one of `secret`, `publicKey`, `jwks` is given. */
  constructor(options: JwtBackendOptions) {
    const keys = [options.secret, options.publicKey, options.jwks].filter((k) => k !== undefined).length;
    if (keys !== 1) {
      throw new TypeError(`A JWT backend needs exactly one of secret, publicKey, jwks (got ${keys})`);
    }
    this.#options = options;
    this.#getKey = keyResolver(options);
  }

  async authenticate(request: AuthRequest, _signal: AbortSignal): Promise<AuthAnswer> {
    if (request.password === undefined) return { result: "deny" };
    const token = new TextDecoder().decode(request.password);
    // Not a token at all: a password for another auth in the chain, so no opinion rather than a refusal.
    if (!JWT_SHAPE.test(token)) return { result: "ignore" };
    let payload: JWTPayload;
    try {
      const result = await jwtVerify(token, this.#getKey, {
        algorithms: [...(this.#options.algorithms ?? DEFAULT_JWT_ALGORITHMS)],
        issuer: this.#options.issuer,
        audience: this.#options.audience,
        clockTolerance: this.#options.clockTolerance ?? 0,
      });
      payload = result.payload;
    } catch {
      return { result: "deny" }; // a bad, expired or foreign token is a wrong password, not a backend failure
    }
    const claim = payload[this.#options.usernameClaim ?? "username"];
    if (claim !== undefined && claim !== request.username) return { result: "deny" };
    let acl: AclRule[] | undefined;
    const raw = payload[this.#options.aclClaim ?? "acl"];
    if (raw !== undefined) {
      try {
        acl = aclFromClaim(raw);
      } catch {
        return { result: "deny" }; // a token whose ACL we cannot read must not get more than it says
      }
    }
    return {
      result: "allow",
      ...(payload.superuser === true ? { superuser: true } : {}),
      ...(acl === undefined ? {} : { acl }),
      ...(payload.exp === undefined ? {} : { expiresAt: payload.exp * 1000 }),
    };
  }
}

/** How a token's key is found: the secret, the public key imported for the token's `alg`, or the JWKS. */
function keyResolver(o: JwtBackendOptions): (header: JWSHeaderParameters) => Promise<CryptoKey | Uint8Array> {
  if (o.secret !== undefined) {
    const secret = new TextEncoder().encode(o.secret);
    return () => Promise.resolve(secret);
  }
  if (o.jwks !== undefined) {
    const set = createLocalJWKSet(o.jwks);
    return async (header) => (await set(header, {} as FlattenedJWSInput)) as CryptoKey | Uint8Array;
  }
  const byAlg = new Map<string, Promise<CryptoKey>>();
  return (header) => {
    const alg = header.alg ?? "";
    const known = byAlg.get(alg);
    if (known !== undefined) return known;
    // jose's types name Node's CryptoKey under Deno; the value is the Web Crypto key either way.
    const key = importSPKI(o.publicKey!, alg) as unknown as Promise<CryptoKey>;
    byAlg.set(alg, key);
    return key;
  };
}

/** The ACL claim as rules: a rule list, or `{pub, sub, all}` lists of filters. */
export function aclFromClaim(raw: unknown): AclRule[] {
  if (Array.isArray(raw)) return parseAclList(raw, "token claim");
  if (typeof raw !== "object" || raw === null) throw new Error("the ACL claim must be a list or a mapping");
  const o = raw as Record<string, unknown>;
  const out: AclRule[] = [];
  const add = (key: string, access: RuleAccess) => {
    const list = o[key];
    if (list === undefined) return;
    if (!Array.isArray(list) || list.some((t) => typeof t !== "string")) {
      throw new Error(`the ACL claim's "${key}" must be a list of topic filters`);
    }
    out.push(...parseAclList(list.map((topic) => ({ topic, access })), "token claim"));
  };
  add("pub", "write");
  add("sub", "read");
  add("all", "readwrite");
  add("deny", "deny");
  return out;
}
