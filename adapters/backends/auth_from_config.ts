/**
 * Config → auth hook for every `auth.type` (allow, deny, file, http, redis, postgres, mysql, jwt) and for
 * `auth.chain`. This is where the network clients (fetch with a CA, ioredis, pg, mysql2) meet the runtime-free
 * decision logic of src/hooks/auth/backends/.
 * @module
 */

import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { Hook } from "../../src/hooks/hook.ts";
import type { AuthConfig } from "../../src/config/config.ts";
import type { AuthLinkConfig, BackendCommonConfig } from "../../src/config/auth_config.ts";
import { AllowHook } from "../../src/hooks/auth/allow_hook.ts";
import { DenyHook } from "../../src/hooks/auth/deny_hook.ts";
import { FileAuthHook } from "../../src/hooks/auth/file_auth_hook.ts";
import { BackendAuthHook } from "../../src/hooks/auth/backends/backend_hook.ts";
import type { BackendAuthHookOptions } from "../../src/hooks/auth/backends/backend_hook.ts";
import { HttpBackend } from "../../src/hooks/auth/backends/http_backend.ts";
import type { PasswordCheck, PasswordFormat } from "../../src/hooks/auth/backends/password_formats.ts";
import { StoreBackend } from "../../src/hooks/auth/backends/store_backend.ts";
import { JwtBackend } from "../../src/hooks/auth/backends/jwt_backend.ts";
import { AuthChainHook } from "../../src/hooks/auth/backends/auth_chain.ts";
import { fetchWithCa } from "./_ca_fetch.ts";

/** Options of {@link createAuthHook}. */
export interface CreateAuthHookOptions {
  /** Folder that relative file paths (users file, CA, public key, JWKS) are read from. Default `.`. */
  readonly configDir?: string;
}

/**
 * Build the hook `auth` describes. In a chain, a user that a file, Redis or SQL store does not know gets no
 * opinion (the next link decides) instead of a refusal.
 * @throws when a file it must read cannot be read or parsed (the message names the file).
 */
export async function createAuthHook(auth: AuthConfig, options: CreateAuthHookOptions = {}): Promise<Hook> {
  const dir = options.configDir ?? ".";
  if (auth.type === "chain") {
    const links: Hook[] = [];
    for (const [i, link] of auth.chain.entries()) links.push(await linkHook(link, dir, true, i));
    return new AuthChainHook(links);
  }
  if (auth.type === "certificate") {
    throw new TypeError(
      `Cannot build auth type "certificate" here: it is a listener's own auth (start/auth_from_config.ts)`,
    );
  }
  return await linkHook(auth, dir, false, undefined);
}

async function linkHook(auth: AuthLinkConfig, dir: string, inChain: boolean, index?: number): Promise<Hook> {
  const unknownUser = inChain ? "ignore" : "deny";
  const suffix = index === undefined ? "" : `-${index + 1}`;
  switch (auth.type) {
    case "allow":
      return new AllowHook();
    case "deny":
      return new DenyHook();
    case "file": {
      const path = resolve(dir, auth.file);
      const text = await readText(path, "users file");
      return FileAuthHook.fromYaml(text, path, { unknownUser, id: `file-auth${suffix}` });
    }
    case "http": {
      const ca = auth.ca === undefined ? undefined : await readText(resolve(dir, auth.ca), "CA file");
      const backend = new HttpBackend({
        url: auth.url,
        aclUrl: auth.aclUrl,
        method: auth.method,
        headers: auth.headers,
        passwordInQuery: auth.passwordInQuery,
        ...(ca === undefined ? {} : { fetch: fetchWithCa(ca) }),
      });
      return new BackendAuthHook(backend, common(auth, `auth-http${suffix}`));
    }
    case "redis": {
      // Loaded when used: a broker without Redis or SQL auth never loads ioredis, pg or mysql2.
      const { RedisUserStore } = await import("./redis_user_store.ts");
      const store = new RedisUserStore({
        url: auth.url,
        authKey: auth.authKey,
        aclPrefix: auth.aclPrefix,
        connectTimeout: auth.timeout,
      });
      const backend = new StoreBackend(store, { password: passwordCheck(auth), unknownUser });
      return new BackendAuthHook(backend, {
        ...common(auth, `auth-redis${suffix}`),
        warnings: plainWarning(auth),
      });
    }
    case "postgres":
    case "mysql": {
      const { SqlUserStore } = await import("./sql_user_store.ts");
      const store = new SqlUserStore({
        kind: auth.type,
        url: auth.url,
        authQuery: auth.authQuery,
        aclQuery: auth.aclQuery,
        connectTimeout: auth.timeout,
      });
      const backend = new StoreBackend(store, { password: passwordCheck(auth), unknownUser });
      return new BackendAuthHook(backend, {
        ...common(auth, `auth-${auth.type}${suffix}`),
        warnings: plainWarning(auth),
      });
    }
    case "jwt": {
      const publicKey = auth.publicKey === undefined
        ? undefined
        : await readText(resolve(dir, auth.publicKey), "public key file");
      let jwks;
      if (auth.jwksFile !== undefined) {
        const path = resolve(dir, auth.jwksFile);
        try {
          jwks = JSON.parse(await readText(path, "JWKS file"));
        } catch (err) {
          throw new Error(`Cannot read the JWKS file ${path}: ${(err as Error).message}`);
        }
      }
      const backend = new JwtBackend({
        secret: auth.secret,
        publicKey,
        jwks,
        algorithms: auth.algorithms,
        aclClaim: auth.aclClaim,
        usernameClaim: auth.usernameClaim,
        issuer: auth.issuer,
        audience: auth.audience,
      });
      return new BackendAuthHook(backend, common(auth, `auth-jwt${suffix}`));
    }
  }
}

function common(auth: BackendCommonConfig, id: string): BackendAuthHookOptions {
  return { id, timeoutMs: auth.timeout, cache: auth.cache, onError: auth.onError };
}

function passwordCheck(
  auth: { passwordHash: string; hashKey?: string; saltPosition: "prefix" | "suffix" },
): PasswordCheck {
  return {
    format: auth.passwordHash as PasswordFormat,
    hashKey: auth.hashKey,
    saltPosition: auth.saltPosition,
  };
}

function plainWarning(auth: { passwordHash: string }): string[] {
  if (auth.passwordHash === "plain") {
    return [
      "passwords are stored in plain text (passwordHash: plain): anyone who reads the store can log in",
    ];
  }
  if (["md5", "sha1", "sha256", "sha512"].includes(auth.passwordHash)) {
    return [
      `passwordHash ${auth.passwordHash} is a fast digest: a leaked store is cheap to brute-force; prefer bcrypt or pbkdf2`,
    ];
  }
  return [];
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    throw new Error(`Cannot read the ${what} ${path}: ${(err as Error).message}`);
  }
}
