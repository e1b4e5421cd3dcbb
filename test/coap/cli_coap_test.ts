/**
 * main.ts with a config file that has a coap listener: the CLI starts it, CoAP and MQTT clients meet, and it stops
 * on SIGTERM.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { finishProcess, killLeftovers, signalProcess, startCli } from "../_helpers/cli_process.ts";
import { COAP_CLIENT, run } from "../_helpers/coap.ts";

describe("CLI: coap listeners from the config file", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "coap-cli-"));
  });
  after(async () => {
    killLeftovers();
    await rm(dir, { recursive: true, force: true });
  });

  it("starts them with their own auth, routes a CoAP PUT to an MQTT subscriber, stops on SIGTERM", async () => {
    const config = join(dir, "config.yaml");
    await writeFile(
      config,
      `listeners:
  - { type: tcp, address: "127.0.0.1:0", auth: { type: allow } }
  - { type: coap, address: "127.0.0.1:0" }
  - { type: coap, address: "127.0.0.1:0", auth: { type: allow } }
auth: { type: deny }
sys: { interval: 0 }
`,
    );
    const cli = startCli(["--config", config]);
    try {
      const denied = (await cli.waitFor(/listening id=coap1 protocol=coap address=127\.0\.0\.1:(\d+)/))[1];
      const coap = (await cli.waitFor(/listening id=coap2 protocol=coap address=127\.0\.0\.1:(\d+)/))[1];
      const mqtt = (await cli.waitFor(/listening id=tcp1 protocol=tcp address=127\.0\.0\.1:(\d+)/))[1];
      await cli.waitFor(/broker started/);
      // coap1 has no auth of its own: the top-level deny refuses its clients (4.01); coap2 allows them.
      const refused = await run(COAP_CLIENT, [
        "-m",
        "put",
        "-e",
        "off",
        `coap://127.0.0.1:${denied}/ps/lamp`,
      ]);
      assert.match(refused.stdout + refused.stderr, /4\.01/);
      const put = await run(COAP_CLIENT, [
        "-m",
        "put",
        "-e",
        "on",
        `coap://127.0.0.1:${coap}/ps/lamp?retain=true`,
      ]);
      assert.equal(put.code, 0, put.stderr);
      const sub = await run("mosquitto_sub", ["-p", mqtt, "-t", "lamp", "-C", "1", "-W", "5"]);
      assert.equal(sub.stdout, "on\n");
      signalProcess(cli, "SIGTERM");
      assert.equal((await finishProcess(cli)).code, 0);
    } finally {
      signalProcess(cli, "SIGKILL");
    }
  });
});
