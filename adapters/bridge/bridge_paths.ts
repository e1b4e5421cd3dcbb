/**
 * The PEM paths of `bridges[].remote` made absolute, relative to the config file's folder. Kept apart from the
 * bridge itself so that loading a config never loads the MQTT client.
 * @module
 */

import { resolve } from "node:path";
import type { Config } from "../../src/config/config.ts";

/** `config` with the bridges' certificate paths made absolute, relative to the config file's folder. */
export function withBridgePaths(config: Config, base: string): Config {
  if (config.bridges === undefined) return config;
  const abs = (p: string | undefined) => (p === undefined ? {} : { path: resolve(base, p) });
  return {
    ...config,
    bridges: config.bridges.map((b) => {
      const { ca, cert, key } = b.remote;
      return {
        ...b,
        remote: {
          ...b.remote,
          ...(ca === undefined ? {} : { ca: abs(ca).path }),
          ...(cert === undefined ? {} : { cert: abs(cert).path }),
          ...(key === undefined ? {} : { key: abs(key).path }),
        },
      };
    }),
  };
}
