/**
 * Connecting: retries with back-off when the very first attempt fails (Mosquitto #2795), TLS to Mosquitto with a
 * CA and a client certificate, and a remote that refuses the bridge's certificate (retried, error reported).
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import mqtt from "mqtt";
import net from "node:net";
import { tcpBroker, until } from "../_helpers/broker.ts";
import { freePort, type Mosquitto, startMosquitto } from "../_helpers/mosquitto.ts";
import { makeTestPki, type TestPki } from "../_helpers/certs.ts";
import { createBridge } from "../../adapters/bridge/from_config.ts";
import type { Broker } from "../../src/broker.ts";
import { bridgeConfig, collector, startBridge } from "./_bridge_setup.ts";

describe("bridge connecting", () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  let pki: TestPki;
  let local: Broker;
  let localPort: number;

  before(async () => {
    pki = await makeTestPki();
    ({ broker: local, port: localPort } = await tcpBroker());
  });

  after(async () => {
    await local.close();
    for (const c of cleanups.reverse()) await c().catch(() => {});
    await pki.remove();
  });

  it("keeps retrying after a failed first attempt, then connects and delivers what it queued", async () => {
    const port = await freePort();
    const bridge = await createBridge(
      local,
      bridgeConfig("late", `mqtt://127.0.0.1:${port}`, {
        out: [{ from: "late/#", to: "remote/late/#", qos: 1 }],
        reconnect: { minDelay: 100, maxDelay: 400 },
      }),
      "node-a",
    );
    local.addHook(bridge);
    bridge.start();
    await local.publish("late/1", "queued while nobody listened", { qos: 1 });
    await until(() => bridge.status().failedAttempts >= 3, 5000, "three failed attempts");
    assert.equal(bridge.connected, false);
    assert.match(bridge.status().lastError ?? "", /ECONNREFUSED|refused/i);
    // Mosquitto on a port of its own with the subscriber in place; only then does anything listen on the bridge's
    // port (a forwarder to Mosquitto), so the bridge cannot deliver before the subscriber is there.
    const m = await startMosquitto({ persistence: false });
    cleanups.push(() => m.cleanup());
    const far = await collector(m.port, { "remote/#": { qos: 1 } });
    cleanups.push(() => far.client.endAsync(true));
    const forwarder = await forwardPort(port, m.port);
    cleanups.push(() => forwarder.close());
    await until(() => bridge.connected, 5000, "the bridge to connect");
    await until(() => far.got.length === 1, 5000, "the queued message");
    assert.equal(far.got[0]!.topic, "remote/late/1");
    await bridge.stop();
  });

  describe("TLS to Mosquitto with a client certificate", () => {
    let m: Mosquitto;
    before(async () => {
      m = await startMosquitto({
        persistence: false,
        tls: {
          ca: pki.files.ca,
          cert: pki.files.serverCert,
          key: pki.files.serverKey,
          requireCertificate: true,
        },
      });
      cleanups.push(() => m.cleanup());
    });

    it("connects with the CA and the client certificate, and forwards both ways", async () => {
      const url = `mqtts://127.0.0.1:${m.port}`;
      const bridge = await startBridge(
        local,
        bridgeConfig("secure", url, {
          remote: {
            url,
            clientId: "edge-tls",
            protocolVersion: 5,
            keepalive: 30,
            ca: pki.files.ca,
            cert: pki.files.clientCert,
            key: pki.files.clientKey,
          },
          out: [{ from: "tls/out/#", to: "site/tls/#", qos: 1 }],
          in: [{ from: "site/cmd/#", to: "tls/cmd/#", qos: 1 }],
        }),
      );
      const far = await mqtt.connectAsync(url, {
        ca: pki.pem.ca,
        cert: pki.pem.clientCert,
        key: pki.pem.clientKey,
        reconnectPeriod: 0,
      });
      cleanups.push(() => far.endAsync(true));
      const farGot: string[] = [];
      far.on("message", (t, p) => farGot.push(`${t} ${p}`));
      await far.subscribeAsync("site/tls/#", { qos: 1 });
      const near = await mqtt.connectAsync(`mqtt://127.0.0.1:${localPort}`, { reconnectPeriod: 0 });
      cleanups.push(() => near.endAsync(true));
      const nearGot: string[] = [];
      near.on("message", (t, p) => nearGot.push(`${t} ${p}`));
      await near.subscribeAsync("tls/cmd/#", { qos: 1 });
      await near.publishAsync("tls/out/a", "up", { qos: 1 });
      await far.publishAsync("site/cmd/b", "down", { qos: 1 });
      await until(
        () => farGot.length === 1 && nearGot.length === 1,
        5000,
        `both directions: ${farGot} ${nearGot}`,
      );
      assert.deepEqual([farGot, nearGot], [["site/tls/a up"], ["tls/cmd/b down"]]);
      await bridge.stop();
    });

    it("without a client certificate the remote refuses it: retried, with the error in its status", async () => {
      const url = `mqtts://127.0.0.1:${m.port}`;
      const bridge = await createBridge(
        local,
        bridgeConfig("nocert", url, {
          remote: { url, clientId: "edge-nocert", protocolVersion: 5, keepalive: 30, ca: pki.files.ca },
          out: [{ from: "nocert/#", to: "nocert/#", qos: 1 }],
          reconnect: { minDelay: 100, maxDelay: 200 },
        }),
        "node-a",
      );
      bridge.start();
      await until(() => bridge.status().failedAttempts >= 2, 10_000, "two refused attempts");
      assert.equal(bridge.connected, false);
      assert.ok((bridge.status().lastError ?? "") !== "", "the status says why");
      await bridge.stop();
    });
  });
});

/** Listen on `port` and pass every connection through to `target` (both on 127.0.0.1). */
async function forwardPort(port: number, target: number): Promise<{ close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((inbound) => {
    const outbound = net.connect(target, "127.0.0.1");
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on("error", () => {});
      s.on("close", () => {
        sockets.delete(s);
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  return {
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
