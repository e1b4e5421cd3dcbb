/**
 * Command-line flags layered over a {@link Config}. Pure, so the CLI's rules are testable without a process.
 * @module
 */

import { ConfigError } from "./config_error.ts";
import type { ConfigProblem } from "./config_error.ts";
import { DEFAULT_WS_PATH, LOG_LEVELS } from "./config.ts";
import type { Config, ListenerConfig, ListenerType } from "./config.ts";
import { parseAddress } from "./address.ts";
import type { LogLevel } from "../logger.ts";

/** Flag values as the CLI read them (strings, unvalidated). */
export interface ConfigOverrides {
  /** `--tcp HOST:PORT`, repeatable: replaces every tcp listener of the config (not the TLS ones). */
  tcp?: readonly string[];
  /** `--ws HOST:PORT`, repeatable: replaces every ws listener of the config (not the WSS ones). */
  ws?: readonly string[];
  /** `--http HOST:PORT`: sets the dashboard address. */
  http?: string;
  /** `--log-level LEVEL`. */
  logLevel?: string;
}

/**
 * Apply flags to a config. Listener flags replace the config's listeners *of the same type* (so
 * `--tcp 127.0.0.1:1884` moves the tcp listener and keeps a configured ws one); their ids are `tcp1`, `tcp2`, ...
 * @throws {ConfigError} with source `command line` and the flag as key path.
 */
export function applyOverrides(config: Config, overrides: ConfigOverrides): Config {
  const problems: ConfigProblem[] = [];
  const problem = (path: string, message: string) => problems.push({ source: "command line", path, message });

  let listeners: readonly ListenerConfig[] = config.listeners;
  for (const type of ["tcp", "ws"] as const satisfies readonly ListenerType[]) {
    const values = overrides[type];
    if (!values || values.length === 0) continue;
    const replaced: ListenerConfig[] = [];
    values.forEach((value, i) => {
      const address = parseAddress(value);
      if ("error" in address) return problem(`--${type}`, address.error);
      const id = `${type}${i + 1}`;
      replaced.push(
        type === "ws" ? { type, id, ...address, path: DEFAULT_WS_PATH } : { type, id, ...address },
      );
    });
    // TLS listeners (tcp or ws with `tls`) have no flag and stay as configured.
    listeners = [...listeners.filter((l) => l.type !== type || l.tls !== undefined), ...replaced];
  }
  const ids = new Set<string>();
  for (const l of listeners) {
    if (ids.has(l.id)) {
      problem(`--${l.type}`, `listener id "${l.id}" is also used by a listener in the config`);
    }
    ids.add(l.id);
  }

  let http = config.http;
  if (overrides.http !== undefined) {
    const address = parseAddress(overrides.http);
    if ("error" in address) problem("--http", address.error);
    else http = { ...config.http, ...address }; // keeps the config's http.auth
  }

  let log = config.log;
  if (overrides.logLevel !== undefined) {
    if (!(LOG_LEVELS as readonly string[]).includes(overrides.logLevel)) {
      problem(
        "--log-level",
        `expected one of ${LOG_LEVELS.join(", ")}, received ${JSON.stringify(overrides.logLevel)}`,
      );
    } else log = { ...log, level: overrides.logLevel as LogLevel };
  }

  if (problems.length > 0) throw new ConfigError(problems, "use the command-line flags");
  return { ...config, listeners, http, log };
}
