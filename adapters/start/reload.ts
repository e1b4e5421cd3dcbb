/**
 * Reload without restart (SIGHUP, or `RunningBroker.reload()`): the users/ACL files and the auth backends are
 * built again from the config, and the TLS certificates read again, while connected clients stay connected.
 * Whatever fails to load is refused with a log line, and the old one stays in service.
 * @module
 */

import { createSecureContext } from "node:tls";
import type { Broker } from "../../src/broker.ts";
import type { Config } from "../../src/config/config.ts";
import type { Hook } from "../../src/hooks/hook.ts";
import type { Logger } from "../../src/logger.ts";
import { authHook } from "./auth_from_config.ts";
import { listenerFromConfig } from "./listeners_from_config.ts";
import type { TlsOptions } from "../_tls_common.ts";

/** What a reload changed and what it refused. */
export interface ReloadResult {
  /** True when the auth hook was rebuilt and swapped in. */
  readonly auth: boolean;
  /** Ids of the TLS listeners now serving the certificates just read. */
  readonly listeners: readonly string[];
  /** One message per part that could not be reloaded (the old one stays). */
  readonly errors: readonly string[];
}

/** The state a reload works on: the running broker and the hook it swaps. */
export interface Reloadable {
  readonly broker: Broker;
  readonly config: Config;
  readonly dir: string;
  readonly logger: Logger;
  authHook: Hook;
}

/** Rebuild the auth hook and the TLS listeners of `target` from their files. */
export async function reload(target: Reloadable): Promise<ReloadResult> {
  const { broker, config, logger } = target;
  const errors: string[] = [];
  let auth = false;
  try {
    const fresh = await authHook(config, target.dir);
    await broker.replaceHook(target.authHook, fresh);
    target.authHook = fresh;
    auth = true;
  } catch (error) {
    errors.push((error as Error).message);
    logger.error("reload: keeping the previous users and ACL rules", { error: (error as Error).message });
  }
  const listeners: string[] = [];
  for (const l of config.listeners) {
    if (l.tls === undefined) continue;
    const old = broker.listeners.find((x) => x.id === l.id);
    if (old === undefined) continue;
    try {
      const fresh = await listenerFromConfig(l, config, logger, checkTls);
      await broker.replaceListener(old, fresh);
      listeners.push(l.id);
    } catch (error) {
      errors.push(`listener "${l.id}": ${(error as Error).message}`);
      logger.error("reload: keeping the previous TLS certificate", {
        listener: l.id,
        error: (error as Error).message,
      });
    }
  }
  logger.info("reloaded", { auth, tls: listeners.join(",") || "none", refused: errors.length });
  return { auth, listeners, errors };
}

/** Refuse a certificate and key that do not load (or do not match) before the old listener is closed. */
function checkTls(tls: TlsOptions): void {
  const pem = (value: string | Uint8Array) =>
    typeof value === "string" ? value : new TextDecoder().decode(value);
  createSecureContext({
    cert: pem(tls.cert),
    key: pem(tls.key),
    ...(tls.clientCa === undefined ? {} : { ca: pem(tls.clientCa) }),
  });
}
