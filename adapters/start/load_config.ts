/**
 * From a config file (or YAML text, or nothing) and the CLI's overrides to a validated {@link Config} with its
 * file paths made absolute and its auth hook built: everything that can be wrong with what the user wrote.
 * @module
 */

import { dirname, resolve } from "node:path";
import { LOCAL_CONFIG } from "../../src/config/config.ts";
import type { Config } from "../../src/config/config.ts";
import { parseConfig } from "../../src/config/parse_config.ts";
import { applyOverrides, type ConfigOverrides } from "../../src/config/cli_overrides.ts";
import type { Hook } from "../../src/hooks/hook.ts";
import { authHook } from "./auth_from_config.ts";
import { withBridgePaths } from "../bridge/bridge_paths.ts";
import { readText } from "./files.ts";

/**
 * Where a config comes from: a file path, YAML text (`{ yaml }`; relative paths in it are relative to `dir`,
 * default the working directory), or undefined for the CLI's no-config default (127.0.0.1:1883, every client
 * allowed, the dashboard on 127.0.0.1:8080). A string holding a line break is taken as YAML text.
 */
export type ConfigSource =
  | string
  | { readonly yaml: string; readonly dir?: string; readonly name?: string }
  | undefined;

/** A validated config and what was built from it before anything listens. */
export interface LoadedConfig {
  /** The validated configuration, every key present. */
  readonly config: Config;
  /** The authentication hook `auth` (and the listeners' own `auth`) asks for. */
  readonly authHook: Hook;
  /** True when the config came from a file or text, false for the no-config default. */
  readonly fromFile: boolean;
  /** The folder relative paths were resolved against. */
  readonly dir: string;
}

/**
 * Read, parse and check a config, apply `overrides`, and build its auth hook. Rejects with a message naming
 * file, line and key ({@link ConfigError}) or the file that could not be read.
 */
export async function loadConfig(
  source: ConfigSource,
  overrides: ConfigOverrides = {},
): Promise<LoadedConfig> {
  let base = LOCAL_CONFIG;
  let dir = ".";
  if (typeof source === "string" && !source.includes("\n")) {
    base = parseConfig(await readText(source, "config file"), source);
    dir = dirname(source);
  } else if (source !== undefined) {
    const text = typeof source === "string" ? { yaml: source } : source;
    base = parseConfig(text.yaml, text.name ?? "config");
    dir = text.dir ?? ".";
  }
  const config = withBridgePaths(withAbsolutePaths(applyOverrides(base, overrides), dir), dir);
  return { config, authHook: await authHook(config, dir), fromFile: source !== undefined, dir: resolve(dir) };
}

/** `config` with the TLS, Unix socket and storage paths made absolute, relative to `dir`. */
function withAbsolutePaths(config: Config, dir: string): Config {
  if (config.storage.path !== undefined) {
    config = { ...config, storage: { ...config.storage, path: resolve(dir, config.storage.path) } };
  }
  if (!config.listeners.some((l) => l.tls !== undefined || l.type === "unix")) return config;
  return {
    ...config,
    listeners: config.listeners.map((l) =>
      l.type === "unix" ? { ...l, path: resolve(dir, l.path!) } : l.tls === undefined ? l : {
        ...l,
        tls: {
          ...l.tls,
          cert: resolve(dir, l.tls.cert),
          key: resolve(dir, l.tls.key),
          ...(l.tls.clientCa === undefined ? {} : { clientCa: resolve(dir, l.tls.clientCa) }),
        },
      }
    ),
  };
}
