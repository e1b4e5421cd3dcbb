/**
 * Kill -9 in the middle of a stream with SQLite storage (bun:sqlite on Bun, node:sqlite on Node and Deno; the
 * tests are in _crash_suite.ts). Nothing the broker acknowledged may be lost.
 */

import { runCrashSuite } from "./_crash_suite.ts";

runCrashSuite({ type: "sqlite", label: "SQLite", ext: "sqlite" });
