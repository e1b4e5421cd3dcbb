/**
 * Interop with the Mosquitto command-line clients (Debian package mosquitto-clients), over real TCP.
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import type { Broker } from "../../src/broker.ts";
import { tcpBroker } from "../_helpers/broker.ts";

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run a command to completion (bounded by `ms`; the child is killed past it). */
function run(cmd: string, args: string[], ms = 8000, input?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
    if (input !== undefined) child.stdin!.end(input);
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d: Uint8Array) => (stdout += new TextDecoder().decode(d)));
    child.stderr!.on("data", (d: Uint8Array) => (stderr += new TextDecoder().decode(d)));
    const timer = setTimeout(() => child.kill("SIGKILL"), ms);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

describe("interop: mosquitto_pub / mosquitto_sub", () => {
  let broker: Broker;
  let port: string;

  before(async () => {
    const r = await tcpBroker();
    broker = r.broker;
    port = String(r.port);
  });

  after(async () => {
    await broker.close();
  });

  for (const qos of ["0", "1", "2"]) {
    it(`mosquitto_sub receives what mosquitto_pub sends at QoS ${qos}`, async () => {
      const sub = run("mosquitto_sub", [
        "-h",
        "127.0.0.1",
        "-p",
        port,
        "-t",
        `mq/${qos}/#`,
        "-q",
        qos,
        "-C",
        "3",
        "-v",
        "-W",
        "6",
      ]);
      await sleep(300);
      for (const n of [1, 2, 3]) {
        const pub = await run("mosquitto_pub", [
          "-h",
          "127.0.0.1",
          "-p",
          port,
          "-t",
          `mq/${qos}/x`,
          "-q",
          qos,
          "-m",
          `m${n}`,
        ]);
        assert.equal(pub.code, 0, pub.stderr);
      }
      const out = await sub;
      assert.equal(out.code, 0, out.stderr);
      assert.deepEqual(out.stdout.trim().split("\n"), [`mq/${qos}/x m1`, `mq/${qos}/x m2`, `mq/${qos}/x m3`]);
    });
  }

  it("a retained message is delivered to a later mosquitto_sub", async () => {
    const pub = await run("mosquitto_pub", [
      "-h",
      "127.0.0.1",
      "-p",
      port,
      "-t",
      "mq/ret",
      "-r",
      "-q",
      "1",
      "-m",
      "kept",
    ]);
    assert.equal(pub.code, 0, pub.stderr);
    const sub = await run("mosquitto_sub", [
      "-h",
      "127.0.0.1",
      "-p",
      port,
      "-t",
      "mq/ret",
      "-C",
      "1",
      "-W",
      "5",
      "-v",
    ]);
    assert.equal(sub.stdout.trim(), "mq/ret kept");
  });

  it("MQTT 3.1 (-V mqttv31) clients work", async () => {
    const sub = run("mosquitto_sub", [
      "-V",
      "mqttv31",
      "-h",
      "127.0.0.1",
      "-p",
      port,
      "-t",
      "mq/v31",
      "-C",
      "1",
      "-W",
      "5",
    ]);
    await sleep(300);
    const pub = await run("mosquitto_pub", [
      "-V",
      "mqttv31",
      "-h",
      "127.0.0.1",
      "-p",
      port,
      "-t",
      "mq/v31",
      "-m",
      "old",
    ]);
    assert.equal(pub.code, 0, pub.stderr);
    assert.equal((await sub).stdout.trim(), "old");
  });

  it("a $SYS subscription with mosquitto_sub gets the broker version", async () => {
    const sys = await tcpBroker({ sysInterval: 1 });
    try {
      const sub = await run("mosquitto_sub", [
        "-h",
        "127.0.0.1",
        "-p",
        String(sys.port),
        "-t",
        "$SYS/broker/version",
        "-C",
        "1",
        "-W",
        "3",
      ]);
      assert.match(sub.stdout.trim(), /^comqtt-ts \d+\.\d+\.\d+/);
    } finally {
      await sys.broker.close();
    }
  });

  it("a large payload (512 KiB) crosses intact", async () => {
    const big = "z".repeat(512 * 1024);
    const sub = run("mosquitto_sub", ["-h", "127.0.0.1", "-p", port, "-t", "mq/big", "-C", "1", "-W", "6"]);
    await sleep(300);
    const pub = await run(
      "mosquitto_pub",
      ["-h", "127.0.0.1", "-p", port, "-t", "mq/big", "-q", "1", "-s"],
      8000,
      big,
    );
    assert.equal(pub.code, 0, pub.stderr);
    const out = await sub;
    assert.equal(out.stdout.trimEnd().length, big.length);
  });
});
