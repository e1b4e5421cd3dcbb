/**
 * Interop over TLS with the Mosquitto command-line clients (Debian's mosquitto-clients) and a CA the test makes
 * with openssl: server-only TLS, client certificates accepted and refused, the certificate's common name as the
 * user name (and the ACL it drives), per-listener auth, and messages crossing between TLS and WebSocket clients.
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import mqtt from "mqtt";
import { createTlsListener, createWsListener } from "../../adapters/mod.ts";
import type { Broker } from "../../src/broker.ts";
import type { Access, ClientInfo, Hook, Verdict } from "../../src/hooks/hook.ts";
import { AllowHook } from "../../src/hooks/auth/allow_hook.ts";
import { ListenerAuthHook } from "../../src/hooks/auth/listener_auth_hook.ts";
import { testBroker, until } from "../_helpers/broker.ts";
import { CLIENT_CN, makeTestPki, type TestPki } from "../_helpers/certs.ts";

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run a command to completion (bounded by `ms`; the child is killed past it). */
function run(cmd: string, args: string[], ms = 8000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
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

/**
 * The auth of the certificate listener: a verified certificate is enough to connect, and its common name (the
 * user name there) owns `devices/<name>/#`.
 */
class DeviceAcl implements Hook {
  readonly id = "device-acl";
  onAuthenticate(client: ClientInfo): Verdict {
    return client.username !== undefined && client.username === client.certificateCommonName
      ? "allow"
      : "deny";
  }
  onAclCheck(client: ClientInfo, topic: string, access: Access): Verdict {
    if (access === "read") return "allow";
    return topic.startsWith(`devices/${client.username}/`) ? "allow" : "deny";
  }
}

describe("interop: mosquitto_pub / mosquitto_sub over TLS", () => {
  let broker: Broker;
  let pki: TestPki;
  let tlsPort: string;
  let certPort: string;
  let wsUrl: string;
  const connected: ClientInfo[] = [];

  before(async () => {
    pki = await makeTestPki();
    broker = testBroker({
      auth: new ListenerAuthHook({ listeners: { "tls-cert": new DeviceAcl() }, fallback: new AllowHook() }),
      hooks: [{ id: "recorder", onConnected: (info) => void connected.push({ ...info }) }],
    });
    const server = { cert: pki.pem.serverCert, key: pki.pem.serverKey };
    const tls = await createTlsListener({ id: "tls", host: "127.0.0.1", port: 0, tls: server });
    const cert = await createTlsListener({
      id: "tls-cert",
      host: "127.0.0.1",
      port: 0,
      tls: { ...server, clientCa: pki.pem.ca, useIdentityAsUsername: true },
    });
    const ws = await createWsListener({ id: "ws", host: "127.0.0.1", port: 0 });
    for (const l of [tls, cert, ws]) await broker.addListener(l);
    await broker.listen();
    tlsPort = String(tls.port);
    certPort = String(cert.port);
    wsUrl = `ws://127.0.0.1:${ws.port}/mqtt`;
  });

  after(async () => {
    await broker?.close();
    await pki?.remove();
  });

  const tlsArgs = (port: string) => ["-h", "127.0.0.1", "-p", port, "--cafile", pki.files.ca];
  const clientCert = () => ["--cert", pki.files.clientCert, "--key", pki.files.clientKey];

  it("mosquitto_sub receives what mosquitto_pub sends over TLS (server certificate only)", async () => {
    const sub = run("mosquitto_sub", [
      ...tlsArgs(tlsPort),
      "-t",
      "tls/#",
      "-q",
      "1",
      "-C",
      "2",
      "-v",
      "-W",
      "6",
    ]);
    await until(() => broker.subscriptionCount > 0, 4000, "the subscription");
    for (const n of [1, 2]) {
      const pub = await run("mosquitto_pub", [
        ...tlsArgs(tlsPort),
        "-t",
        `tls/${n}`,
        "-m",
        `m${n}`,
        "-q",
        "1",
      ]);
      assert.equal(pub.code, 0, pub.stderr);
    }
    const result = await sub;
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.stdout.trim().split("\n"), ["tls/1 m1", "tls/2 m2"]);
  });

  it("a client certificate signed by the CA is accepted; its common name is the user name, whatever -u says", async () => {
    const watcher = await mqtt.connectAsync(wsUrl, { reconnectPeriod: 0, connectTimeout: 3000 });
    try {
      await watcher.subscribeAsync("devices/#", { qos: 1 });
      const got: string[] = [];
      watcher.on("message", (topic: string) => got.push(topic));
      for (const topic of [`devices/${CLIENT_CN}/temp`, "devices/someone-else/temp"]) {
        const pub = await run("mosquitto_pub", [
          ...tlsArgs(certPort),
          ...clientCert(),
          "-i",
          `cert-${topic.split("/")[1]}`,
          "-u",
          "not-the-certificate",
          "-t",
          topic,
          "-m",
          "21.5",
          "-q",
          "1",
        ]);
        // The ACL refuses the second topic; MQTT 3.1.1 has no way to say so, so the publish itself succeeds.
        assert.equal(pub.code, 0, pub.stderr);
      }
      await until(() => got.length >= 1, 3000, "the device's message");
      await sleep(100);
      assert.deepEqual(got, [`devices/${CLIENT_CN}/temp`]);
      const seen = connected.filter((c) => c.listener === "tls-cert");
      assert.equal(seen.length, 2);
      for (const c of seen) {
        assert.equal(c.username, CLIENT_CN);
        assert.equal(c.certificateCommonName, CLIENT_CN);
      }
    } finally {
      await watcher.endAsync(true);
    }
  });

  for (
    const [what, args] of [
      ["a certificate from another CA", () => ["--cert", pki.files.wrongCert, "--key", pki.files.wrongKey]],
      ["no certificate", () => []],
    ] as const
  ) {
    it(`${what} is refused on the certificate listener`, async () => {
      const before = connected.length;
      const pub = await run("mosquitto_pub", [
        ...tlsArgs(certPort),
        ...args(),
        "-t",
        "devices/x/y",
        "-m",
        "no",
      ]);
      assert.notEqual(pub.code, 0);
      assert.equal(connected.length, before);
    });
  }

  it("a message crosses from a TLS client to a WebSocket client and back", async () => {
    const ws = await mqtt.connectAsync(wsUrl, {
      reconnectPeriod: 0,
      connectTimeout: 3000,
      protocolVersion: 5,
    });
    try {
      await ws.subscribeAsync("cross/to-ws", { qos: 1 });
      const toWs = new Promise<string>((resolve) =>
        ws.once("message", (_t: string, p: Uint8Array) => resolve(String(p)))
      );
      const pub = await run("mosquitto_pub", [
        ...tlsArgs(tlsPort),
        "-t",
        "cross/to-ws",
        "-m",
        "from tls",
        "-q",
        "1",
      ]);
      assert.equal(pub.code, 0, pub.stderr);
      assert.equal(await toWs, "from tls");

      const before = broker.subscriptionCount;
      const sub = run("mosquitto_sub", [
        ...tlsArgs(tlsPort),
        "-t",
        "cross/to-tls",
        "-q",
        "1",
        "-C",
        "1",
        "-W",
        "6",
      ]);
      await until(() => broker.subscriptionCount > before, 4000, "the TLS subscription");
      await ws.publishAsync("cross/to-tls", "from ws", { qos: 1 });
      const result = await sub;
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout.trim(), "from ws");
    } finally {
      await ws.endAsync(true);
    }
  });
});
