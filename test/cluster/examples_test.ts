/** The cluster examples parse, name distinct nodes and listen on distinct ports. */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseConfig } from "../../src/config/parse_config.ts";
import { ROOT } from "../_helpers/cli_process.ts";

describe("examples/cluster", () => {
  it("n1, n2 and n3 are three nodes of one cluster", async () => {
    const configs = await Promise.all(["n1", "n2", "n3"].map(async (n) => {
      const path = join(ROOT, "examples", "cluster", `${n}.yaml`);
      return parseConfig(await readFile(path, "utf8"), path);
    }));
    assert.deepEqual(configs.map((c) => c.cluster?.node), ["n1", "n2", "n3"]);
    assert.deepEqual(configs.map((c) => c.listeners[0]!.port), [1883, 1884, 1885]);
    for (const c of configs) assert.deepEqual(c.cluster?.nats.servers, ["nats://127.0.0.1:4222"]);
  });
});
