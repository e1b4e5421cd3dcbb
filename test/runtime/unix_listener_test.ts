/**
 * The Unix socket listener on the running runtime's own adapter, driven by the Mosquitto clients (`--unix`): a
 * message goes through, the socket file gets the configured mode, a stale socket file left by a crashed process is
 * replaced, a live one is not, and the file is removed on close. Also through the config
 * (`{ type: unix, path, mode }`) with startFromConfig.
 */

import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createUnixListener, runtimeName } from "../../adapters/mod.ts";
import { startFromConfig } from "../../mod.ts";
import { testBroker, until } from "../_helpers/broker.ts";
import type { Broker } from "../../src/broker.ts";

const dir = mkdtempSync(join(tmpdir(), "comqtt-unix-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/**
 * mosquitto_sub over the socket; `output` resolves with what it printed once it got `count` messages (or after
 * 10 s). Its stdout is block-buffered into a pipe, so readiness is read on the broker's side: `subscribed`.
 */
function subscribe(
  broker: Broker,
  path: string,
  topic: string,
  count: number,
): { subscribed: Promise<void>; output: Promise<string> } {
  const before = broker.subscriptionCount;
  const child = spawn("mosquitto_sub", ["--unix", path, "-t", topic, "-C", String(count), "-W", "10", "-v"]);
  let text = "";
  child.stdout.on("data", (b) => (text += b));
  child.stderr.on("data", (b) => (text += b));
  const output = new Promise<string>((resolve) =>
    child.on("close", (code) => resolve(`${text}(exit ${code})`))
  );
  return { subscribed: until(() => broker.subscriptionCount > before, 10_000, "the subscription"), output };
}

/** mosquitto_pub over the socket (async: the broker runs in this process and must keep answering). */
async function publish(path: string, topic: string, message: string): Promise<void> {
  const child = spawn("mosquitto_pub", ["--unix", path, "-t", topic, "-m", message]);
  let err = "";
  child.stderr.on("data", (b) => (err += b));
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
  clearTimeout(timer);
  assert.equal(code, 0, err);
}

/** A socket file with nobody behind it, as a process killed while listening leaves it. */
function staleSocket(path: string): void {
  const made = spawnSync("python3", [
    "-c",
    "import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])",
    path,
  ]);
  assert.equal(made.status, 0, String(made.stderr));
  assert.ok(statSync(path).isSocket());
}

describe(`${runtimeName()} Unix socket listener`, () => {
  it("carries MQTT between mosquitto_pub and mosquitto_sub, with the socket's mode, and removes it on close", async () => {
    const path = join(dir, "a.sock");
    const broker = testBroker();
    const listener = await createUnixListener({ path, mode: 0o660 });
    await broker.addListener(listener);
    await broker.listen();
    try {
      assert.equal(listener.address, path);
      assert.equal(statSync(path).mode & 0o777, 0o660);
      const sub = subscribe(broker, path, "unix/#", 1);
      await sub.subscribed;
      await publish(path, "unix/hello", "hi");
      assert.match(await sub.output, /unix\/hello hi/);
    } finally {
      await broker.close();
    }
    assert.equal(existsSync(path), false, "the socket file is removed on close");
  });

  it("replaces a stale socket file, and refuses a live one", async () => {
    const path = join(dir, "b.sock");
    staleSocket(path);
    const first = testBroker();
    await first.addListener(await createUnixListener({ path }));
    await first.listen();
    try {
      const second = await createUnixListener({ id: "again", path });
      await assert.rejects(second.listen(() => ({ data() {}, drain() {}, closed() {} })), /already in use/);
      const sub = subscribe(first, path, "t", 1);
      await sub.subscribed;
      await publish(path, "t", "still-served");
      assert.match(await sub.output, /t still-served/);
    } finally {
      await first.close();
    }
  });

  it("is a listener type of the config: { type: unix, path, mode }", async () => {
    const running = await startFromConfig(
      `auth: { type: allow }\nlisteners:\n  - { type: unix, path: ${join(dir, "c.sock")}, mode: "0600" }\n`,
      { writeLog: () => {} },
    );
    try {
      assert.equal(statSync(join(dir, "c.sock")).mode & 0o777, 0o600);
      const sub = subscribe(running.broker, join(dir, "c.sock"), "cfg", 1);
      await sub.subscribed;
      await publish(join(dir, "c.sock"), "cfg", "ok");
      assert.match(await sub.output, /cfg ok/);
    } finally {
      await running.close();
    }
  });
});
