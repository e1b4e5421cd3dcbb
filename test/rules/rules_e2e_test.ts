/**
 * The rule engine end to end: a broker on a real TCP port, MQTT.js clients, an HTTP server started by the test.
 * Republish with templates, HTTP POST with retries and a dead endpoint that never blocks publishing, and the
 * three events.
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import mqtt from "mqtt";
import type { MqttClient } from "mqtt";
import { tcpBroker, until } from "../_helpers/broker.ts";
import type { Broker } from "../../src/broker.ts";
import { compileRule, type RuleConfig } from "../../src/rules/rule.ts";
import { RuleEngine } from "../../src/rules/rule_engine.ts";

interface Received {
  body: unknown;
  at: number;
}

/** An HTTP endpoint that answers the first `failFirst` requests with 500. */
async function httpSink(
  failFirst = 0,
): Promise<{ server: Server; url: string; received: Received[]; hits: () => number }> {
  const received: Received[] = [];
  let hits = 0;
  const server = createServer((req, res) => {
    let text = "";
    req.on("data", (c) => (text += c));
    req.on("end", () => {
      hits++;
      if (hits <= failFirst) {
        res.writeHead(500).end("not yet");
        return;
      }
      received.push({ body: JSON.parse(text), at: Date.now() });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}/hook`, received, hits: () => hits };
}

/** A TCP port that nobody listens on (bound, then closed). */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

describe("rules end to end", () => {
  let broker: Broker;
  let port: number;
  let engine: RuleEngine;
  let sink: Awaited<ReturnType<typeof httpSink>>;
  let flaky: Awaited<ReturnType<typeof httpSink>>;
  const clients: MqttClient[] = [];

  before(async () => {
    sink = await httpSink();
    flaky = await httpSink(2);
    const dead = await deadPort();
    const rules: RuleConfig[] = [
      {
        id: "hot",
        sql: 'SELECT payload.temp AS t, clientid, topic FROM "sensors/+/data" WHERE payload.temp > 30',
        actions: [
          { type: "republish", topic: "alerts/${clientid}", qos: 1, retain: false, payload: '{"t": ${t}}' },
          { type: "http", url: sink.url, method: "POST" },
        ],
      },
      {
        id: "flaky",
        sql: 'SELECT topic(2) AS level, payload FROM "flaky/#"',
        actions: [{ type: "http", url: flaky.url, method: "POST" }],
      },
      {
        id: "dead",
        sql: 'SELECT payload FROM "dead/#"',
        actions: [{ type: "http", url: `http://127.0.0.1:${dead}/x`, method: "POST" }],
      },
      {
        id: "events",
        sql:
          'SELECT event, clientid, reason, topic FROM "$events/client_connected", "$events/client_disconnected",\n' +
          "  \"$events/message_dropped\" WHERE clientid LIKE 'ev-%'",
        actions: [{ type: "republish", topic: "events/${event}/${clientid}", qos: 0, retain: false }],
      },
    ];
    ({ broker, port } = await tcpBroker());
    engine = new RuleEngine({
      rules: rules.map(compileRule),
      host: broker,
      http: { retryDelayMs: 50, timeoutMs: 1000 },
    });
    broker.addHook(engine);
  });

  after(async () => {
    for (const c of clients) c.end(true);
    await broker.close();
    await new Promise((r) => sink.server.close(r));
    await new Promise((r) => flaky.server.close(r));
  });

  async function client(id: string, options: mqtt.IClientOptions = {}): Promise<MqttClient> {
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
      clientId: id,
      reconnectPeriod: 0,
      ...options,
    });
    clients.push(c);
    return c;
  }

  it("republishes with templates and posts the selected fields; non-JSON and cold readings do not pass", async () => {
    const watcher = await client("watcher");
    const alerts: Array<[string, string]> = [];
    watcher.on("message", (t, p) => {
      if (t.startsWith("alerts/")) alerts.push([t, p.toString()]);
    });
    await watcher.subscribeAsync("alerts/#", { qos: 1 });
    const dev = await client("dev1");
    await dev.publishAsync("sensors/dev1/data", '{"temp": 31.5}', { qos: 1 });
    await dev.publishAsync("sensors/dev1/data", '{"temp": 20}', { qos: 1 });
    await dev.publishAsync("sensors/dev1/data", "not json at all", { qos: 1 });
    await dev.publishAsync("sensors/dev1/other", '{"temp": 99}', { qos: 1 });
    await until(() => alerts.length >= 1 && sink.received.length >= 1, 5000, "the alert and the HTTP post");
    assert.deepEqual(alerts, [["alerts/dev1", '{"t": 31.5}']]);
    assert.deepEqual(sink.received[0]!.body, { t: 31.5, clientid: "dev1", topic: "sensors/dev1/data" });
    const hot = engine.status().find((r) => r.id === "hot")!;
    assert.equal(hot.matched, 3);
    assert.equal(hot.passed, 1);
    assert.equal(hot.noResult, 2);
    assert.equal(hot.failed, 0);
    await until(() => engine.status().find((r) => r.id === "hot")!.actionSuccess === 2, 3000, "both actions");
  });

  it("retries an HTTP endpoint that fails twice, and gives up on a dead one without slowing publishers", async () => {
    const dev = await client("dev2");
    await dev.publishAsync("flaky/l2/x", "hello", { qos: 1 });
    await until(() => flaky.received.length === 1, 5000, "the third attempt");
    assert.equal(flaky.hits(), 3);
    assert.deepEqual(flaky.received[0]!.body, { level: "l2", payload: "hello" });
    assert.equal(engine.status().find((r) => r.id === "flaky")!.actionErrors, 0);

    const started = Date.now();
    for (let i = 0; i < 50; i++) await dev.publishAsync(`dead/${i}`, "x", { qos: 1 });
    const took = Date.now() - started;
    // 50 acknowledged round trips while every request fails and is retried: publishing never waits for HTTP.
    assert.ok(took < 3000, `50 QoS 1 publishes took ${took} ms`);
    await until(
      () => engine.status().find((r) => r.id === "dead")!.actionErrors === 50,
      10_000,
      "50 failures",
    );
    assert.equal(engine.status().find((r) => r.id === "dead")!.actionSuccess, 0);
  });

  it("events: client connected, disconnected, message dropped", async () => {
    const watcher = await client("watch-events");
    const seen: string[] = [];
    watcher.on("message", (t, p) => {
      if (t.startsWith("events/")) seen.push(`${t} ${JSON.parse(p.toString()).reason ?? ""}`.trim());
    });
    await watcher.subscribeAsync("events/#", { qos: 0 });
    // A persistent session that goes offline: a QoS 0 message for it is dropped.
    const sleeper = await client("ev-sleeper", { clean: false });
    await sleeper.subscribeAsync("for/sleeper", { qos: 0 });
    await sleeper.endAsync();
    const pub = await client("pub-ev");
    await pub.publishAsync("for/sleeper", "lost", { qos: 0 });
    await until(() => seen.length >= 3, 5000, "three events");
    assert.deepEqual(seen, [
      "events/client.connected/ev-sleeper",
      "events/client.disconnected/ev-sleeper normal",
      "events/message.dropped/ev-sleeper qos0-offline",
    ]);
  });
});
