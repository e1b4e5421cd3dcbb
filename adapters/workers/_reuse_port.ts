/**
 * Can this runtime bind several listeners to one port (SO_REUSEPORT)? Asked once before workers start, so that a
 * missing flag gives one clear message instead of N workers failing with "address in use".
 * @module
 */

import process from "node:process";
import { runtimeName } from "../mod.ts";

/** Undefined when reusePort works here; otherwise what to do about it. */
export async function checkReusePort(): Promise<string | undefined> {
  switch (runtimeName()) {
    case "deno": {
      // Deno.listen({ reusePort }) without --unstable-net prints a message and ends the process instead of
      // throwing; Deno.listenDatagram exists exactly when that flag (or "net" in deno.json "unstable") is on.
      if (
        typeof (globalThis as unknown as { Deno: { listenDatagram?: unknown } }).Deno.listenDatagram ===
          "function"
      ) {
        return undefined;
      }
      return `Deno needs the --unstable-net flag for listeners that share a port (reusePort): run ` +
        `"deno run -A --unstable-net main.ts ...", or add "net" to "unstable" in deno.json`;
    }
    case "node": {
      const [major, minor] = process.versions.node.split(".").map(Number) as [number, number];
      if (major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12)) return undefined;
      return `Node ${process.versions.node} cannot share a port between listeners (reusePort): ` +
        `use Node 22.12, 23.1 or later`;
    }
    default:
      return await Promise.resolve(undefined);
  }
}
