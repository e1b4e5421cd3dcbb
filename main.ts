/**
 * The comqtt-ts command line: run a broker from flags and an optional YAML config, or hash a password.
 *
 * ```sh
 * deno run -A main.ts --config examples/auth.yaml
 * bun main.ts --tcp 127.0.0.1:1883
 * node main.ts hash-password < password.txt
 * ```
 *
 * Without `--config` the broker listens on 127.0.0.1:1883 only and allows every client (it says so when it starts);
 * its dashboard, HTTP API and /metrics are on http://127.0.0.1:8080/.
 * A config file that has no `auth` key refuses every client, as Mosquitto 2.0 does: see examples/config.yaml.
 * The command line itself is `adapters/start/cli.ts`; embedders start a broker from a config with
 * `startFromConfig` (mod.ts).
 * @module
 */

import process from "node:process";
import { main } from "./adapters/start/cli.ts";

export { main };

if (import.meta.main) {
  const code = await main(process.argv.slice(2));
  // Exit explicitly: an adapter or a timer that keeps a handle must not keep a stopped broker's process alive.
  process.exit(code);
}
