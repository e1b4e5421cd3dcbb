/**
 * `comqtt check-config FILE`: load a config as the broker would (parse, users files, auth backends' settings),
 * and read and load its TLS files, without listening anywhere.
 * @module
 */

import { createSecureContext } from "node:tls";
import { loadConfig } from "./load_config.ts";
import { readText } from "./files.ts";

/** A one-line summary of a good config; rejects with every problem found otherwise. */
export async function checkConfig(path: string): Promise<string> {
  const { config } = await loadConfig(path);
  for (const l of config.listeners) {
    if (l.tls === undefined) continue;
    const cert = await readText(l.tls.cert, "TLS certificate file");
    const key = await readText(l.tls.key, "TLS key file");
    const ca = l.tls.clientCa === undefined
      ? undefined
      : await readText(l.tls.clientCa, "TLS client CA file");
    try {
      createSecureContext({ cert, key, ...(ca === undefined ? {} : { ca }) });
    } catch (error) {
      throw new Error(`${path}: listener "${l.id}": the TLS files do not load: ${(error as Error).message}`);
    }
  }
  const kinds = config.listeners.map((l) => `${l.id} (${l.type}${l.tls ? "+tls" : ""})`).join(", ");
  return `${path}: OK: listeners ${kinds}; auth ${config.auth.type}; storage ${config.storage.type}`;
}
