/**
 * The authentication hook a config asks for, and the start-up log line that says who may connect.
 * @module
 */

import { resolve } from "node:path";
import type { AuthConfig, Config } from "../../src/config/config.ts";
import { formatAddress, isLoopback } from "../../src/config/address.ts";
import type { Hook } from "../../src/hooks/hook.ts";
import type { Logger } from "../../src/logger.ts";
import { AllowHook } from "../../src/hooks/auth/allow_hook.ts";
import { DenyHook } from "../../src/hooks/auth/deny_hook.ts";
import { FileAuthHook } from "../../src/hooks/auth/file_auth_hook.ts";
import { CertificateAuthHook } from "../../src/hooks/auth/certificate_auth_hook.ts";
import { ListenerAuthHook } from "../../src/hooks/auth/listener_auth_hook.ts";
import { readText } from "./files.ts";

/**
 * The top-level `auth` as a hook, or a {@link ListenerAuthHook} when listeners have their own. A relative users
 * file is read relative to `dir` (the config file's folder).
 */
export async function authHook(config: Config, dir: string): Promise<Hook> {
  const fallback = await hookForAuth(config.auth, dir);
  const own = config.listeners.filter((l) => l.auth !== undefined);
  if (own.length === 0) return fallback;
  const listeners: Record<string, Hook> = {};
  for (const l of own) listeners[l.id] = await hookForAuth(l.auth!, dir);
  return new ListenerAuthHook({ listeners, fallback });
}

async function hookForAuth(auth: AuthConfig, dir: string): Promise<Hook> {
  switch (auth.type) {
    case "allow":
      return new AllowHook();
    case "deny":
      return new DenyHook();
    case "file": {
      const path = resolve(dir, auth.file);
      return FileAuthHook.fromYaml(await readText(path, "users file"), path);
    }
    case "certificate": {
      const path = resolve(dir, auth.file);
      return new CertificateAuthHook(FileAuthHook.fromYaml(await readText(path, "ACL rules file"), path));
    }
    default: // http, redis, postgres, mysql, jwt, chain (issue 14)
      // Loaded only for these types: jose, bcryptjs and the backends stay out of a broker that does not use them.
      return await (await import("../backends/auth_from_config.ts")).createAuthHook(auth, { configDir: dir });
  }
}

/** Log, once at start, who may connect and from where. Nothing here ever contains a password. */
export function describeAccess(logger: Logger, config: Config, chosen: Hook, fromFile: boolean): void {
  // Listeners with their own `auth` are described one by one; the rest share the top-level one.
  const hook = chosen instanceof ListenerAuthHook ? chosen.fallback : chosen;
  for (const l of config.listeners) {
    if (l.auth === undefined) continue;
    const open = l.auth.type === "allow" && !isLoopback(l.host) && l.tls?.clientCa === undefined;
    logger[open ? "warn" : "info"]("listener with its own auth", {
      listener: l.id,
      auth: l.auth.type,
      file: l.auth.type === "file" || l.auth.type === "certificate" ? l.auth.file : undefined,
      ...(open ? { warning: "anonymous clients are allowed on a non-local address" } : {}),
    });
  }
  const open = config.listeners.filter((l) => l.auth === undefined && !isLoopback(l.host))
    .map((l) => formatAddress(l));
  if (hook instanceof AllowHook) {
    if (!fromFile && open.length === 0) {
      logger.info("no config file: anonymous clients are allowed and only local connections are accepted");
    } else if (open.length === 0) {
      logger.warn("auth type allow: every client is allowed, without a password (local connections only)");
    } else {
      logger.warn(
        "anonymous clients are allowed on non-local addresses: anyone who can reach them may connect",
        {
          addresses: open.join(","),
          hint: fromFile ? "set auth.type to file" : "use --config with an auth section",
        },
      );
    }
  } else if (hook instanceof DenyHook) {
    logger.warn("every client will be refused: the config has no auth section (or auth type deny)", {
      hint: "set auth: { type: file, file: ./users.yaml } or auth: { type: allow }",
    });
  } else if (hook instanceof FileAuthHook) {
    logger.info("authentication by users file", {
      file: config.auth.type === "file" ? config.auth.file : undefined,
      users: hook.userCount,
      anonymous: hook.allowsAnonymous ? "allowed" : "refused",
      acl: hook.hasAcl ? "rules" : "none (every topic allowed)",
    });
  }
}
