/**
 * Bad `workers` configs stop the CLI before anything starts, with exit code 2 and file:line: key. Node only: the
 * config check is the same code on every runtime (src/config/parse_workers_test.ts covers each rule).
 */

import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { finishProcess, killLeftovers, startCli } from "../_helpers/cli_process.ts";
import { runsOn } from "../_helpers/runtime.ts";
import { readFile } from "node:fs/promises";
import { parseConfig } from "../../src/config/parse_config.ts";

if (runsOn("node")) {
  describe("workers: bad config", () => {
    let dir = "";
    after(async () => {
      killLeftovers();
      if (dir !== "") await rm(dir, { recursive: true, force: true });
    });

    it("examples/workers.yaml asks for two workers", async () => {
      const text = await readFile(new URL("../../examples/workers.yaml", import.meta.url), "utf8");
      assert.equal(parseConfig(text, "workers.yaml").workers, 2);
    });

    it("exits 2 naming the file, line and key", async () => {
      dir = await mkdtemp(join(tmpdir(), "comqtt-workers-config-"));
      const file = join(dir, "bad.yaml");
      await writeFile(file, "auth: { type: allow }\nworkers: 2\nstorage: { type: sqlite, path: s.db }\n");
      const { code, output } = await finishProcess(startCli(["--config", file]), 20_000);
      assert.equal(code, 2, output);
      assert.match(output, /bad\.yaml:2: workers: workers 2 does not support storage type "sqlite" yet/);
    });
  });
}
