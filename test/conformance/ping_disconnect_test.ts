/**
 * Conformance: PINGREQ (MQTT 3.1.1 section 3.12) and DISCONNECT (section 3.14), one test per normative statement.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { RawClient } from "../_helpers/raw_client.ts";
import { tcpBroker, testBroker } from "../_helpers/broker.ts";
import { connected, publishFrame } from "./_wire.ts";

const WILL = { topic: "will/t", payload: "gone", qos: 1, retain: true };

describe("conformance 3.12 PINGREQ", () => {
  it("MQTT-3.12.4-1 a PINGREQ is answered with a PINGRESP", async () => {
    const broker = testBroker();
    const c = await connected(broker);
    c.sendBytes([0xc0, 0x00]);
    await c.expect("pingresp");
    assert.deepEqual(await c.collect(30), [], "exactly one PINGRESP");
    await broker.close();
  });

  it("MQTT-3.12.4-1 every PINGREQ of a pipelined burst gets its own PINGRESP", async () => {
    const broker = testBroker();
    const c = await connected(broker);
    const burst: number[] = [];
    for (let i = 0; i < 50; i++) burst.push(0xc0, 0x00);
    c.sendBytes(burst);
    for (let i = 0; i < 50; i++) await c.expect("pingresp");
    assert.deepEqual(await c.collect(30), []);
    await broker.close();
  });

  it("MQTT-3.12.4-1 a PINGREQ split across two writes and one between publishes are answered", async () => {
    const broker = testBroker();
    const c = await connected(broker);
    await c.subscribe("ping/#", 0);
    c.sendBytes([0xc0]);
    await new Promise((r) => setTimeout(r, 10));
    c.sendBytes([0x00]);
    await c.expect("pingresp");
    c.sendBytes([...publishFrame("ping/a", "1"), 0xc0, 0x00, ...publishFrame("ping/b", "2")]);
    const got = [await c.next(), await c.next(), await c.next()];
    assert.deepEqual(got.map((p) => p.cmd === "publish" ? p.topic : p.cmd), ["ping/a", "pingresp", "ping/b"]);
    await broker.close();
  });

  it("MQTT-3.12.4-1 PINGREQ is answered over TCP and keeps a keep-alive connection open", async () => {
    const { broker, port } = await tcpBroker();
    const c = await RawClient.tcp(port);
    try {
      assert.equal((await c.connect({ keepalive: 1 })).returnCode, 0);
      // 1.5 x keep-alive is 1500 ms; pinging every 400 ms for 2 s keeps the connection open.
      for (let i = 0; i < 5; i++) {
        await new Promise((r) => setTimeout(r, 400));
        c.send({ cmd: "pingreq" });
        await c.expect("pingresp");
      }
      assert.equal(c.closed, false);
    } finally {
      c.destroy();
      await broker.close();
    }
  });
});

describe("conformance 3.14 DISCONNECT", () => {
  for (const flags of [0x1, 0x2, 0x4, 0x8, 0xf]) {
    it(`MQTT-3.14.1-1 a DISCONNECT with reserved flags 0x${flags.toString(16)} disconnects the client`, async () => {
      const broker = testBroker();
      const sub = await connected(broker);
      await sub.subscribe("will/#", 1);
      const c = await connected(broker, { will: WILL });
      c.sendBytes([0xe0 | flags, 0x00]);
      assert.equal(await c.waitClosed(), true);
      assert.equal(broker.stats.protocolErrors, 1);
      // Not a valid DISCONNECT, so the close is a protocol error and the will goes out [MQTT-3.1.2-8].
      const m = await sub.expect("publish");
      assert.equal(m.topic, "will/t");
      await broker.close();
    });
  }

  it("MQTT-3.14.4-3 on DISCONNECT a QoS 1 retained will is discarded, neither sent nor retained", async () => {
    const broker = testBroker();
    const sub = await connected(broker);
    await sub.subscribe("will/#", 1);
    const c = await connected(broker, { clientId: "leaver", will: WILL });
    c.sendBytes([0xe0, 0x00]);
    assert.equal(await c.waitClosed(), true, "the server closes the connection after DISCONNECT");
    assert.deepEqual(await sub.collect(60), []);
    assert.equal(broker.getRetained("will/t"), undefined);
    assert.equal(broker.stats.protocolErrors, 0);
    await broker.close();
  });

  it("MQTT-3.14.4-3 on DISCONNECT over TCP the will is discarded, and a later drop of the socket sends nothing", async () => {
    const { broker, port } = await tcpBroker();
    const sub = await RawClient.tcp(port);
    const c = await RawClient.tcp(port);
    try {
      await sub.connect();
      await sub.subscribe("will/#", 1);
      await c.connect({ will: WILL });
      c.send({ cmd: "disconnect" });
      assert.equal(await c.waitClosed(), true);
      c.destroy();
      assert.deepEqual(await sub.collect(100), []);
      assert.equal(broker.getRetained("will/t"), undefined);
    } finally {
      c.destroy();
      sub.destroy();
      await broker.close();
    }
  });

  it("MQTT-3.14.4-3 packets after DISCONNECT are not processed and the will stays discarded", async () => {
    const broker = testBroker();
    const sub = await connected(broker);
    await sub.subscribe("#", 1);
    const c = await connected(broker, { will: WILL });
    c.sendBytes([0xe0, 0x00, ...publishFrame("after/disconnect", "x", { qos: 1, packetId: 3 }), 0xc0, 0x00]);
    assert.equal(await c.waitClosed(), true);
    assert.deepEqual(c.packets, [], "no PUBACK, no PINGRESP after DISCONNECT");
    assert.deepEqual(await sub.collect(60), [], "neither the PUBLISH nor the will");
    await broker.close();
  });
});
