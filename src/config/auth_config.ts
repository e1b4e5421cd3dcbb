/**
 * The `auth` section: which auth decides, and the settings of the backends (HTTP, Redis, PostgreSQL, MySQL,
 * JWT) and of a chain of them.
 * @module
 */

/** Every format name accepted by `passwordHash` (verified in src/hooks/auth/backends/password_formats.ts). */
export const PASSWORD_FORMATS = [
  "auto",
  "plain",
  "bcrypt",
  "pbkdf2",
  "md5",
  "sha1",
  "sha256",
  "sha512",
  "hmac-sha1",
  "hmac-sha256",
  "hmac-sha512",
] as const;

/** How stored passwords are encoded. */
export type PasswordHashName = typeof PASSWORD_FORMATS[number];

/** Settings every backend takes. */
export interface BackendCommonConfig {
  /** Most milliseconds one backend call may take. Default 5000. */
  readonly timeout: number;
  /** Decision cache: `ttl` seconds, `size` entries. Default `{ ttl: 60, size: 100000 }`; ttl 0 turns it off. */
  readonly cache: { readonly ttl: number; readonly size: number };
  /** What a failing backend answers: `deny` (default) or `ignore` (no opinion: the next in a chain decides). */
  readonly onError: "deny" | "ignore";
}

/** `type: http`. */
export interface HttpAuthBackendConfig extends BackendCommonConfig {
  /** Selects this backend. */
  readonly type: "http";
  /** Where CONNECT decisions are asked. */
  readonly url: string;
  /** Where publish and subscribe decisions are asked; without it, ACLs come only from the CONNECT answer. */
  readonly aclUrl?: string;
  /** Default POST. */
  readonly method: "POST" | "GET";
  /** Extra request headers, e.g. an API key. */
  readonly headers?: Readonly<Record<string, string>>;
  /** GET only: send the password in the query string too. Default false. */
  readonly passwordInQuery: boolean;
  /** PEM file of the CA that signed an HTTPS service's certificate (relative to the config file). */
  readonly ca?: string;
}

/** How stored passwords are checked (Redis and SQL). */
export interface PasswordConfig {
  /** Default `auto` (bcrypt or our PBKDF2, told apart by prefix). */
  readonly passwordHash: PasswordHashName;
  /** HMAC key of the `hmac-*` formats (CoMQTT's `hash-key`). */
  readonly hashKey?: string;
  /** Salted `sha*`: the salt goes before (`prefix`) or after (`suffix`, default) the password. */
  readonly saltPosition: "prefix" | "suffix";
}

/** `type: redis`: CoMQTT's layout by default. */
export interface RedisAuthBackendConfig extends BackendCommonConfig, PasswordConfig {
  /** Selects this backend. */
  readonly type: "redis";
  /** `redis://[user:password@]host:port/db` (or `rediss://`). */
  readonly url: string;
  /** Hash of users: field = user name, value = JSON `{username, password, allow}`. Default `comqtt:auth`. */
  readonly authKey: string;
  /** Prefix of each user's ACL hash `<prefix>:<username>` (field = filter, value 0-3). Default `comqtt:acl`. */
  readonly aclPrefix: string;
}

/** Table and column names for the default SQL queries (CoMQTT's by default). */
export interface SqlTablesConfig {
  readonly authTable: string;
  readonly aclTable: string;
  readonly usernameColumn: string;
  readonly passwordColumn: string;
  readonly allowColumn: string;
  readonly topicColumn: string;
  readonly accessColumn: string;
}

/** `type: postgres` or `type: mysql`. */
export interface SqlAuthBackendConfig extends BackendCommonConfig, PasswordConfig {
  /** Selects this backend and the database it talks to. */
  readonly type: "postgres" | "mysql";
  /** `postgres://user:password@host:port/db` or `mysql://user:password@host:port/db`. */
  readonly url: string;
  /**
   * Returns one row with columns `password` and optionally `allow`, `salt`, `superuser`, given the user name as
   * its only parameter (`$1` for postgres, `?` for mysql). Default built from the table settings.
   */
  readonly authQuery: string;
  /** Returns rows with `topic` and `access` for the user name; `false` in the file turns ACLs off. */
  readonly aclQuery?: string;
}

/** `type: jwt`: a token in the password field. */
export interface JwtAuthBackendConfig extends BackendCommonConfig {
  /** Selects this backend. */
  readonly type: "jwt";
  /** Shared secret of the HS* algorithms. */
  readonly secret?: string;
  /** PEM file of the public key (relative to the config file). */
  readonly publicKey?: string;
  /** JWKS JSON file (relative to the config file). */
  readonly jwksFile?: string;
  /** Accepted `alg` values. Default HS256 with `secret`, else RS256 and ES256. */
  readonly algorithms: readonly string[];
  /** Default `acl`. */
  readonly aclClaim: string;
  /** Claim that must equal the CONNECT user name when the token has it. Default `username`. */
  readonly usernameClaim: string;
  /** Required `iss` claim, when set. */
  readonly issuer?: string;
  /** Required `aud` claim, when set. */
  readonly audience?: string;
}

/** Every backend's config. */
export type BackendAuthConfig =
  | HttpAuthBackendConfig
  | RedisAuthBackendConfig
  | SqlAuthBackendConfig
  | JwtAuthBackendConfig;

/** One link of a chain (a chain does not nest). */
export type AuthLinkConfig =
  | { readonly type: "allow" }
  | { readonly type: "deny" }
  | { readonly type: "file"; readonly file: string }
  | BackendAuthConfig;

/** `chain: [...]`: several auths asked in order. */
export interface AuthChainConfig {
  /** Selects a chain. */
  readonly type: "chain";
  /** The auths to ask, in order; the first that allows or denies decides. */
  readonly chain: readonly AuthLinkConfig[];
}

/** Defaults of {@link BackendCommonConfig}. */
export const DEFAULT_BACKEND_COMMON: BackendCommonConfig = Object.freeze({
  timeout: 5000,
  cache: Object.freeze({ ttl: 60, size: 100_000 }),
  onError: "deny" as const,
});

/** CoMQTT's table and column names. */
export const DEFAULT_SQL_TABLES: SqlTablesConfig = Object.freeze({
  authTable: "auth",
  aclTable: "acl",
  usernameColumn: "username",
  passwordColumn: "password",
  allowColumn: "allow",
  topicColumn: "topic",
  accessColumn: "access",
});
