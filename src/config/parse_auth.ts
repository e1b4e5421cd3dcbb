/**
 * The `auth` mapping (top-level or a listener's): `type` allow | deny | file | http | redis | postgres | mysql |
 * jwt with each type's keys, or `chain: [...]` of them. Problems name file:line:key.
 * @module
 */

import type { Checker } from "./checker.ts";
import { describe, isPlainObject } from "./checker.ts";
import { DEFAULT_CONFIG } from "./config.ts";
import type { AuthConfig, ListenerTlsConfig } from "./config.ts";
import { DEFAULT_BACKEND_COMMON, DEFAULT_SQL_TABLES, PASSWORD_FORMATS } from "./auth_config.ts";
import type {
  AuthLinkConfig,
  BackendCommonConfig,
  PasswordConfig,
  PasswordHashName,
  SqlTablesConfig,
} from "./auth_config.ts";
import type { KeyPath } from "./yaml_source.ts";

const TYPES = ["allow", "deny", "file", "http", "redis", "postgres", "mysql", "jwt"] as const;
type AuthType = typeof TYPES[number];
const COMMON_KEYS = ["timeout", "cache", "onError"];
const PASSWORD_KEYS = ["passwordHash", "hashKey", "saltPosition"];
const HASHES: readonly PasswordHashName[] = PASSWORD_FORMATS;
/** CoMQTT's numeric `password-hash` codes. */
const COMQTT_HASHES: Readonly<Record<number, PasswordHashName>> = {
  0: "plain",
  1: "bcrypt",
  2: "md5",
  3: "sha1",
  4: "sha256",
  5: "sha512",
  6: "hmac-sha1",
  7: "hmac-sha256",
  8: "hmac-sha512",
};
const KEYS: Record<AuthType, readonly string[]> = {
  allow: [],
  deny: [],
  file: ["file"],
  http: ["url", "aclUrl", "method", "headers", "passwordInQuery", "ca", ...COMMON_KEYS],
  redis: ["url", "authKey", "aclPrefix", ...PASSWORD_KEYS, ...COMMON_KEYS],
  postgres: [
    "url",
    "authQuery",
    "aclQuery",
    ...Object.keys(DEFAULT_SQL_TABLES),
    ...PASSWORD_KEYS,
    ...COMMON_KEYS,
  ],
  mysql: [
    "url",
    "authQuery",
    "aclQuery",
    ...Object.keys(DEFAULT_SQL_TABLES),
    ...PASSWORD_KEYS,
    ...COMMON_KEYS,
  ],
  jwt: [
    "secret",
    "publicKey",
    "jwksFile",
    "algorithms",
    "aclClaim",
    "usernameClaim",
    "issuer",
    "audience",
    ...COMMON_KEYS,
  ],
};
const JWT_ALGORITHMS = [
  "HS256",
  "HS384",
  "HS512",
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
];
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/;

/** `auth` at `path`: a single auth, or `chain: [...]` (whose `timeout`, `cache`, `onError` are the links' defaults). */
export function parseAuth(
  check: Checker,
  value: unknown,
  path: KeyPath = ["auth"],
  tls?: ListenerTlsConfig | null,
): AuthConfig {
  if (isPlainObject(value) && value.type === "certificate") {
    return parseCertificateAuth(check, value, path, tls);
  }
  if (isPlainObject(value) && "chain" in value) {
    const map = check.mapping(value, path, ["type", "chain", ...COMMON_KEYS])!;
    if ("type" in map && map.type !== "chain") {
      check.problem([...path, "type"], `give either "type" or "chain", not both`);
    }
    const common = parseCommon(check, map, path, DEFAULT_BACKEND_COMMON);
    const items = check.list(map.chain, [...path, "chain"]) ?? [];
    if (items.length === 0) check.problem([...path, "chain"], "expected at least one auth in the chain");
    const chain = items.map((item, i) => parseLink(check, item, [...path, "chain", i], common))
      .filter((l): l is AuthLinkConfig => l !== undefined);
    return chain.length === items.length && chain.length > 0 ? { type: "chain", chain } : DEFAULT_CONFIG.auth;
  }
  return parseLink(check, value, path, DEFAULT_BACKEND_COMMON) ?? DEFAULT_CONFIG.auth;
}

/**
 * A listener's `auth: { type: certificate, file }`: a verified client certificate lets the device in, and `file`
 * (a users file, usually only ACL rules) checks its topics under the certificate's common name. `tls` is the
 * listener's (null for one without; undefined for the top-level `auth`, which cannot take this type).
 */
function parseCertificateAuth(
  check: Checker,
  value: Record<string, unknown>,
  path: KeyPath,
  tls: ListenerTlsConfig | null | undefined,
): AuthConfig {
  const map = check.mapping(value, path, ["type", "file"])!;
  if (tls === undefined) {
    check.problem([...path, "type"], `"certificate" is a listener's auth only (one with tls.clientCa)`);
    return DEFAULT_CONFIG.auth;
  }
  if (tls === null || tls.clientCa === undefined || !tls.useIdentityAsUsername) {
    check.problem(
      [...path, "type"],
      `"certificate" needs this listener's tls.clientCa and tls.useIdentityAsUsername: true (the certificate ` +
        `is the credential, and its common name the user name the ACL rules see)`,
    );
  }
  if (!("file" in map)) {
    check.problem(path, `missing key "file" (the ACL rules for certificate users, e.g. "./devices.yaml")`);
    return DEFAULT_CONFIG.auth;
  }
  const file = check.string(map.file, [...path, "file"]);
  return file === undefined ? DEFAULT_CONFIG.auth : { type: "certificate", file };
}

function parseLink(
  check: Checker,
  value: unknown,
  path: KeyPath,
  defaults: BackendCommonConfig,
): AuthLinkConfig | undefined {
  const loose = check.mapping(value, path);
  if (!loose) return undefined;
  if (!("type" in loose)) {
    check.problem(path, `missing key "type" (one of ${TYPES.join(", ")}), or a "chain" list`);
    return undefined;
  }
  const type = check.oneOf(loose.type, [...path, "type"], TYPES);
  if (type === undefined) return undefined;
  if ("file" in loose && type !== "file") {
    check.problem([...path, "file"], `only auth type "file" takes a file`);
  }
  const map = check.mapping(loose, path, ["type", "file", ...KEYS[type]])!;
  const before = check.problems.length;
  const at = (key: string): KeyPath => [...path, key];
  const str = (key: string) => (key in map ? check.string(map[key], at(key)) : undefined);
  const need = (key: string, example: string) => {
    if (!(key in map)) {
      check.problem(path, `missing key "${key}" (${example.startsWith("the") ? "" : "e.g. "}${example})`);
    }
    return str(key);
  };
  let out: AuthLinkConfig | undefined;
  switch (type) {
    case "allow":
    case "deny":
      out = { type };
      break;
    case "file": {
      const file = need("file", `the users file, e.g. "./users.yaml"`);
      if (file !== undefined) out = { type, file };
      break;
    }
    case "http": {
      const url = need("url", `"http://127.0.0.1:9000/mqtt/auth"`);
      checkUrl(check, url, at("url"), ["http:", "https:"]);
      const aclUrl = str("aclUrl");
      checkUrl(check, aclUrl, at("aclUrl"), ["http:", "https:"]);
      const method = "method" in map
        ? check.oneOf(map.method, at("method"), ["POST", "GET"] as const)
        : "POST";
      const headers = "headers" in map ? parseHeaders(check, map.headers, at("headers")) : undefined;
      const passwordInQuery = "passwordInQuery" in map
        ? check.boolean(map.passwordInQuery, at("passwordInQuery"))
        : false;
      if (passwordInQuery && method !== "GET") {
        check.problem(at("passwordInQuery"), `only used with method "GET"`);
      }
      const ca = str("ca");
      out = {
        type,
        url: url ?? "",
        ...(aclUrl === undefined ? {} : { aclUrl }),
        method: method ?? "POST",
        ...(headers === undefined ? {} : { headers }),
        passwordInQuery: passwordInQuery ?? false,
        ...(ca === undefined ? {} : { ca }),
        ...parseCommon(check, map, path, defaults),
      };
      break;
    }
    case "redis": {
      const url = need("url", `"redis://127.0.0.1:6379/0"`);
      checkUrl(check, url, at("url"), ["redis:", "rediss:"]);
      out = {
        type,
        url: url ?? "",
        authKey: str("authKey") ?? "comqtt:auth",
        aclPrefix: str("aclPrefix") ?? "comqtt:acl",
        ...parsePassword(check, map, path),
        ...parseCommon(check, map, path, defaults),
      };
      break;
    }
    case "postgres":
    case "mysql": {
      const scheme = type === "postgres" ? ["postgres:", "postgresql:"] : ["mysql:", "mariadb:"];
      const url = need(
        "url",
        `"${type}://user:password@127.0.0.1:${type === "postgres" ? 5432 : 3306}/mqtt"`,
      );
      checkUrl(check, url, at("url"), scheme);
      const tables = { ...DEFAULT_SQL_TABLES } as Record<string, string>;
      for (const key of Object.keys(DEFAULT_SQL_TABLES)) {
        const name = str(key);
        if (name === undefined) continue;
        if (!IDENTIFIER.test(name)) {
          check.problem(
            at(key),
            `expected a plain SQL name (letters, digits, _), received ${JSON.stringify(name)}`,
          );
        } else tables[key] = name;
      }
      const parameter = type === "postgres" ? "$1" : "?";
      const query = (key: string): string | undefined => {
        const q = str(key);
        if (q !== undefined && !q.includes(parameter)) {
          check.problem(
            at(key),
            `the query has no parameter ${parameter} for the user name: ${JSON.stringify(q)}`,
          );
        }
        return q;
      };
      const authQuery = query("authQuery") ??
        defaultAuthQuery(tables as unknown as SqlTablesConfig, parameter);
      const aclOff = map.aclQuery === false;
      const aclQuery = aclOff
        ? undefined
        : query("aclQuery") ?? defaultAclQuery(tables as unknown as SqlTablesConfig, parameter);
      out = {
        type,
        url: url ?? "",
        authQuery,
        ...(aclQuery === undefined ? {} : { aclQuery }),
        ...parsePassword(check, map, path),
        ...parseCommon(check, map, path, defaults),
      };
      break;
    }
    case "jwt": {
      const secret = str("secret");
      const publicKey = str("publicKey");
      const jwksFile = str("jwksFile");
      const keys = [secret, publicKey, jwksFile].filter((k) => k !== undefined).length;
      if (keys !== 1) {
        check.problem(path, `expected exactly one of "secret", "publicKey" (a PEM file), "jwksFile"`);
      }
      let algorithms: string[] = secret !== undefined ? ["HS256"] : ["RS256", "ES256"];
      if ("algorithms" in map) {
        const list = check.list(map.algorithms, at("algorithms")) ?? [];
        algorithms = list.map((a, i) => check.oneOf(a, [...path, "algorithms", i], JWT_ALGORITHMS))
          .filter((a): a is string => a !== undefined);
        if (list.length === 0) check.problem(at("algorithms"), "expected at least one algorithm");
      }
      const issuer = str("issuer");
      const audience = str("audience");
      out = {
        type,
        ...(secret === undefined ? {} : { secret }),
        ...(publicKey === undefined ? {} : { publicKey }),
        ...(jwksFile === undefined ? {} : { jwksFile }),
        algorithms,
        aclClaim: str("aclClaim") ?? "acl",
        usernameClaim: str("usernameClaim") ?? "username",
        ...(issuer === undefined ? {} : { issuer }),
        ...(audience === undefined ? {} : { audience }),
        ...parseCommon(check, map, path, defaults),
      };
      break;
    }
  }
  return check.problems.length > before ? undefined : out;
}

function parseCommon(
  check: Checker,
  map: Record<string, unknown>,
  path: KeyPath,
  defaults: BackendCommonConfig,
): BackendCommonConfig {
  const timeout = "timeout" in map
    ? check.wholeNumber(map.timeout, [...path, "timeout"], 1, 600_000)
    : undefined;
  let cache = defaults.cache;
  if ("cache" in map) {
    const c = check.mapping(map.cache, [...path, "cache"], ["ttl", "size"]) ?? {};
    const ttl = "ttl" in c ? check.wholeNumber(c.ttl, [...path, "cache", "ttl"], 0, 31_536_000) : undefined;
    const size = "size" in c
      ? check.wholeNumber(c.size, [...path, "cache", "size"], 0, 100_000_000)
      : undefined;
    cache = { ttl: ttl ?? defaults.cache.ttl, size: size ?? defaults.cache.size };
  }
  const onError = "onError" in map
    ? check.oneOf(map.onError, [...path, "onError"], ["deny", "ignore"] as const)
    : undefined;
  return { timeout: timeout ?? defaults.timeout, cache, onError: onError ?? defaults.onError };
}

function parsePassword(check: Checker, map: Record<string, unknown>, path: KeyPath): PasswordConfig {
  let passwordHash: PasswordHashName = "auto";
  if ("passwordHash" in map) {
    const raw = map.passwordHash;
    if (typeof raw === "number") {
      const named = COMQTT_HASHES[raw];
      if (named === undefined) {
        check.problem(
          [...path, "passwordHash"],
          `expected one of CoMQTT's codes 0 to 8 or a name (${HASHES.join(", ")}), received ${raw}`,
        );
      } else passwordHash = named;
    } else passwordHash = check.oneOf(raw, [...path, "passwordHash"], HASHES) ?? "auto";
  }
  const hashKey = "hashKey" in map ? check.string(map.hashKey, [...path, "hashKey"]) : undefined;
  if (passwordHash.startsWith("hmac-") && hashKey === undefined && !("hashKey" in map)) {
    check.problem(path, `missing key "hashKey" (the HMAC key of passwordHash ${passwordHash})`);
  }
  const saltPosition = "saltPosition" in map
    ? check.oneOf(map.saltPosition, [...path, "saltPosition"], ["prefix", "suffix"] as const)
    : "suffix";
  return {
    passwordHash,
    ...(hashKey === undefined ? {} : { hashKey }),
    saltPosition: saltPosition ?? "suffix",
  };
}

function parseHeaders(check: Checker, value: unknown, path: KeyPath): Record<string, string> | undefined {
  const map = check.mapping(value, path);
  if (!map) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(map)) {
    if (typeof v !== "string") check.problem([...path, k], `expected a string, received ${describe(v)}`);
    else out[k] = v;
  }
  return out;
}

function checkUrl(check: Checker, url: string | undefined, path: KeyPath, schemes: readonly string[]): void {
  if (url === undefined) return;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    check.problem(path, `expected a URL, received ${JSON.stringify(url)}`);
    return;
  }
  if (!schemes.includes(parsed.protocol)) {
    check.problem(
      path,
      `expected a ${schemes.map((s) => s + "//").join(" or ")} URL, received ${JSON.stringify(url)}`,
    );
  }
}

/** `SELECT password, allow FROM auth WHERE username = $1`, with the configured names. */
export function defaultAuthQuery(t: SqlTablesConfig, parameter: string): string {
  return `SELECT ${t.passwordColumn} AS password, ${t.allowColumn} AS allow FROM ${t.authTable} ` +
    `WHERE ${t.usernameColumn} = ${parameter}`;
}

/** `SELECT topic, access FROM acl WHERE username = $1`, with the configured names. */
export function defaultAclQuery(t: SqlTablesConfig, parameter: string): string {
  return `SELECT ${t.topicColumn} AS topic, ${t.accessColumn} AS access FROM ${t.aclTable} ` +
    `WHERE ${t.usernameColumn} = ${parameter}`;
}
