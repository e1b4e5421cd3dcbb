/** Kill -9 in the middle of a stream with Deno KV storage (the tests are in _crash_suite.ts). */

import { runCrashSuite } from "./_crash_suite.ts";

runCrashSuite({ type: "denokv", label: "Deno KV", ext: "kv" });
