/**
 * The single binary: `npm run build:binary` (bun build --compile) makes one executable with the same flags; it
 * carries MQTT between mosquitto_pub and mosquitto_sub and serves the dashboard from inside itself.
 *
 * Runs under Node only: the binary is the same whichever runtime runs the test (it is Bun inside), and building
 * it three times would only cost time.
 */

import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runsOn } from "../_helpers/runtime.ts";
import { finishProcess, killLeftovers, ROOT, signalProcess, startProcess } from "../_helpers/cli_process.ts";

const dir = mkdtempSync(join(tmpdir(), "comqtt-binary-"));
after(() => {
  killLeftovers();
  rmSync(dir, { recursive: true, force: true });
});

function sub(port: string, topic: string): Promise<string> {
  const child = spawn("mosquitto_sub", [
    "-h",
    "127.0.0.1",
    "-p",
    port,
    "-t",
    topic,
    "-C",
    "1",
    "-W",
    "10",
    "-v",
  ]);
  let text = "";
  child.stdout.on("data", (b) => (text += b));
  return new Promise((resolve) => child.on("close", () => resolve(text)));
}

if (runsOn("node")) {
  describe("the compiled binary", () => {
    it("is built by bun build --compile and runs the broker and the dashboard with the same flags", async () => {
      const out = join(dir, "comqtt");
      const build = spawnSync(
        join(ROOT, "node_modules", ".bin", "bun"),
        ["build", "--compile", "--minify", "main.ts", "--outfile", out],
        { cwd: ROOT, encoding: "utf8", timeout: 120_000 },
      );
      assert.equal(build.status, 0, build.stderr);
      const size = statSync(out).size;
      assert.ok(size > 1_000_000, `a real executable (${size} bytes)`);

      const version = spawnSync(out, ["--version"], { encoding: "utf8", timeout: 10_000 });
      assert.match(version.stdout, /^comqtt-ts \d+\.\d+\.\d+ \(bun /);

      const started = performance.now();
      const run = startProcess(out, ["--tcp", "127.0.0.1:0", "--http", "127.0.0.1:0"], { cwd: dir });
      try {
        const [, port] = await run.waitFor(/listening id=tcp1 protocol=tcp address=127\.0\.0\.1:(\d+)/);
        const [, http] = await run.waitFor(/dashboard listening address=127\.0\.0\.1:(\d+)/);
        await run.waitFor(/broker started/);
        const startMs = Math.round(performance.now() - started);
        console.log(`binary: ${(size / 1e6).toFixed(1)} MB, started in ${startMs} ms`);

        const received = sub(port, "bin/#");
        // mosquitto_sub needs a moment to subscribe; publish until it has its message (bounded).
        for (let i = 0; i < 50; i++) {
          spawnSync("mosquitto_pub", ["-h", "127.0.0.1", "-p", port, "-t", "bin/hello", "-m", "hi"], {
            timeout: 5000,
          });
          const done = await Promise.race([
            received.then(() => true),
            new Promise((r) => setTimeout(() => r(false), 100)),
          ]);
          if (done) break;
        }
        assert.match(await received, /bin\/hello hi/);

        const page = await fetch(`http://127.0.0.1:${http}/`);
        assert.equal(page.status, 200);
        assert.match(await page.text(), /<title>comqtt-ts/);
        const health = await fetch(`http://127.0.0.1:${http}/healthz`);
        assert.deepEqual(await health.json(), { status: "ok" });

        signalProcess(run, "SIGINT");
        const { code, output } = await finishProcess(run);
        assert.equal(code, 0, output);
      } finally {
        signalProcess(run, "SIGKILL");
      }
    });
  });
}
