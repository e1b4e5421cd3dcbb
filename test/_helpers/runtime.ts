/**
 * Which runtime runs a test file, for the few suites that start slow external servers (databases, NATS,
 * Mosquitto) and exercise a code path that is the same on every runtime: they run on the runtimes named, and the
 * file says why. Everything runtime-specific (listeners, storage adapters) still runs on all three.
 * @module
 */

/** The runtime executing this test process. */
export const testRuntime: "deno" | "bun" | "node" = (() => {
  const g = globalThis as { Deno?: unknown; Bun?: unknown };
  if (g.Deno !== undefined) return "deno";
  if (g.Bun !== undefined) return "bun";
  return "node";
})();

/** True when this process is one of `runtimes`: wrap a `describe` in it (`if (runsOn("node")) describe(...)`). */
export function runsOn(...runtimes: Array<"deno" | "bun" | "node">): boolean {
  return runtimes.includes(testRuntime);
}
