/**
 * Bad `workers` configs stop the CLI before anything starts, with exit code 2 and file:line: key. Node only: the
 * config check is the same code on every runtime (src/config/parse_workers_test.ts covers each rule). And Deno
 * without --unstable-net.
 */

import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { copyFile, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { finishProcess, killLeftovers, ROOT, startCli, startProcess } from "../_helpers/cli_process.ts";
import process from "node:process";
import { createServer } from "node:net";
import { endAll, probesOnBoth, startWorkers, workersOf } from "./_workers.ts";
import { runsOn } from "../_helpers/runtime.ts";
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

// Deno only: what Deno does without --unstable-net (the project's deno.json turns it on, so a copy without it).
if (runsOn("deno")) {
  describe("workers on Deno without --unstable-net", () => {
    let dir = "";
    after(async () => {
      killLeftovers();
      if (dir !== "") await rm(dir, { recursive: true, force: true });
    });

    it("refuses to start, saying which flag to add", async () => {
      dir = await mkdtemp(join(tmpdir(), "comqtt-workers-nonet-"));
      const denoJson = JSON.parse(await readFile(join(ROOT, "deno.json"), "utf8"));
      denoJson.unstable = ["kv"];
      await writeFile(join(dir, "deno.json"), JSON.stringify(denoJson));
      await copyFile(join(ROOT, "package.json"), join(dir, "package.json"));
      await symlink(join(ROOT, "node_modules"), join(dir, "node_modules"));
      const config = join(dir, "w.yaml");
      await writeFile(
        config,
        'workers: 2\nlisteners: [{ type: tcp, address: "127.0.0.1:0" }]\nauth: { type: allow }\n',
      );
      const run = startProcess(process.execPath, [
        "run",
        "-A",
        "--config",
        join(dir, "deno.json"),
        "main.ts",
        "--config",
        config,
      ]);
      const { code, output } = await finishProcess(run, 20_000);
      assert.equal(code, 1, output);
      assert.match(output, /cannot start 2 workers: Deno needs the --unstable-net flag/);
    });
  });
}

// Node only, as above: the supervisor is the same code on every runtime.
if (runsOn("node")) {
  describe("workers on a fixed port", () => {
    it("start together and both take clients", async () => {
      const port = await freePort();
      const w = await startWorkers(2, "", port);
      const ps = await probesOnBoth(w.url, "fixed-", 8);
      try {
        assert.equal(w.port, port);
        assert.deepEqual(workersOf(ps), ["worker-0", "worker-1"]);
      } finally {
        await endAll(ps);
        assert.equal((await w.stop()).code, 0);
      }
    });
  });
}

// Node only, as above.
if (runsOn("node")) {
  describe("workers on a port another program holds", () => {
    it("exit 1, saying which worker could not start and why", async () => {
      const holder = createServer();
      await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
      const port = (holder.address() as { port: number }).port;
      const dir = await mkdtemp(join(tmpdir(), "comqtt-workers-busy-"));
      try {
        const file = join(dir, "busy.yaml");
        await writeFile(
          file,
          `workers: 2\nlisteners: [{ type: tcp, address: "127.0.0.1:${port}" }]\nauth: { type: allow }\n`,
        );
        const { code, output } = await finishProcess(startCli(["--config", file]), 20_000);
        assert.equal(code, 1, output);
        assert.match(output, /worker \d could not start: .*127\.0\.0\.1:\d+/);
      } finally {
        holder.close();
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
}

/** A port free on 127.0.0.1 now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
