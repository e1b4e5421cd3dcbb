/** examples/auth_backends.yaml parses and builds its chain (the clients connect lazily, so no server is needed). */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseConfig } from "../../src/config/parse_config.ts";
import { createAuthHook } from "../../adapters/backends/auth_from_config.ts";
import { AuthChainHook } from "../../src/hooks/auth/backends/auth_chain.ts";

const EXAMPLES = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "examples");

describe("examples/auth_backends.yaml", () => {
  it("is a valid config whose chain is a users file, an HTTP service and Redis", async () => {
    const config = parseConfig(
      await readFile(join(EXAMPLES, "auth_backends.yaml"), "utf8"),
      "auth_backends.yaml",
    );
    assert.equal(config.auth.type, "chain");
    const hook = await createAuthHook(config.auth, { configDir: EXAMPLES });
    assert.ok(hook instanceof AuthChainHook);
    assert.deepEqual(hook.hooks.map((h) => h.id), ["file-auth-1", "auth-http-2", "auth-redis-3"]);
    await hook.stop();
  });
});
