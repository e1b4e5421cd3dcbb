/**
 * The CLI serves the dashboard: main.ts run by this test's runtime as a child process with a config whose
 * `http.auth` has a token, every address on 127.0.0.1 port 0. The child is stopped by its pid in every case.
 */

import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { EventReader, json } from "./_dashboard.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const STARTUP_MS = 20_000; // a cold `deno run` type-strips the tree first
const TOKEN = "cli-dashboard-token-0123";

function mainArgs(): string[] {
  return (globalThis as { Deno?: unknown }).Deno !== undefined ? ["run", "-A", "main.ts"] : ["main.ts"];
}

describe("CLI dashboard", () => {
  const children = new Set<ChildProcess>();
  let dir: string | undefined;

  after(async () => {
    for (const child of children) {
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) continue;
      try {
        process.kill(child.pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("serves the API with the config's token, masks it, times storage, and stops cleanly on SIGTERM", async () => {
    dir = await mkdtemp(join(tmpdir(), "comqtt-cli-http-"));
    const config = join(dir, "config.yaml");
    await writeFile(
      config,
      `listeners:
  - { type: tcp, address: "127.0.0.1:0" }
http:
  address: "127.0.0.1:0"
  auth: { token: "${TOKEN}" }
auth: { type: allow }
storage: { type: denokv, path: ./broker.kv }
`,
    );
    const child = spawn(process.execPath, [...mainArgs(), "--config", config], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1" },
    });
    children.add(child);
    let output = "";
    child.stdout!.on("data", (b) => (output += b));
    child.stderr!.on("data", (b) => (output += b));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));

    const end = Date.now() + STARTUP_MS;
    let address: string | undefined;
    while (address === undefined || !/broker started/.test(output)) {
      if (Date.now() > end || child.exitCode !== null) {
        assert.fail(`the CLI did not start its dashboard:\n${output}`);
      }
      address = /dashboard listening address=(127\.0\.0\.1:\d+) url=\S+ auth=token/.exec(output)?.[1];
      await new Promise((r) => setTimeout(r, 25));
    }
    const base = `http://${address}`;
    const bearer = { authorization: `Bearer ${TOKEN}` };
    try {
      assert.deepEqual(await json(fetch(`${base}/readyz`)), { status: "ready" });
      assert.equal((await json(fetch(`${base}/api/v1/overview`), 401)).status, 401);
      const overview = await json(fetch(`${base}/api/v1/overview`, { headers: bearer }));
      assert.equal(overview.listeners.length, 1);
      const shown = await json(fetch(`${base}/api/v1/config`, { headers: bearer }));
      assert.equal(shown.http.auth.token, "********");
      assert.equal(shown.auth.type, "allow");
      assert.doesNotMatch(JSON.stringify(shown), new RegExp(TOKEN));
      assert.doesNotMatch(output, new RegExp(TOKEN), "the token is never logged");
      // The CLI times its storage for /metrics: the restore at start is one load.
      const metrics = await (await fetch(`${base}/metrics`, { headers: bearer })).text();
      assert.match(metrics, /^comqtt_storage_load_seconds_count\{backend="[^"]+"\} 1$/m);

      // An open event stream does not hold up the stop.
      const events = new EventReader(await fetch(`${base}/api/v1/events`, { headers: bearer }));
      await events.until("hello");
      process.kill(child.pid!, "SIGTERM");
      let timer: ReturnType<typeof setTimeout> | undefined;
      const code = await Promise.race([
        exited,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no exit within 10 s:\n${output}`)), 10_000);
        }),
      ]).finally(() => clearTimeout(timer));
      assert.equal(code, 0, output);
      await events.cancel();
    } finally {
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, "SIGKILL");
    }
  });
});
