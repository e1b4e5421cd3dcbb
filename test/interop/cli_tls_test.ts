/**
 * examples/tls.yaml for real: main.ts (run by the runtime running this test) with that config, its addresses
 * moved to 127.0.0.1 and ephemeral ports and certificates made by openssl, driven by mosquitto_pub over TLS
 * (a user with a password, and a device with a client certificate) and MQTT.js over WSS.
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import process from "node:process";
import mqtt from "mqtt";
import { parseConfig } from "../../src/config/parse_config.ts";
import { CLIENT_CN, makeTestPki, type TestPki } from "../_helpers/certs.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const STARTUP_MS = 20_000; // a cold `deno run` type-strips and caches the tree first
const CLIENT_MS = 8_000;

function cliCommand(): string[] {
  const g = globalThis as { Deno?: unknown };
  return g.Deno !== undefined ? ["run", "-A", "main.ts"] : ["main.ts"];
}

/** Run a client to completion, killed past `ms`. */
function run(cmd: string, args: string[], ms = CLIENT_MS): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout!.on("data", (d: Uint8Array) => (output += new TextDecoder().decode(d)));
    child.stderr!.on("data", (d: Uint8Array) => (output += new TextDecoder().decode(d)));
    const timer = setTimeout(() => child.kill("SIGKILL"), ms);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe("interop: the CLI with examples/tls.yaml", () => {
  let pki: TestPki;
  let broker: ChildProcess | undefined;
  let log = "";
  const ports: Record<string, number> = {};

  /** Resolves with the first match of `pattern` in the broker's output; rejects after `ms` or if it exits. */
  function waitForLog(pattern: RegExp, ms = STARTUP_MS): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => finish(new Error(`timed out waiting for ${pattern}; output:\n${log}`)),
        ms,
      );
      const check = () => {
        const m = log.match(pattern);
        if (m) finish(undefined, m);
        else if (broker?.exitCode !== null) finish(new Error(`the broker exited; output:\n${log}`));
      };
      const finish = (error?: Error, m?: RegExpMatchArray) => {
        clearTimeout(timer);
        broker?.stdout?.off("data", check);
        broker?.off("exit", check);
        if (error) reject(error);
        else resolve(m!);
      };
      broker?.stdout?.on("data", check);
      broker?.on("exit", check);
      check();
    });
  }

  before(async () => {
    pki = await makeTestPki();
    // The example with its own users file and certificates, on loopback and ephemeral ports.
    const text = (await readFile(join(ROOT, "examples", "tls.yaml"), "utf8"))
      .replace(/address: "(?:0\.0\.0\.0|127\.0\.0\.1):\d+"/g, 'address: "127.0.0.1:0"');
    await writeFile(join(pki.dir, "tls.yaml"), text);
    await copyFile(join(ROOT, "examples", "users.yaml"), join(pki.dir, "users.yaml"));
    await copyFile(join(ROOT, "examples", "devices.yaml"), join(pki.dir, "devices.yaml"));
    await mkdir(join(pki.dir, "certs"));
    await copyFile(pki.files.ca, join(pki.dir, "certs", "ca.crt"));
    await copyFile(pki.files.serverCert, join(pki.dir, "certs", "server.crt"));
    await copyFile(pki.files.serverKey, join(pki.dir, "certs", "server.key"));

    broker = spawn(process.execPath, [...cliCommand(), "--config", join(pki.dir, "tls.yaml")], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1" },
    });
    const append = (d: Uint8Array) => (log += new TextDecoder().decode(d));
    broker.stdout!.on("data", append);
    broker.stderr!.on("data", append);
    await waitForLog(/broker started/);
    for (const m of log.matchAll(/listening id=(\S+) protocol=(\S+) address=127\.0\.0\.1:(\d+)/g)) {
      ports[m[1]] = Number(m[3]);
    }
  });

  after(async () => {
    if (broker?.pid !== undefined && broker.exitCode === null) process.kill(broker.pid, "SIGKILL");
    await pki?.remove();
  });

  it("the example parses, and the CLI starts each of its listeners with the right protocol", async () => {
    const config = parseConfig(await readFile(join(ROOT, "examples", "tls.yaml"), "utf8"), "tls.yaml");
    assert.deepEqual(
      config.listeners.map((l) => [l.id, l.type, l.tls !== undefined, l.port]),
      [["local", "tcp", false, 1883], ["tls", "tcp", true, 8883], ["devices", "tcp", true, 8885], [
        "wss",
        "ws",
        true,
        8884,
      ]],
    );
    assert.match(log, /listening id=tls protocol=tls /);
    assert.match(log, /listening id=devices protocol=tls /);
    assert.match(log, /listening id=wss protocol=wss /);
    // The device listener keeps ACLs on: certificates in, devices.yaml's rules for their topics.
    assert.match(log, /listener with its own auth listener=devices auth=certificate file=\.\/devices\.yaml/);
    assert.deepEqual(config.listeners.find((l) => l.id === "devices")?.auth, {
      type: "certificate",
      file: "./devices.yaml",
    });
    assert.deepEqual(Object.keys(ports).sort(), ["devices", "local", "tls", "wss"]);
  });

  it("a user over TLS and a device with a client certificate reach a browser-style WSS client", async () => {
    const wss = await mqtt.connectAsync(`wss://127.0.0.1:${ports.wss}/mqtt`, {
      ca: pki.pem.ca,
      username: "alice",
      password: "alice-password",
      reconnectPeriod: 0,
      connectTimeout: 5000,
    });
    try {
      await wss.subscribeAsync("home/alice/#", { qos: 1 });
      const got: string[] = [];
      wss.on(
        "message",
        (topic: string, payload: Uint8Array) => got.push(`${topic} ${new TextDecoder().decode(payload)}`),
      );
      const tls = ["-h", "127.0.0.1", "--cafile", pki.files.ca, "-q", "1"];
      const user = await run("mosquitto_pub", [
        ...tls,
        "-p",
        String(ports.tls),
        "-u",
        "alice",
        "-P",
        "alice-password",
        "-t",
        "home/alice/lamp",
        "-m",
        "on",
      ]);
      assert.equal(user.code, 0, user.output);
      const device = await run("mosquitto_pub", [
        ...tls,
        "-p",
        String(ports.devices),
        "--cert",
        pki.files.clientCert,
        "--key",
        pki.files.clientKey,
        "-t",
        "home/alice/door",
        "-m",
        "open",
      ]);
      assert.equal(device.code, 0, device.output);
      // A topic devices.yaml does not give the device: acknowledged as usual, never delivered [MQTT-3.3.5-2].
      const outside = await run("mosquitto_pub", [
        ...tls,
        "-p",
        String(ports.devices),
        "--cert",
        pki.files.clientCert,
        "--key",
        pki.files.clientKey,
        "-t",
        "home/alice/lamp",
        "-m",
        "hijacked",
      ]);
      assert.equal(outside.code, 0, outside.output);
      const refused = await run("mosquitto_pub", [
        ...tls,
        "-p",
        String(ports.devices),
        "-t",
        "home/alice/door",
        "-m",
        "x",
      ]);
      assert.notEqual(refused.code, 0, "no client certificate, no connection");
      for (let i = 0; i < 100 && got.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 200)); // room for the refused one to show up, were it delivered
      assert.deepEqual(got.sort(), ["home/alice/door open", "home/alice/lamp on"]);
      // The device's user name is its certificate's common name.
      assert.match(log, new RegExp(`client connected .*listener=devices .*username=${CLIENT_CN}`));
    } finally {
      await wss.endAsync(true);
    }
  });

  it("stops cleanly on SIGTERM", async () => {
    const exited = new Promise<number | null>((resolve) => broker!.once("exit", (code) => resolve(code)));
    process.kill(broker!.pid!, "SIGTERM");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const code = await Promise.race([
      exited,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no exit within ${CLIENT_MS} ms; output:\n${log}`)),
          CLIENT_MS,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    assert.equal(code, 0, log);
  });
});
