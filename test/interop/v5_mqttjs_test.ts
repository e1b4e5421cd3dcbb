/**
 * Interop with MQTT.js (npm `mqtt`) speaking MQTT 5 (protocolVersion 5) over real TCP: properties go through the
 * broker unchanged, subscription options and identifiers work, shared subscriptions spread work, sessions expire
 * as asked, enhanced authentication runs, and v5 and 3.1.1 clients talk to each other.
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import mqtt from "mqtt";
import type { Broker } from "../../src/broker.ts";
import type { ClientInfo, EnhancedAuthResult, EnhancedAuthStep, Hook } from "../../src/hooks/hook.ts";
import { tcpBroker, until } from "../_helpers/broker.ts";

type MqttClient = Awaited<ReturnType<typeof mqtt.connectAsync>>;
// deno-lint-ignore no-explicit-any
type Packet = any;

interface Received {
  topic: string;
  payload: string;
  packet: Packet;
}

const decoder = new TextDecoder();

/** A challenge-response enhanced authentication for the method "demo": the answer to "2+2?" is "4". */
const demoAuth: Hook = {
  id: "demo-auth",
  onEnhancedAuth(_client: ClientInfo, step: EnhancedAuthStep): EnhancedAuthResult | undefined {
    if (step.method !== "demo") return undefined;
    if (step.round === 0) return { result: "continue", data: new TextEncoder().encode("2+2?") };
    return decoder.decode(step.data) === "4"
      ? { result: "success" }
      : { result: "fail", reason: "wrong answer" };
  },
};

describe("interop: MQTT.js with MQTT 5 over TCP", () => {
  let broker: Broker;
  let url: string;
  const clients: MqttClient[] = [];

  async function client(options: Record<string, unknown> = {}): Promise<MqttClient> {
    const c = await mqtt.connectAsync(url, {
      protocolVersion: 5,
      reconnectPeriod: 0,
      connectTimeout: 3000,
      ...options,
    });
    clients.push(c);
    return c;
  }

  /** Collect messages of a client from now on. */
  function inbox(c: MqttClient): Received[] {
    const got: Received[] = [];
    c.on("message", (topic: string, payload: Uint8Array, packet: Packet) => {
      got.push({ topic, payload: decoder.decode(payload), packet });
    });
    return got;
  }

  function nextMessage(c: MqttClient, ms = 3000): Promise<Received> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`No message within ${ms} ms`)), ms);
      c.once("message", (topic: string, payload: Uint8Array, packet: Packet) => {
        clearTimeout(timer);
        resolve({ topic, payload: decoder.decode(payload), packet });
      });
    });
  }

  before(async () => {
    const r = await tcpBroker({ hooks: [demoAuth], responseInformation: "resp/" });
    broker = r.broker;
    url = `mqtt://127.0.0.1:${r.port}`;
  });

  after(async () => {
    for (const c of clients) await c.endAsync(true).catch(() => {});
    await broker.close();
  });

  it("user properties, content type and payload format indicator reach a v5 subscriber unchanged", async () => {
    const sub = await client();
    await sub.subscribeAsync("js5/props", { qos: 1 });
    const pub = await client();
    const got = nextMessage(sub);
    await pub.publishAsync("js5/props", '{"t":21.5}', {
      qos: 1,
      properties: {
        userProperties: { unit: "celsius", sensor: ["a", "b"] },
        contentType: "application/json",
        payloadFormatIndicator: true,
      },
    });
    const m = await got;
    assert.equal(m.payload, '{"t":21.5}');
    assert.deepEqual({ ...m.packet.properties.userProperties }, { unit: "celsius", sensor: ["a", "b"] });
    assert.equal(m.packet.properties.contentType, "application/json");
    assert.equal(m.packet.properties.payloadFormatIndicator, true);
  });

  it("request/response: the responder answers on the Response Topic with the Correlation Data", async () => {
    const responder = await client();
    await responder.subscribeAsync("js5/rr/request", { qos: 1 });
    responder.on("message", (_topic: string, payload: Uint8Array, packet: Packet) => {
      const { responseTopic, correlationData } = packet.properties ?? {};
      if (responseTopic === undefined) return;
      responder.publish(responseTopic, `echo:${decoder.decode(payload)}`, {
        qos: 1,
        properties: { correlationData },
      });
    });
    const requester = await client({ properties: { requestResponseInformation: true } });
    const info = (requester as unknown as { connackPacket?: Packet }).connackPacket?.properties
      ?.responseInformation;
    const replyTo = `${info ?? "resp/"}js5/${Math.random().toString(16).slice(2, 8)}`;
    await requester.subscribeAsync(replyTo, { qos: 1 });
    const answers = inbox(requester);
    for (const id of ["req-1", "req-2", "req-3"]) {
      await requester.publishAsync("js5/rr/request", `ask ${id}`, {
        qos: 1,
        properties: { responseTopic: replyTo, correlationData: Buffer.from(id) },
      });
    }
    await until(() => answers.length === 3, 3000, "3 answers");
    const byId = answers.map((a) => [decoder.decode(a.packet.properties.correlationData), a.payload]).sort();
    assert.deepEqual(byId, [["req-1", "echo:ask req-1"], ["req-2", "echo:ask req-2"], [
      "req-3",
      "echo:ask req-3",
    ]]);
    for (const a of answers) assert.equal(a.topic, replyTo);
  });

  it("Response Information is returned in CONNACK when asked for", async () => {
    const c = await client({ properties: { requestResponseInformation: true } });
    const connack = (c as unknown as { connackPacket?: Packet }).connackPacket;
    assert.equal(connack?.properties?.responseInformation, "resp/");
  });

  it("Message Expiry: the interval left is forwarded, and an expired message is not delivered to a returning session", async () => {
    const sub = await client();
    await sub.subscribeAsync("js5/exp/live", { qos: 1 });
    const pub = await client();
    const got = nextMessage(sub);
    await pub.publishAsync("js5/exp/live", "fresh", { qos: 1, properties: { messageExpiryInterval: 60 } });
    const live = await got;
    assert.ok(
      live.packet.properties.messageExpiryInterval <= 60 &&
        live.packet.properties.messageExpiryInterval >= 59,
    );

    const id = `js5-exp-${Math.random().toString(16).slice(2, 8)}`;
    const offline = await client({ clientId: id, clean: false, properties: { sessionExpiryInterval: 60 } });
    await offline.subscribeAsync("js5/exp/off", { qos: 1 });
    await offline.endAsync();
    await pub.publishAsync("js5/exp/off", "short", { qos: 1, properties: { messageExpiryInterval: 1 } });
    await pub.publishAsync("js5/exp/off", "long", { qos: 1, properties: { messageExpiryInterval: 120 } });
    await new Promise((r) => setTimeout(r, 1200));
    const again = mqtt.connect(url, {
      protocolVersion: 5,
      clientId: id,
      clean: false,
      reconnectPeriod: 0,
      properties: { sessionExpiryInterval: 60 },
    });
    clients.push(again);
    const msgs = inbox(again);
    await until(() => msgs.length >= 1, 3000, "the queued message");
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(msgs.map((m) => m.payload), ["long"], "the 1 s message expired while queued");
    const left = msgs[0]!.packet.properties.messageExpiryInterval;
    assert.ok(left < 120 && left >= 117, `expiry interval reduced by the time queued: ${left}`);
  });

  it("subscription identifiers come back with each message (all matching ones in one delivery)", async () => {
    const sub = await client();
    await sub.subscribeAsync("js5/sid/+", { qos: 1, properties: { subscriptionIdentifier: 7 } });
    await sub.subscribeAsync("js5/sid/#", { qos: 1, properties: { subscriptionIdentifier: 300 } });
    const pub = await client();
    const got = nextMessage(sub);
    await pub.publishAsync("js5/sid/a", "x", { qos: 1 });
    const m = await got;
    const ids = [m.packet.properties.subscriptionIdentifier].flat().sort((a: number, b: number) => a - b);
    assert.deepEqual(ids, [7, 300]);
  });

  it("No Local: a client does not get its own message; Retain Handling 2: no retained message on subscribe", async () => {
    const me = await client();
    await me.publishAsync("js5/opts/state", "retained", { qos: 1, retain: true });
    const msgs = inbox(me);
    await me.subscribeAsync("js5/opts/#", { qos: 1, nl: true, rh: 2 });
    const other = await client();
    const got = nextMessage(other);
    await other.subscribeAsync("js5/opts/#", { qos: 1 });
    assert.equal((await got).payload, "retained", "control: Retain Handling 0 sends it");
    const otherGot = nextMessage(other);
    await me.publishAsync("js5/opts/live", "mine", { qos: 1 });
    assert.equal((await otherGot).payload, "mine");
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(msgs, [], "neither the retained message nor its own");
  });

  it("a shared subscription spreads messages across two MQTT.js clients, each message once", async () => {
    const a = await client();
    const b = await client();
    await a.subscribeAsync("$share/workers/js5/jobs", { qos: 1 });
    await b.subscribeAsync("$share/workers/js5/jobs", { qos: 1 });
    const ga = inbox(a);
    const gb = inbox(b);
    const pub = await client();
    for (let i = 0; i < 10; i++) await pub.publishAsync("js5/jobs", `job${i}`, { qos: 1 });
    await until(() => ga.length + gb.length === 10, 3000, "10 jobs");
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(ga.length + gb.length, 10, "no job twice");
    assert.equal(ga.length, 5, "round robin");
    assert.deepEqual(
      [...ga, ...gb].map((m) => m.payload).sort(),
      Array.from({ length: 10 }, (_, i) => `job${i}`).sort(),
    );
    for (const m of [...ga, ...gb]) assert.equal(m.topic, "js5/jobs");
  });

  it("session expiry: a session kept for 60 s is present on reconnect with its queued message; 0 s is not", async () => {
    const id = `js5-sess-${Math.random().toString(16).slice(2, 8)}`;
    const first = await client({ clientId: id, clean: false, properties: { sessionExpiryInterval: 60 } });
    await first.subscribeAsync("js5/sess", { qos: 1 });
    await first.endAsync();
    const pub = await client();
    await pub.publishAsync("js5/sess", "kept for you", { qos: 1 });
    const again = mqtt.connect(url, {
      protocolVersion: 5,
      clientId: id,
      clean: false,
      reconnectPeriod: 0,
      properties: { sessionExpiryInterval: 0 },
    });
    clients.push(again);
    const connack = new Promise<Packet>((resolve) => again.once("connect", resolve));
    const m = await nextMessage(again);
    assert.equal(m.payload, "kept for you");
    assert.equal((await connack).sessionPresent, true);
    await again.endAsync();
    const third = await client({ clientId: id, clean: false, properties: { sessionExpiryInterval: 0 } });
    const ack = (third as unknown as { connackPacket?: Packet }).connackPacket;
    assert.equal(ack?.sessionPresent, false, "the session ended with the last connection (interval 0)");
  });

  it("a v5 publisher reaches a 3.1.1 subscriber, and a 3.1.1 publisher reaches a v5 subscriber", async () => {
    const old = await client({ protocolVersion: 4 });
    await old.subscribeAsync("js5/mixed/to-v3", { qos: 1 });
    const v5 = await client();
    await v5.subscribeAsync("js5/mixed/to-v5", { qos: 1 });
    const toOld = nextMessage(old);
    await v5.publishAsync("js5/mixed/to-v3", "from v5", {
      qos: 1,
      properties: { userProperties: { k: "v" }, contentType: "text/plain", messageExpiryInterval: 30 },
    });
    const m3 = await toOld;
    assert.equal(m3.payload, "from v5");
    assert.equal(m3.packet.properties, undefined, "a 3.1.1 client gets no properties");
    const toNew = nextMessage(v5);
    await old.publishAsync("js5/mixed/to-v5", "from 3.1.1", { qos: 1 });
    const m5 = await toNew;
    assert.equal(m5.payload, "from 3.1.1");
    assert.equal(m5.packet.properties?.userProperties, undefined);
  });

  it("topic aliases: the broker assigns aliases to a client that accepts them, and accepts the client's own", async () => {
    const sub = await client({ properties: { topicAliasMaximum: 5 } });
    await sub.subscribeAsync("js5/alias/#", { qos: 1 });
    const msgs = inbox(sub);
    const pub = await client({ autoUseTopicAlias: true });
    for (let i = 0; i < 4; i++) await pub.publishAsync("js5/alias/long/topic/name", `a${i}`, { qos: 1 });
    await until(() => msgs.length === 4, 3000, "4 messages");
    assert.deepEqual(
      msgs.map((m) => [m.topic, m.payload]),
      [0, 1, 2, 3].map((i) => ["js5/alias/long/topic/name", `a${i}`]),
    );
    assert.equal(msgs[0]!.packet.properties?.topicAlias, 1, "the first delivery sets up alias 1");
    assert.equal(msgs[1]!.packet.properties?.topicAlias, 1, "later ones reuse it");
  });

  it("enhanced authentication: MQTT.js answers the broker's AUTH challenge and connects", async () => {
    const c = mqtt.connect(url, {
      protocolVersion: 5,
      reconnectPeriod: 0,
      properties: { authenticationMethod: "demo", authenticationData: Buffer.from("hi") },
    });
    clients.push(c);
    const challenges: string[] = [];
    c.handleAuth = (packet: Packet, callback: (err?: Error, packet?: Packet) => void) => {
      challenges.push(decoder.decode(packet.properties.authenticationData));
      callback(undefined, {
        cmd: "auth",
        reasonCode: 0x18,
        properties: { authenticationMethod: "demo", authenticationData: Buffer.from("4") },
      });
    };
    const connack = await new Promise<Packet>((resolve, reject) => {
      c.once("connect", resolve);
      c.once("error", reject);
    });
    assert.equal(connack.reasonCode ?? 0, 0);
    assert.equal(connack.properties?.authenticationMethod, "demo");
    assert.deepEqual(challenges, ["2+2?"]);
  });

  it("enhanced authentication: a wrong answer is refused with CONNACK 0x87", async () => {
    const c = mqtt.connect(url, {
      protocolVersion: 5,
      reconnectPeriod: 0,
      properties: { authenticationMethod: "demo" },
    });
    clients.push(c);
    c.handleAuth = (_packet: Packet, callback: (err?: Error, packet?: Packet) => void) => {
      callback(undefined, {
        cmd: "auth",
        reasonCode: 0x18,
        properties: { authenticationMethod: "demo", authenticationData: Buffer.from("5") },
      });
    };
    const err = await new Promise<Packet>((resolve) => c.once("error", resolve));
    assert.equal((err as { code?: number }).code, 0x87);
  });
});
