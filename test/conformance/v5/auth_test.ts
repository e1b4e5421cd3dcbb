/**
 * Conformance, MQTT 5.0: AUTH (section 3.15), enhanced authentication (4.12) and re-authentication (4.12.1), one
 * test or more per normative statement, named `MQTT-x.y.z-n (5.0)`.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MqttError } from "../../../src/errors.ts";
import type { Hook } from "../../../src/hooks/hook.ts";
import { RawClient } from "../../_helpers/raw_client.ts";
import { testBroker } from "../../_helpers/broker.ts";
import { bytes, expectDisconnect, ScriptedAuth, subscribeV5, text, v5Client, wireSize } from "./_v5_kit.ts";
import { auth, authenticated, challenges, connectWithAuth, drain, watcher, WILL } from "./_v5_auth.ts";

describe("conformance 5.0 3.15 AUTH", () => {
  for (const b0 of [0xf1, 0xf2, 0xf8]) {
    it(`MQTT-3.15.1-1 (5.0) AUTH with flags 0x${(b0 & 0xf).toString(16)} on an authenticated connection is malformed: DISCONNECT 0x81, close`, async () => {
      const hook = new ScriptedAuth("F", () => ({ result: "success" }));
      const broker = testBroker({ hooks: [hook] });
      const { c } = await authenticated(broker, "F", 0);
      // AUTH 0x19 with the right method, but reserved flag bits set.
      const method = [...new TextEncoder().encode("F")];
      c.sendBytes([b0, 6, 0x19, 4, 0x15, 0, 1, ...method]);
      await expectDisconnect(c, 0x81);
      assert.equal(hook.steps.length, 1, "the hook was not asked to re-authenticate");
      await broker.close();
    });
  }

  it("MQTT-3.15.1-1 (5.0) AUTH with flags 0000 is accepted (control case)", async () => {
    const broker = testBroker({ hooks: [new ScriptedAuth("F", () => ({ result: "success" }))] });
    const { c } = await authenticated(broker, "F", 0);
    c.sendBytes([0xf0, 6, 0x19, 4, 0x15, 0, 1, 0x46]);
    const a = await c.expect("auth");
    assert.equal(a.reasonCode, 0x00);
    await broker.close();
  });

  it("MQTT-3.15.2-1 (5.0) the server's AUTH packets use only 0x18 (continue) and 0x00 (success)", async () => {
    const broker = testBroker({ hooks: [new ScriptedAuth("C", challenges(3))] });
    const { c, auths } = await authenticated(broker, "C", 3);
    auth(c, 0x19, "C", "again");
    for (let i = 0; i < 3; i++) {
      auths.push(await c.expect("auth"));
      auth(c, 0x18, "C", `response-${i}`);
    }
    auths.push(await c.expect("auth"));
    assert.deepEqual(auths.map((a) => a.reasonCode), [0x18, 0x18, 0x18, 0x18, 0x18, 0x18, 0x00]);
    await broker.close();
  });

  it("MQTT-3.15.2-2 (5.0) MQTT-3.15.2-3 (5.0) the server's AUTH packets never exceed the client's Maximum Packet Size", async () => {
    const broker = testBroker({ hooks: [new ScriptedAuth("P", challenges(2))] });
    const { c, auths } = await authenticated(broker, "P", 2, { properties: { maximumPacketSize: 48 } });
    auth(c, 0x19, "P");
    auths.push(await c.expect("auth"));
    for (const a of auths) {
      assert.ok(wireSize(a) <= 48, `AUTH of ${wireSize(a)} bytes`);
      assert.equal(a.properties?.userProperties, undefined);
    }
    await broker.close();
  });
});

describe("conformance 5.0 4.12 enhanced authentication", () => {
  it("MQTT-4.12.0-1 (5.0) an Authentication Method no hook supports: CONNACK 0x8C, then close", async () => {
    const broker = testBroker({ hooks: [new ScriptedAuth("KNOWN", () => ({ result: "success" }))] });
    const c = RawClient.memory(broker, 5);
    connectWithAuth(c, "UNKNOWN-METHOD", "x");
    const ack = await c.expect("connack");
    assert.ok(ack.reasonCode === 0x8c || ack.reasonCode === 0x87, `0x${ack.reasonCode.toString(16)}`);
    assert.equal(await c.waitClosed(), true);
    assert.deepEqual(c.packets, []);
    await broker.close();
  });

  it("MQTT-4.12.0-2 (5.0) an AUTH asking for more data carries 0x18 with the method and the hook's data", async () => {
    const broker = testBroker({ hooks: [new ScriptedAuth("C2", challenges(2))] });
    const c = RawClient.memory(broker, 5);
    connectWithAuth(c, "C2", "hello");
    const a0 = await c.expect("auth");
    assert.equal(a0.reasonCode, 0x18);
    assert.equal(a0.properties?.authenticationMethod, "C2");
    assert.equal(text(a0.properties?.authenticationData), "challenge-0");
    auth(c, 0x18, "C2", "response-0");
    const a1 = await c.expect("auth");
    assert.equal(a1.reasonCode, 0x18);
    assert.equal(text(a1.properties?.authenticationData), "challenge-1");
    auth(c, 0x18, "C2", "response-1");
    assert.equal((await c.expect("connack")).reasonCode, 0);
    await broker.close();
  });

  for (const code of [0x00, 0x19]) {
    it(`MQTT-4.12.0-3 (5.0) a client AUTH of 0x${code.toString(16).padStart(2, "0")} during the exchange is refused: closed, not connected`, async () => {
      const hook = new ScriptedAuth("C3", challenges(1));
      const broker = testBroker({ hooks: [hook] });
      const c = RawClient.memory(broker, 5);
      connectWithAuth(c, "C3", "hello");
      await c.expect("auth");
      auth(c, code, "C3", "response-0");
      const packets = await drain(c);
      assert.equal(c.closed, true);
      for (const p of packets) assert.ok(p.cmd === "connack" && p.reasonCode >= 0x80, JSON.stringify(p));
      assert.equal(hook.steps.length, 1, "the hook never saw the bad AUTH");
      assert.equal(broker.connectedClients().next().done, true, "nobody connected");
      await broker.close();
    });
  }

  for (const round of [0, 1, 2]) {
    it(`MQTT-4.12.0-4 (5.0) a rejection at round ${round}: CONNACK 0x80 or above, then close`, async () => {
      const hook = new ScriptedAuth(
        "C4",
        (s) =>
          s.round === round
            ? { result: "fail", reasonCode: 0x86, reason: "no" }
            : { result: "continue", data: bytes("more") },
      );
      const broker = testBroker({ hooks: [hook] });
      const c = RawClient.memory(broker, 5);
      connectWithAuth(c, "C4", "hello");
      for (let i = 0; i < round; i++) {
        await c.expect("auth");
        auth(c, 0x18, "C4", "r");
      }
      const ack = await c.expect("connack");
      assert.equal(ack.reasonCode, 0x86);
      assert.equal(await c.waitClosed(), true);
      assert.deepEqual(c.packets, []);
      await broker.close();
    });
  }

  it("MQTT-4.12.0-4 (5.0) a rejection with no code given uses 0x87 Not authorized", async () => {
    const broker = testBroker({ hooks: [new ScriptedAuth("C5", () => ({ result: "fail" }))] });
    const c = RawClient.memory(broker, 5);
    connectWithAuth(c, "C5");
    const ack = await c.expect("connack");
    assert.equal(ack.reasonCode, 0x87);
    assert.equal(await c.waitClosed(), true);
    await broker.close();
  });

  it("MQTT-4.12.0-5 (5.0) every AUTH and the successful CONNACK carry the CONNECT's method unchanged", async () => {
    const method = "SCRAM-SHA-256/ü-日本";
    const broker = testBroker({ hooks: [new ScriptedAuth(method, challenges(2))] });
    const { c, auths, connack } = await authenticated(broker, method, 2);
    assert.deepEqual(auths.map((a) => a.properties?.authenticationMethod), [method, method]);
    assert.equal(connack.properties?.authenticationMethod, method);
    assert.equal(text(connack.properties?.authenticationData), "welcome", "the final data goes with CONNACK");
    auth(c, 0x19, method);
    const more = await c.expect("auth");
    assert.equal(more.properties?.authenticationMethod, method, "re-authentication too");
    await broker.close();
  });

  it("MQTT-4.12.0-6 (5.0) without an Authentication Method in CONNECT: no AUTH, no method in CONNACK", async () => {
    const hook = new ScriptedAuth("NONE", () => ({ result: "continue" }));
    const broker = testBroker({ hooks: [hook] });
    const c = RawClient.memory(broker, 5);
    const ack = await c.connect();
    assert.equal(ack.reasonCode, 0);
    assert.equal(ack.properties?.authenticationMethod, undefined);
    assert.equal(ack.properties?.authenticationData, undefined);
    c.send({ cmd: "pingreq" });
    await c.expect("pingresp");
    assert.deepEqual(c.packets, []);
    assert.equal(hook.steps.length, 0, "enhanced authentication was never started");
    await broker.close();
  });

  for (const code of [0x19, 0x18, 0x00]) {
    it(`MQTT-4.12.0-7 (5.0) an AUTH (0x${code.toString(16).padStart(2, "0")}) from a client that named no method is refused: DISCONNECT 0x82`, async () => {
      const hook = new ScriptedAuth("X", () => ({ result: "success" }));
      const broker = testBroker({ hooks: [hook] });
      const c = await v5Client(broker);
      auth(c, code, "X");
      await expectDisconnect(c, 0x82);
      assert.equal(hook.steps.length, 0);
      await broker.close();
    });
  }
});

describe("conformance 5.0 4.12.0 client AUTH outside an exchange", () => {
  it("MQTT-4.12.0-3 (5.0) an AUTH 0x18 on an authenticated connection with no exchange running is refused: DISCONNECT 0x82", async () => {
    const hook = new ScriptedAuth("NX", () => ({ result: "success" }));
    const broker = testBroker({ hooks: [hook] });
    const { c } = await authenticated(broker, "NX", 0);
    auth(c, 0x18, "NX", "unasked");
    await expectDisconnect(c, 0x82);
    assert.equal(hook.steps.length, 1, "the hook was not asked");
    await broker.close();
  });
});

describe("conformance 5.0 4.12.1 re-authentication", () => {
  for (const [why, method] of [["another method", "OTHER"], ["no method", undefined]] as const) {
    it(`MQTT-4.12.1-1 (5.0) re-authentication with ${why} is refused: DISCONNECT 0x82, close`, async () => {
      const hook = new ScriptedAuth("ORIG", () => ({ result: "success" }));
      const other = new ScriptedAuth("OTHER", () => ({ result: "success" }));
      const broker = testBroker({ hooks: [hook, other] });
      const { c } = await authenticated(broker, "ORIG", 0);
      auth(c, 0x19, method);
      await expectDisconnect(c, 0x82);
      assert.equal(hook.steps.length + other.steps.length, 1, "no hook was asked to re-authenticate");
      await broker.close();
    });
  }

  it("MQTT-4.12.1-1 (5.0) re-authentication with the original method succeeds: AUTH 0x00, the connection goes on", async () => {
    const hook = new ScriptedAuth("RE", challenges(1));
    const broker = testBroker({ hooks: [hook] });
    const { c } = await authenticated(broker, "RE", 1);
    await subscribeV5(c, [["re/t", { qos: 1 }]]);
    auth(c, 0x19, "RE", "again");
    const challenge = await c.expect("auth");
    assert.equal(challenge.reasonCode, 0x18);
    // Other traffic may flow during re-authentication.
    c.publish("re/t", "meanwhile", { qos: 1, messageId: 7 });
    const seen = [await c.next(), await c.next()].map((p) => p.cmd).sort();
    assert.deepEqual(seen, ["puback", "publish"]);
    auth(c, 0x18, "RE", "response-0");
    const done = await c.expect("auth");
    assert.equal(done.reasonCode, 0x00);
    assert.equal(done.properties?.authenticationMethod, "RE");
    assert.equal(
      text(done.properties?.authenticationData),
      "welcome",
      "the hook's final data goes with AUTH 0x00",
    );
    assert.deepEqual(hook.steps.map((s) => [s.reauthenticate, s.round]), [[false, 0], [false, 1], [true, 0], [
      true,
      1,
    ]]);
    c.send({ cmd: "pingreq" });
    await c.expect("pingresp");
    await broker.close();
  });

  for (const round of [0, 1]) {
    it(`MQTT-4.12.1-2 (5.0) a failed re-authentication (round ${round}) closes the connection after DISCONNECT 0x80 or above`, async () => {
      const broker = testBroker({
        hooks: [
          new ScriptedAuth("RF", (s) => {
            if (!s.reauthenticate) return { result: "success" };
            return s.round === round ? { result: "fail", reasonCode: 0x87 } : { result: "continue" };
          }),
        ],
      });
      const w = await watcher(broker, "will/t");
      const { c } = await authenticated(broker, "RF", 0, { will: WILL });
      auth(c, 0x19, "RF");
      for (let i = 0; i < round; i++) {
        await c.expect("auth");
        auth(c, 0x18, "RF");
      }
      await expectDisconnect(c, 0x87);
      assert.equal(
        (await w.expect("publish")).payload.toString(),
        "gone",
        "not a normal disconnection: the will goes",
      );
      await broker.close();
    });
  }

  it("MQTT-4.12.1-2 (5.0) a hook that throws during re-authentication ends the connection", async () => {
    const hook: Hook = {
      id: "throws",
      onEnhancedAuth(_client, step) {
        if (step.method !== "T") return undefined;
        if (step.reauthenticate) throw new MqttError(0x87, "hook failure");
        return { result: "success" };
      },
    };
    const broker = testBroker({ hooks: [hook] });
    const { c } = await authenticated(broker, "T", 0);
    auth(c, 0x19, "T");
    const packets = await drain(c);
    assert.equal(c.closed, true, "closed");
    for (const p of packets) assert.ok(p.cmd === "disconnect" && p.reasonCode >= 0x80, JSON.stringify(p));
    await broker.close();
  });
});
