/**
 * Runtime adapters: pick the one for the runtime this process runs on.
 *
 * Only the chosen adapter is loaded (dynamic `import()`), so Deno never loads the Bun file and Node never loads
 * either. Each runtime folder (`adapters/deno`, `adapters/bun`, `adapters/node`) can also be imported directly;
 * the node:net adapter works under all three runtimes.
 *
 * @example
 * ```ts
 * import { createTcpListener, runtimeName } from "./adapters/mod.ts";
 * const listener = await createTcpListener({ host: "127.0.0.1", port: 1883 });
 * console.log(`${runtimeName()} ${listener.address}`);
 * ```
 * @module
 */

import type { Listener } from "../src/transport/connection.ts";
import type { TcpListenerOptions } from "./_tcp_common.ts";

export type { TcpListenerOptions } from "./_tcp_common.ts";
export { DEFAULT_HIGH_WATER_MARK } from "./_outbox.ts";

/** The runtimes comqtt-ts runs on. */
export type RuntimeName = "deno" | "bun" | "node";

interface RuntimeGlobals {
  Deno?: { version?: { deno?: string } };
  Bun?: { version?: string };
  process?: { versions?: { node?: string } };
}

/** Which runtime runs this process: `deno`, `bun`, or `node` for anything else. */
export function runtimeName(): RuntimeName {
  const g = globalThis as RuntimeGlobals;
  if (g.Deno !== undefined) return "deno";
  if (g.Bun !== undefined) return "bun";
  return "node";
}

/** The running runtime's version, e.g. `2.9.6` (Deno), `1.4.5` (Bun), `26.10.0` (Node); `unknown` if hidden. */
export function runtimeVersion(): string {
  const g = globalThis as RuntimeGlobals;
  switch (runtimeName()) {
    case "deno":
      return g.Deno?.version?.deno ?? "unknown";
    case "bun":
      return g.Bun?.version ?? "unknown";
    default:
      return g.process?.versions?.node ?? "unknown";
  }
}

/**
 * Create a TCP listener with the running runtime's native adapter (`Deno.listen`, `Bun.listen`, `node:net`).
 * Nothing is bound until the listener's `listen()`.
 */
export async function createTcpListener(options: TcpListenerOptions = {}): Promise<Listener> {
  switch (runtimeName()) {
    case "deno":
      return (await import("./deno/tcp.ts")).createTcpListener(options);
    case "bun":
      return (await import("./bun/tcp.ts")).createTcpListener(options);
    default:
      return (await import("./node/tcp.ts")).createTcpListener(options);
  }
}
