/**
 * Conformance: CONNECT and CONNACK (MQTT 3.1.1 sections 3.1 and 3.2), one test per normative statement.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { RawClient } from "../_helpers/raw_client.ts";
import { testBroker, until } from "../_helpers/broker.ts";
import { DenyHook } from "../../src/hooks/auth/deny_hook.ts";
import type { Hook } from "../../src/hooks/hook.ts";

function connectBytes(flags: number, payload: number[], level = 4, name = "MQTT"): number[] {
  const nameBytes = [...new TextEncoder().encode(name)];
  const body = [0, nameBytes.length, ...nameBytes, level, flags, 0, 0, ...payload];
  return [0x10, body.length, ...body];
}

function str(s: string): number[] {
  const b = [...new TextEncoder().encode(s)];
  return [b.length >> 8, b.length & 0xff, ...b];
}

describe("conformance 3.1 CONNECT", () => {
  it("MQTT-3.1.0-1 a first packet other than CONNECT closes the connection", async () => {
    const broker = testBroker();
    const c = RawClient.memory(broker);
    c.send({ cmd: "pingreq" });
    assert.equal(await c.waitClosed(), true);
    assert.equal(c.packets.length, 0);
    await broker.close();
  });

  it("MQTT-3.1.0-2 a second CONNECT closes the connection", async () => {
    const broker = testBroker();
    const c = RawClient.memory(broker);
    await c.connect({ clientId: "twice" });
    c.send({
      cmd: "connect",
      protocolId: "MQTT",
      protocolVersion: 4,
      clientId: "twice",
      clean: true,
      keepalive: 0,
    });
    assert.equal(await c.waitClosed(), true);
    assert.equal(c.packets.length, 0);
    await broker.close();
  });

  it("MQTT-3.1.2-1 an unknown protocol name closes without CONNACK", async () => {
    const broker = testBroker();
    const c = RawClient.memory(broker);
    c.sendBytes(connectBytes(0x02, str("x"), 4, "MQTX"));
    assert.equal(await c.waitClosed(), true);
    assert.equal(c.packets.length, 0);
    await broker.close();
  });

  it("MQTT-3.1.2-2 an unsupported protocol level gets CONNACK 0x01 then close", async () => {
    const broker = testBroker();
    const c = RawClient.memory(broker);
    c.sendBytes(connectBytes(0x02, str("x"), 7));
    const ack = await c.expect("connack");
    assert.equal(ack.returnCode, 1);
    assert.equal(await c.waitClosed(), true);
    await broker.close();
  });

  it("MQTT-3.1.2-3 reserved connect flag bit 0 set closes the connection", async () => {
    const broker = testBroker();
    const c = RawClient.memory(broker);
    c.sendBytes(connectBytes(0x03, str("x")));
    assert.equal(await c.waitClosed(), true);
    assert.equal(c.packets.length, 0);
    await broker.close();
  });

  it("MQTT-3.1.2-4 MQTT-3.2.2-2 clean session 0 resumes the stored session with Session Present 1", async () => {
    const broker = testBroker();
    const a = RawClient.memory(broker);
    const first = await a.connect({ clientId: "keep", clean: false });
    assert.equal(first.sessionPresent, false);
    await a.subscribe("k/#", 1);
    a.destroy();
    await a.waitClosed();
    const b = RawClient.memory(broker);
    const ack = await b.connect({ clientId: "keep", clean: false });
    assert.equal(ack.sessionPresent, true);
    assert.equal(broker.getSession("keep")?.subscriptions.has("k/#"), true);
    await broker.close();
  });

  it("MQTT-3.1.2-5 QoS 1 and 2 messages are queued for a disconnected clean-session-0 client", async () => {
    const broker = testBroker();
    const a = RawClient.memory(broker);
    await a.connect({ clientId: "offline", clean: false });
    await a.subscribe("q/#", 2);
    a.disconnect();
    await a.waitClosed();
    const p = RawClient.memory(broker);
    await p.connect();
    p.publish("q/1", "one", { qos: 1, messageId: 1 });
    await p.expect("puback");
    p.publish("q/2", "two", { qos: 2, messageId: 2 });
    await p.expect("pubrec");
    p.publish("q/0", "zero", { qos: 0 });
    const b = RawClient.memory(broker);
    await b.connect({ clientId: "offline", clean: false });
    const m1 = await b.expect("publish");
    const m2 = await b.expect("publish");
    assert.deepEqual([m1.topic, m1.qos, m2.topic, m2.qos], ["q/1", 1, "q/2", 2]);
    assert.deepEqual(await b.collect(50), [], "QoS 0 is not queued for an offline session");
    await broker.close();
  });

  it("MQTT-3.1.2-6 MQTT-3.2.2-1 clean session 1 discards the earlier session, Session Present 0", async () => {
    const broker = testBroker();
    const a = RawClient.memory(broker);
    await a.connect({ clientId: "fresh", clean: false });
    await a.subscribe("f/#", 1);
    a.destroy();
    await a.waitClosed();
    const b = RawClient.memory(broker);
    const ack = await b.connect({ clientId: "fresh", clean: true });
    assert.equal(ack.sessionPresent, false);
    assert.equal(broker.getSession("fresh")?.subscriptions.size, 0);
    b.disconnect();
    await b.waitClosed();
    assert.equal(broker.getSession("fresh"), undefined, "a clean session ends with its connection");
    await broker.close();
  });

  it("MQTT-3.1.2-7 retained messages survive the end of the publisher's session", async () => {
    const broker = testBroker();
    const a = RawClient.memory(broker);
    await a.connect({ clientId: "pub", clean: true });
    a.publish("r/t", "kept", { retain: true, qos: 1, messageId: 3 });
    await a.expect("puback");
    a.disconnect();
    await a.waitClosed();
    const b = RawClient.memory(broker);
    await b.connect();
    await b.subscribe("r/t", 1);
    const m = await b.expect("publish");
    assert.equal(m.payload.toString(), "kept");
    assert.equal(m.retain, true);
    await broker.close();
  });

  it("MQTT-3.1.2-8 MQTT-3.1.2-16 the will is published, not retained, when the connection drops", async () => {
    const broker = testBroker();
    const sub = RawClient.memory(broker);
    await sub.connect();
    await sub.subscribe("will/#", 1);
    const c = RawClient.memory(broker);
    await c.connect({ will: { topic: "will/a", payload: "gone", qos: 1, retain: false } });
    c.destroy();
    const m = await sub.expect("publish");
    assert.equal(m.topic, "will/a");
    assert.equal(m.payload.toString(), "gone");
    assert.equal(m.retain, false);
    assert.equal(broker.getRetained("will/a"), undefined);
    await broker.close();
  });

  it("MQTT-3.1.2-17 a will with retain set is published as retained", async () => {
    const broker = testBroker();
    const c = RawClient.memory(broker);
    await c.connect({ will: { topic: "will/r", payload: "bye", qos: 0, retain: true } });
    c.destroy();
    await until(() => broker.getRetained("will/r") !== undefined, 1000, "retained will");
    const s = RawClient.memory(broker);
    await s.connect();
    await s.subscribe("will/r", 0);
    const m = await s.expect("publish");
    assert.equal(m.retain, true);
    assert.equal(m.payload.toString(), "bye");
    await broker.close();
  });

  it("MQTT-3.1.2-10 MQTT-3.14.4-3 after DISCONNECT the will is discarded", async () => {
    const broker = testBroker();
    const sub = RawClient.memory(broker);
    await sub.connect();
    await sub.subscribe("will/#", 0);
    const c = RawClient.memory(broker);
    await c.connect({ will: { topic: "will/d", payload: "x", qos: 0, retain: false } });
    c.disconnect();
    await c.waitClosed();
    assert.deepEqual(await sub.collect(80), []);
    await broker.close();
  });

  it("MQTT-3.1.2-12 with no will flag nothing is published when the connection drops", async () => {
    const broker = testBroker();
    const sub = RawClient.memory(broker);
    await sub.connect();
    await sub.subscribe("#", 0);
    const c = RawClient.memory(broker);
    await c.connect();
    c.destroy();
    await c.waitClosed();
    assert.deepEqual(await sub.collect(80), []);
    await broker.close();
  });

  for (
    const [id, flags, why] of [
      ["MQTT-3.1.2-11", 0x22, "will retain without will flag"],
      ["MQTT-3.1.2-13", 0x0a, "will QoS without will flag"],
      ["MQTT-3.1.2-14", 0x1e, "will QoS 3"],
      ["MQTT-3.1.2-15", 0x20 | 0x02, "will retain without will flag (clean)"],
    ] as const
  ) {
    it(`${id} ${why} is refused by closing the connection`, async () => {
      const broker = testBroker();
      const c = RawClient.memory(broker);
      const willPart = flags & 0x04 ? [...str("w"), ...str("m")] : [];
      c.sendBytes(connectBytes(flags, [...str("id1"), ...willPart]));
      assert.equal(await c.waitClosed(), true);
      assert.equal(c.packets.length, 0);
      await broker.close();
    });
  }

  it("MQTT-3.1.2-9 MQTT-3.1.3-1 a will flag without will topic and message is refused", async () => {
    const broker = testBroker();
    const c = RawClient.memory(broker);
    c.sendBytes(connectBytes(0x06, str("id2")));
    assert.equal(await c.waitClosed(), true);
    assert.equal(c.packets.length, 0);
    await broker.close();
  });

  it("MQTT-3.1.2-18 User Name Flag 0 with a user name in the payload is refused: closed, no CONNACK", async () => {
    const broker = testBroker();
    const c = RawClient.memory(broker);
    c.sendBytes(connectBytes(0x02, [...str("id18"), ...str("user")]));
    assert.equal(await c.waitClosed(), true);
    assert.equal(c.packets.length, 0);
    assert.equal(broker.connectedCount(), 0);
    await broker.close();
  });

  it("MQTT-3.1.2-20 Password Flag 0 with a password in the payload is refused: closed, no CONNACK", async () => {
    const broker = testBroker();
    const c = RawClient.memory(broker);
    c.sendBytes(connectBytes(0x82, [...str("id20"), ...str("user"), ...str("secret")]));
    assert.equal(await c.waitClosed(), true);
    assert.equal(c.packets.length, 0);
    assert.equal(broker.connectedCount(), 0);
    await broker.close();
  });

  it("MQTT-3.1.2-19 a user name flag without a user name is refused", async () => {
    const broker = testBroker();
    const c = RawClient.memory(broker);
    c.sendBytes(connectBytes(0x82, str("id3")));
    assert.equal(await c.waitClosed(), true);
    assert.equal(c.packets.length, 0);
    await broker.close();
  });

  it("MQTT-3.1.2-21 a password flag without a password is refused", async () => {
    const broker = testBroker();
    const c = RawClient.memory(broker);
    c.sendBytes(connectBytes(0xc2, [...str("id4"), ...str("user")]));
    assert.equal(await c.waitClosed(), true);
    assert.equal(c.packets.length, 0);
    await broker.close();
  });

  it("MQTT-3.1.2-22 a password without a user name is refused", async () => {
    const broker = testBroker();
    const c = RawClient.memory(broker);
    c.sendBytes(connectBytes(0x42, [...str("id5"), ...str("secret")]));
    assert.equal(await c.waitClosed(), true);
    assert.equal(c.packets.length, 0);
    await broker.close();
  });

  it("MQTT-3.1.2-24 no packet within 1.5 x keep-alive closes the connection and sends the will", async () => {
    const broker = testBroker();
    const sub = RawClient.memory(broker);
    await sub.connect();
    await sub.subscribe("ka/#", 0);
    const c = RawClient.memory(broker);
    await c.connect({ keepalive: 1, will: { topic: "ka/will", payload: "timeout", qos: 0, retain: false } });
    const started = Date.now();
    assert.equal(await c.waitClosed(3000), true);
    const waited = Date.now() - started;
    assert.ok(waited >= 1400, `closed after ${waited} ms, before 1.5 x keep-alive`);
    const m = await sub.expect("publish");
    assert.equal(m.topic, "ka/will");
    await broker.close();
  });

  it("MQTT-3.1.3-2 MQTT-3.1.3-5 session state is keyed on a 1..23 character alphanumeric client id", async () => {
    const broker = testBroker();
    const id = "ABCdef0123456789xyzQRST";
    const c = RawClient.memory(broker);
    const ack = await c.connect({ clientId: id, clean: false });
    assert.equal(ack.returnCode, 0);
    assert.equal(broker.getSession(id)?.clientId, id);
    await broker.close();
  });

  it("MQTT-3.1.3-6 an empty client id with clean session gets a unique generated id", async () => {
    const broker = testBroker();
    const a = RawClient.memory(broker);
    const b = RawClient.memory(broker);
    assert.equal((await a.connect({ clientId: "" })).returnCode, 0);
    assert.equal((await b.connect({ clientId: "" })).returnCode, 0);
    const ids = [...broker.connectedClients()].map((c) => c.id);
    assert.equal(ids.length, 2);
    assert.notEqual(ids[0], ids[1]);
    assert.ok(ids.every((id) => id.length > 0));
    await broker.close();
  });

  it("MQTT-3.1.3-8 MQTT-3.1.3-9 an empty client id with clean session 0 gets CONNACK 0x02 and close", async () => {
    const broker = testBroker();
    const c = RawClient.memory(broker);
    c.sendBytes(connectBytes(0x00, str("")));
    const ack = await c.expect("connack");
    assert.equal(ack.returnCode, 2);
    assert.equal(ack.sessionPresent, false);
    assert.equal(await c.waitClosed(), true);
    await broker.close();
  });

  it("MQTT-3.1.3-4 MQTT-1.5.3-1 a client id with ill-formed UTF-8 closes without CONNACK", async () => {
    const broker = testBroker();
    const c = RawClient.memory(broker);
    c.sendBytes(connectBytes(0x02, [0, 3, 0x61, 0xed, 0xa0]));
    assert.equal(await c.waitClosed(), true);
    assert.equal(c.packets.length, 0);
    await broker.close();
  });

  it("MQTT-3.1.3-3 a CONNECT whose payload lacks the client id closes without CONNACK", async () => {
    const broker = testBroker();
    const c = RawClient.memory(broker);
    c.sendBytes(connectBytes(0x02, []));
    assert.equal(await c.waitClosed(), true);
    assert.equal(c.packets.length, 0);
    await broker.close();
  });

  for (
    const [why, bytes] of [
      ["a lone continuation byte", [0x61, 0x2f, 0x80]],
      ["an overlong encoding of '/'", [0x61, 0xc0, 0xaf]],
      ["a UTF-16 surrogate (U+D800)", [0x61, 0xed, 0xa0, 0x80]],
      ["a byte that never occurs in UTF-8", [0xff, 0x61]],
    ] as const
  ) {
    it(`MQTT-3.1.3-10 a will topic that is not valid UTF-8 (${why}) is refused: closed, no CONNACK`, async () => {
      const broker = testBroker();
      const watcher = RawClient.memory(broker);
      await watcher.connect();
      await watcher.subscribe("#", 0);
      const c = RawClient.memory(broker);
      const topic = [bytes.length >> 8, bytes.length & 0xff, ...bytes];
      c.sendBytes(connectBytes(0x06, [...str("w10"), ...topic, ...str("bye")])); // clean session, will flag
      assert.equal(await c.waitClosed(), true);
      assert.equal(c.packets.length, 0);
      assert.deepEqual(await watcher.collect(30), [], "no will was published");
      await broker.close();
    });
  }

  it("MQTT-3.3.2-2 a will topic with a wildcard is refused (it would be a PUBLISH Topic Name)", async () => {
    const broker = testBroker();
    const c = RawClient.memory(broker);
    c.send({
      cmd: "connect",
      protocolId: "MQTT",
      protocolVersion: 4,
      clientId: "w",
      clean: true,
      keepalive: 0,
      will: { topic: "a/+", payload: "x", qos: 0, retain: false },
    });
    assert.equal(await c.waitClosed(), true);
    assert.equal(c.packets.length, 0);
    await broker.close();
  });

  it("MQTT-3.1.3-11 a user name with ill-formed UTF-8 closes without CONNACK", async () => {
    const broker = testBroker();
    const c = RawClient.memory(broker);
    c.sendBytes(connectBytes(0x82, [...str("u1"), 0, 2, 0xc3, 0x28]));
    assert.equal(await c.waitClosed(), true);
    assert.equal(c.packets.length, 0);
    await broker.close();
  });

  it("MQTT-3.1.4-1 a non-conformant CONNECT is closed without any CONNACK", async () => {
    const broker = testBroker();
    const c = RawClient.memory(broker);
    c.sendBytes([0x10, 0x04, 0x00, 0x04, 0x4d, 0x51]);
    assert.equal(await c.waitClosed(), true);
    assert.equal(c.packets.length, 0);
    await broker.close();
  });

  it("MQTT-3.1.4-2 a second client with the same id takes over and the first is disconnected", async () => {
    const broker = testBroker();
    const a = RawClient.memory(broker);
    await a.connect({ clientId: "dup" });
    const b = RawClient.memory(broker);
    const ack = await b.connect({ clientId: "dup" });
    assert.equal(ack.returnCode, 0);
    assert.equal(await a.waitClosed(), true);
    assert.equal(broker.getClient("dup") !== undefined, true);
    b.send({ cmd: "pingreq" });
    await b.expect("pingresp");
    await broker.close();
  });

  it("MQTT-3.1.4-3 MQTT-3.1.4-4 MQTT-3.2.0-1 a valid CONNECT is answered first by CONNACK 0", async () => {
    const broker = testBroker();
    const c = RawClient.memory(broker);
    const first = await c.connect({ clientId: "ok" });
    assert.equal(first.cmd, "connack");
    assert.equal(first.returnCode, 0);
    await broker.close();
  });

  it("MQTT-3.1.4-5 MQTT-3.2.2-4 MQTT-3.2.2-5 after a refused CONNECT nothing else is processed", async () => {
    const broker = testBroker({ auth: new DenyHook() });
    const c = RawClient.memory(broker);
    c.send({
      cmd: "connect",
      protocolId: "MQTT",
      protocolVersion: 4,
      clientId: "no",
      clean: true,
      keepalive: 0,
    });
    c.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "a", qos: 0 }] });
    c.send({ cmd: "pingreq" });
    const ack = await c.expect("connack");
    assert.equal(ack.returnCode, 5);
    assert.equal(ack.sessionPresent, false);
    assert.equal(await c.waitClosed(), true);
    assert.deepEqual(c.packets, []);
    await broker.close();
  });

  it("MQTT-3.2.2-3 clean session 0 with no stored session gets Session Present 0", async () => {
    const broker = testBroker();
    const c = RawClient.memory(broker);
    const ack = await c.connect({ clientId: "new-persistent", clean: false });
    assert.equal(ack.sessionPresent, false);
    assert.equal(ack.returnCode, 0);
    await broker.close();
  });

  it("MQTT-3.2.2-6 when no return code fits, the connection is closed without CONNACK", async () => {
    const { MqttError } = await import("../../src/errors.ts");
    const refuser: Hook = {
      id: "refuse-odd",
      onConnect() {
        throw new MqttError(0x99, "payload format invalid has no 3.1.1 code");
      },
    };
    const broker = testBroker({ hooks: [refuser] });
    const c = RawClient.memory(broker);
    c.send({
      cmd: "connect",
      protocolId: "MQTT",
      protocolVersion: 4,
      clientId: "x",
      clean: true,
      keepalive: 0,
    });
    assert.equal(await c.waitClosed(), true);
    assert.equal(c.packets.length, 0);
    await broker.close();
  });

  it("bad user name or password gets CONNACK 0x04, no credentials and no auth gets 0x05", async () => {
    const broker = testBroker({ auth: null });
    const c = RawClient.memory(broker);
    const ack = await c.connect({ username: "u", password: Buffer.from("p") });
    assert.equal(ack.returnCode, 4);
    const d = RawClient.memory(broker);
    const ack2 = await d.connect();
    assert.equal(ack2.returnCode, 5, "the library denies every client unless an auth hook allows it");
    await broker.close();
  });

  it("MQTT 3.1 (MQIsdp, level 3) clients connect", async () => {
    const broker = testBroker();
    const c = RawClient.memory(broker, 3);
    const ack = await c.connect({ clientId: "old" });
    assert.equal(ack.returnCode, 0);
    await broker.close();
  });

  it("the connect timeout closes a socket that never sends CONNECT", async () => {
    const broker = testBroker({ limits: { connectTimeout: 0 } });
    const c = RawClient.memory(broker);
    assert.equal(await c.waitClosed(1000), true);
    await broker.close();
  });

  it("a keep-alive above maxKeepAlive is refused for a 3.1.1 client", async () => {
    const broker = testBroker({ limits: { maxKeepAlive: 60 } });
    const c = RawClient.memory(broker);
    const ack = await c.connect({ keepalive: 61 });
    assert.equal(ack.returnCode, 2);
    await broker.close();
  });

  it("maxConnections refuses the next client with CONNACK 0x03", async () => {
    const broker = testBroker({ limits: { maxConnections: 1 } });
    const a = RawClient.memory(broker);
    assert.equal((await a.connect()).returnCode, 0);
    const b = RawClient.memory(broker);
    assert.equal((await b.connect()).returnCode, 3);
    await broker.close();
  });
});

import { Buffer } from "node:buffer";
