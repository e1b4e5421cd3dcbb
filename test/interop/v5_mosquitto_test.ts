/**
 * Interop with the Mosquitto command-line clients speaking MQTT 5 (`-V mqttv5`), over real TCP: properties set
 * with `-D` reach `mosquitto_sub`, which prints them with `-F` format strings (%P user properties, %C content
 * type, %E message expiry, %R response topic, %D correlation data, %F payload format indicator).
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import mqtt from "mqtt";
import type { Broker } from "../../src/broker.ts";
import { tcpBroker } from "../_helpers/broker.ts";

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A running child: its pid, and a promise of its outcome (killed with SIGKILL past `ms`). */
interface Child {
  readonly pid: number | undefined;
  readonly done: Promise<Run>;
  kill(): void;
}

function start(cmd: string, args: string[], ms = 8000): Child {
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Uint8Array) => (stdout += new TextDecoder().decode(d)));
  child.stderr!.on("data", (d: Uint8Array) => (stderr += new TextDecoder().decode(d)));
  const timer = setTimeout(() => child.kill("SIGKILL"), ms);
  const done = new Promise<Run>((resolve, reject) => {
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
  return { pid: child.pid, done, kill: () => child.kill("SIGKILL") };
}

function run(cmd: string, args: string[], ms = 8000): Promise<Run> {
  return start(cmd, args, ms).done;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Everything mosquitto_sub can print about a v5 message, separated by |. */
const FORMAT = "%t|%P|%C|%E|%R|%D|%F|%q|%r|%p";

describe("interop: mosquitto_pub / mosquitto_sub / mosquitto_rr with -V mqttv5", () => {
  let broker: Broker;
  let port: string;
  const host = (): string[] => ["-h", "127.0.0.1", "-p", port];

  before(async () => {
    const r = await tcpBroker();
    broker = r.broker;
    port = String(r.port);
  });

  after(async () => {
    await broker.close();
  });

  it("-D publish properties (user properties, expiry, content type, response topic, correlation data, format) reach mosquitto_sub", async () => {
    const sub = start("mosquitto_sub", [
      ...host(),
      "-V",
      "mqttv5",
      "-t",
      "mq5/props",
      "-q",
      "1",
      "-C",
      "1",
      "-W",
      "6",
      "-F",
      FORMAT,
    ]);
    await sleep(300);
    const pub = await run("mosquitto_pub", [
      ...host(),
      "-V",
      "mqttv5",
      "-t",
      "mq5/props",
      "-q",
      "1",
      "-m",
      "hello",
      ...["-D", "publish", "user-property", "k", "v"],
      ...["-D", "publish", "user-property", "k", "w"],
      ...["-D", "publish", "user-property", "zone", "eu"],
      ...["-D", "publish", "message-expiry-interval", "30"],
      ...["-D", "publish", "content-type", "text/plain"],
      ...["-D", "publish", "response-topic", "mq5/reply"],
      ...["-D", "publish", "correlation-data", "abc123"],
      ...["-D", "publish", "payload-format-indicator", "1"],
    ]);
    assert.equal(pub.code, 0, pub.stderr);
    const out = await sub.done;
    assert.equal(out.code, 0, out.stderr);
    const [topic, user, contentType, expiry, responseTopic, correlation, format, qos, retain, payload] = out
      .stdout
      .trimEnd()
      .split("|");
    assert.equal(topic, "mq5/props");
    assert.equal(user, "k:v k:w zone:eu", "user properties in order, duplicates kept");
    assert.equal(contentType, "text/plain");
    assert.ok(expiry === "30" || expiry === "29", `message expiry ${expiry}`);
    assert.equal(responseTopic, "mq5/reply");
    assert.equal(correlation, "abc123");
    assert.equal(format, "1");
    assert.equal(qos, "1");
    assert.equal(retain, "0");
    assert.equal(payload, "hello");
  });

  it("a retained v5 message keeps its properties for a later mosquitto_sub", async () => {
    const pub = await run("mosquitto_pub", [
      ...host(),
      "-V",
      "mqttv5",
      "-t",
      "mq5/retained",
      "-r",
      "-q",
      "1",
      "-m",
      "state",
      ...["-D", "publish", "user-property", "origin", "test"],
      ...["-D", "publish", "content-type", "text/x-state"],
    ]);
    assert.equal(pub.code, 0, pub.stderr);
    const sub = await run("mosquitto_sub", [
      ...host(),
      "-V",
      "mqttv5",
      "-t",
      "mq5/retained",
      "-C",
      "1",
      "-W",
      "5",
      "-F",
      FORMAT,
    ]);
    assert.equal(sub.stdout.trimEnd(), "mq5/retained|origin:test|text/x-state|||||0|1|state");
  });

  it("a v5 publisher reaches a 3.1.1 mosquitto_sub (properties dropped), and a 3.1.1 publisher a v5 one", async () => {
    const old = start("mosquitto_sub", [
      ...host(),
      "-V",
      "mqttv311",
      "-t",
      "mq5/mixed/v3",
      "-C",
      "1",
      "-W",
      "6",
      "-v",
    ]);
    const v5 = start("mosquitto_sub", [
      ...host(),
      "-V",
      "mqttv5",
      "-t",
      "mq5/mixed/v5",
      "-C",
      "1",
      "-W",
      "6",
      "-F",
      FORMAT,
    ]);
    await sleep(300);
    const a = await run("mosquitto_pub", [
      ...host(),
      "-V",
      "mqttv5",
      "-t",
      "mq5/mixed/v3",
      "-m",
      "from v5",
      ...["-D", "publish", "user-property", "k", "v"],
    ]);
    assert.equal(a.code, 0, a.stderr);
    const b = await run("mosquitto_pub", [
      ...host(),
      "-V",
      "mqttv311",
      "-t",
      "mq5/mixed/v5",
      "-m",
      "from v3",
    ]);
    assert.equal(b.code, 0, b.stderr);
    assert.equal((await old.done).stdout.trimEnd(), "mq5/mixed/v3 from v5");
    assert.equal(
      (await v5.done).stdout.trimEnd(),
      "mq5/mixed/v5|||||||0|0|from v3",
      "no properties appear from 3.1.1",
    );
  });

  it("Message Expiry: a message that expired while a session was offline is not delivered", async () => {
    const id = `mq5-exp-${Math.random().toString(16).slice(2, 8)}`;
    const first = await run("mosquitto_sub", [
      ...host(),
      "-V",
      "mqttv5",
      "-i",
      id,
      "-c",
      "-x",
      "60",
      "-t",
      "mq5/exp",
      "-q",
      "1",
      "-E",
    ]);
    assert.equal(first.code, 0, first.stderr);
    for (const [expiry, text] of [["1", "short"], ["300", "long"]]) {
      const pub = await run("mosquitto_pub", [
        ...host(),
        "-V",
        "mqttv5",
        "-t",
        "mq5/exp",
        "-q",
        "1",
        "-m",
        text!,
        ...["-D", "publish", "message-expiry-interval", expiry!],
      ]);
      assert.equal(pub.code, 0, pub.stderr);
    }
    await sleep(1200);
    const again = await run("mosquitto_sub", [
      ...host(),
      "-V",
      "mqttv5",
      "-i",
      id,
      "-c",
      "-x",
      "0",
      "-t",
      "mq5/exp",
      "-q",
      "1",
      "-W",
      "2",
      "-F",
      "%E|%p",
    ]);
    const lines = again.stdout.trimEnd().split("\n");
    assert.equal(lines.length, 1, again.stdout);
    const [left, payload] = lines[0]!.split("|");
    assert.equal(payload, "long");
    assert.ok(Number(left) < 300 && Number(left) >= 297, `expiry interval reduced while queued: ${left}`);
  });

  it("session expiry with reconnect: a queued QoS 1 message waits for the session (-c -x 60)", async () => {
    const id = `mq5-sess-${Math.random().toString(16).slice(2, 8)}`;
    const first = await run("mosquitto_sub", [
      ...host(),
      "-V",
      "mqttv5",
      "-i",
      id,
      "-c",
      "-x",
      "60",
      "-t",
      "mq5/sess",
      "-q",
      "1",
      "-E",
    ]);
    assert.equal(first.code, 0, first.stderr);
    assert.ok(broker.getSession(id), "the session outlives the connection");
    const pub = await run("mosquitto_pub", [
      ...host(),
      "-V",
      "mqttv5",
      "-t",
      "mq5/sess",
      "-q",
      "1",
      "-m",
      "while away",
    ]);
    assert.equal(pub.code, 0, pub.stderr);
    const again = await run("mosquitto_sub", [
      ...host(),
      "-V",
      "mqttv5",
      "-i",
      id,
      "-c",
      "-x",
      "0",
      "-t",
      "mq5/sess",
      "-q",
      "1",
      "-C",
      "1",
      "-W",
      "5",
    ]);
    assert.equal(again.stdout.trimEnd(), "while away");
    await sleep(100);
    assert.equal(broker.getSession(id), undefined, "-x 0 on the last connection ends the session with it");
  });

  it("a shared subscription spreads messages across two mosquitto_sub processes", async () => {
    const args = [...host(), "-V", "mqttv5", "-t", "$share/g/mq5/shared", "-q", "1", "-C", "3", "-W", "6"];
    const a = start("mosquitto_sub", args);
    const b = start("mosquitto_sub", args);
    await sleep(400);
    for (let i = 0; i < 6; i++) {
      const pub = await run("mosquitto_pub", [
        ...host(),
        "-V",
        "mqttv5",
        "-t",
        "mq5/shared",
        "-q",
        "1",
        "-m",
        `job${i}`,
      ]);
      assert.equal(pub.code, 0, pub.stderr);
    }
    const [ra, rb] = [await a.done, await b.done];
    const la = ra.stdout.trimEnd().split("\n");
    const lb = rb.stdout.trimEnd().split("\n");
    assert.equal(la.length, 3, ra.stdout);
    assert.equal(lb.length, 3, rb.stdout);
    assert.deepEqual([...la, ...lb].sort(), ["job0", "job1", "job2", "job3", "job4", "job5"]);
  });

  it("will properties (-D will ...) go out with the will of a mosquitto_sub that dies", async () => {
    const watcher = start("mosquitto_sub", [
      ...host(),
      "-V",
      "mqttv5",
      "-t",
      "mq5/will",
      "-C",
      "1",
      "-W",
      "6",
      "-F",
      "%P|%C|%p",
    ]);
    const dying = start("mosquitto_sub", [
      ...host(),
      "-V",
      "mqttv5",
      "-t",
      "mq5/nothing",
      "--will-topic",
      "mq5/will",
      "--will-payload",
      "lost",
      ...["-D", "will", "user-property", "why", "killed"],
      ...["-D", "will", "content-type", "text/plain"],
    ]);
    await sleep(400);
    dying.kill();
    await dying.done;
    const out = await watcher.done;
    assert.equal(out.stdout.trimEnd(), "why:killed|text/plain|lost");
  });

  it("mosquitto_rr request/response: the reply comes back on its response topic with its correlation data", async () => {
    const responder = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
      protocolVersion: 5,
      reconnectPeriod: 0,
    });
    try {
      await responder.subscribeAsync("mq5/rr/request", { qos: 1 });
      const seen: Array<{ responseTopic?: string; correlation?: string }> = [];
      // deno-lint-ignore no-explicit-any
      responder.on("message", (_topic: string, payload: Uint8Array, packet: any) => {
        const { responseTopic, correlationData } = packet.properties ?? {};
        seen.push({
          responseTopic,
          correlation: correlationData && new TextDecoder().decode(correlationData),
        });
        if (responseTopic === undefined) return;
        responder.publish(responseTopic, `pong:${new TextDecoder().decode(payload)}`, {
          qos: 1,
          properties: { correlationData },
        });
      });
      const rr = await run("mosquitto_rr", [
        ...host(),
        "-V",
        "mqttv5",
        "-t",
        "mq5/rr/request",
        "-e",
        "mq5/rr/response",
        "-m",
        "ping",
        "-W",
        "5",
        ...["-D", "publish", "correlation-data", "corr-7"],
      ]);
      assert.equal(rr.code, 0, rr.stderr);
      assert.equal(rr.stdout.trimEnd(), "pong:ping");
      assert.deepEqual(seen, [{ responseTopic: "mq5/rr/response", correlation: "corr-7" }]);
    } finally {
      await responder.endAsync(true);
    }
  });
});
