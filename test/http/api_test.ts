/**
 * The HTTP API on a real server: the running runtime's adapter (Deno.serve, Bun.serve or @hono/node-server) on
 * 127.0.0.1:0, a broker on real TCP, MQTT.js clients. The same file runs under deno, bun and node.
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { runtimeName } from "../../adapters/mod.ts";
import type { Dashboard, MqttClient } from "./_dashboard.ts";
import { EventReader, eventually, json, nextMessage, send, startDashboard } from "./_dashboard.ts";

const TOKEN = "dashboard-token-0123456789";

describe("HTTP API", () => {
  let d: Dashboard;
  let alice: MqttClient;
  let bob: MqttClient;
  let sensor: MqttClient;

  before(async () => {
    d = await startDashboard({
      config: {
        http: { host: "127.0.0.1", port: 0, auth: { token: TOKEN } },
        cluster: { url: "nats://u:pw@h:4222" },
      },
    });
    alice = await d.client({
      clientId: "alice-laptop",
      username: "alice",
      protocolVersion: 5,
      keepalive: 30,
    });
    bob = await d.client({ clientId: "bob-phone", username: "bob", protocolVersion: 4, keepalive: 45 });
    sensor = await d.client({ clientId: "sensor-7", protocolVersion: 4, keepalive: 0 });
    await alice.subscribeAsync("home/+/temp", { qos: 1 });
    await alice.subscribeAsync("alerts/#", { qos: 0 });
    await bob.subscribeAsync("home/kitchen/temp", { qos: 0 });
  });

  after(async () => {
    await d.close();
  });

  it("healthz, readyz, JSON 404s and security headers", async () => {
    assert.deepEqual(await json(d.fetch("/healthz")), { status: "ok" });
    assert.deepEqual(await json(d.fetch("/readyz")), { status: "ready" });
    d.http.ready = false;
    const notReady = await json(d.fetch("/readyz"), 503);
    assert.equal(notReady.status, 503);
    d.http.ready = true;
    const missing = await d.fetch("/api/v1/nope");
    assert.equal(missing.headers.get("content-type"), "application/json");
    assert.deepEqual(await json(missing, 404), {
      status: 404,
      error: "Not Found",
      message: "No API route GET /api/v1/nope",
    });
    assert.equal((await json(d.fetch("/nowhere"), 404)).message, "Nothing at GET /nowhere");
    const page = await d.fetch("/");
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type") ?? "", /^text\/html/);
    assert.match(page.headers.get("content-security-policy") ?? "", /script-src 'self'/);
    assert.equal(page.headers.get("x-frame-options"), "DENY");
    const html = await page.text();
    assert.match(html, /<script src="assets\/dashboard.js" defer><\/script>/);
    assert.doesNotMatch(html, /https?:\/\//, "the page loads nothing from elsewhere");
    for (
      const [path, type] of [["/assets/dashboard.js", /javascript/], [
        "/assets/dashboard.css",
        /text\/css/,
      ]] as const
    ) {
      const r = await d.fetch(path);
      assert.equal(r.status, 200);
      assert.match(r.headers.get("content-type") ?? "", type);
      assert.doesNotMatch(
        await r.text(),
        /https?:\/\/(?!www\.w3\.org)/,
        `${path} references nothing outside`,
      );
    }
  });

  it("GET /overview: version, runtime, listeners, counters, rates, $SYS values", async () => {
    const o = await json(d.fetch("/api/v1/overview"));
    assert.equal(o.version, d.broker.version);
    assert.equal(o.runtime.name, runtimeName());
    assert.deepEqual(o.listeners, [{
      id: "tcp",
      protocol: "tcp",
      address: d.mqttUrl.slice("mqtt://".length),
    }]);
    assert.equal(o.counters.clientsConnected, 3);
    assert.equal(o.counters.subscriptions, 3);
    assert.equal(o.counters.sessions, 3);
    assert.equal(typeof o.rates.messagesIn, "number");
    assert.equal(o.sys["$SYS/broker/clients/connected"], "3");
    assert.equal(o.capabilities.maximumQoS, 2);
    assert.equal(o.history.intervalMs, 100);
    assert.ok(Date.parse(o.startedAt) <= Date.now());
  });

  it("GET /clients lists clients with their details, searches id and username, and pages", async () => {
    const all = await json(d.fetch("/api/v1/clients"));
    assert.equal(all.total, 3);
    assert.deepEqual(all.items.map((c: any) => c.clientId), ["alice-laptop", "bob-phone", "sensor-7"]);
    const a = all.items[0];
    assert.equal(a.username, "alice");
    assert.equal(a.protocolVersion, 5);
    assert.equal(a.keepAlive, 30);
    assert.equal(a.subscriptions, 2);
    assert.equal(a.inflight, 0);
    assert.equal(a.queued, 0);
    assert.equal(a.listener, "tcp");
    assert.match(a.address, /^127\.0\.0\.1:\d+$/);
    assert.ok(Math.abs(Date.parse(a.connectedAt) - Date.now()) < 60_000);
    assert.equal(all.items[2].username, null);
    assert.equal(all.items[2].keepAlive, 0);

    const byQ = await json(d.fetch("/api/v1/clients?q=PHONE"));
    assert.deepEqual(
      byQ.items.map((c: any) => c.clientId),
      ["bob-phone"],
      "q is case-insensitive, on the id",
    );
    const byUser = await json(d.fetch("/api/v1/clients?q=alice"));
    assert.deepEqual(byUser.items.map((c: any) => c.clientId), ["alice-laptop"]);
    const onlyUser = await json(d.fetch("/api/v1/clients?username=bo"));
    assert.deepEqual(onlyUser.items.map((c: any) => c.clientId), ["bob-phone"]);
    const none = await json(d.fetch("/api/v1/clients?clientId=nobody"));
    assert.deepEqual(none, { total: 0, offset: 0, limit: 50, items: [] });

    const page1 = await json(d.fetch("/api/v1/clients?limit=2"));
    const page2 = await json(d.fetch("/api/v1/clients?limit=2&offset=2"));
    assert.deepEqual([page1.total, page1.items.length, page2.total, page2.items.length], [3, 2, 3, 1]);
    assert.equal(page2.items[0].clientId, "sensor-7");
    const bad = await json(d.fetch("/api/v1/clients?limit=0"), 400);
    assert.equal(bad.message, 'Cannot read limit="0": expected a whole number from 1 to 500');
  });

  it("GET /clients/:id shows one client with its session and subscriptions; messages in are counted", async () => {
    await sensor.publishAsync("home/garden/temp", "19", { qos: 1 });
    await sensor.publishAsync("home/garden/temp", "20", { qos: 0 });
    const detail = await eventually(
      async () => {
        const r = await json(d.fetch("/api/v1/clients/sensor-7"));
        return r.client.messagesIn === 2 ? r : undefined;
      },
      3000,
      "sensor-7 to have 2 messages in",
    );
    assert.equal(detail.connected, true);
    assert.equal(detail.client.payloadBytesIn, 4);
    assert.equal(detail.client.hasWill, false);
    const a = await json(d.fetch("/api/v1/clients/" + encodeURIComponent("alice-laptop")));
    assert.deepEqual(a.session.subscriptions.map((s: any) => [s.filter, s.qos]), [["home/+/temp", 1], [
      "alerts/#",
      0,
    ]]);
    assert.equal(a.session.connected, true);
    const missing = await json(d.fetch("/api/v1/clients/ghost"), 404);
    assert.equal(missing.message, 'No client or session "ghost"');
  });

  it("GET /subscriptions filters by text, client and matching topic, and pages", async () => {
    const all = await json(d.fetch("/api/v1/subscriptions"));
    assert.equal(all.total, 3);
    assert.deepEqual(all.items.map((s: any) => `${s.filter} ${s.clientId} ${s.qos}`), [
      "alerts/# alice-laptop 0",
      "home/+/temp alice-laptop 1",
      "home/kitchen/temp bob-phone 0",
    ]);
    const home = await json(d.fetch("/api/v1/subscriptions?filter=home"));
    assert.equal(home.total, 2);
    const topic = await json(
      d.fetch("/api/v1/subscriptions?topic=" + encodeURIComponent("home/kitchen/temp")),
    );
    assert.deepEqual(topic.items.map((s: any) => s.clientId), ["alice-laptop", "bob-phone"]);
    const bobs = await json(d.fetch("/api/v1/subscriptions?clientId=bob"));
    assert.deepEqual(bobs.items.map((s: any) => s.filter), ["home/kitchen/temp"]);
    const paged = await json(d.fetch("/api/v1/subscriptions?limit=1&offset=1"));
    assert.deepEqual([paged.total, paged.items[0].filter], [3, "home/+/temp"]);
  });

  it("retained messages: list by topic filter, read and delete one (topics with slashes, empty levels)", async () => {
    const pub = await d.client({ clientId: "retainer" });
    for (
      const [topic, payload] of [["sensors/a/temp", "21"], ["sensors/b/temp", "22"], [
        "/lead//odd level",
        "x",
      ]]
    ) {
      await pub.publishAsync(topic, payload, { retain: true, qos: 1 });
    }
    await pub.publishAsync("sensors/bin", Buffer.from([0xff, 0xfe]), { retain: true, qos: 1 });
    const temps = await json(d.fetch("/api/v1/retained?filter=" + encodeURIComponent("sensors/+/temp")));
    assert.equal(temps.total, 2);
    assert.deepEqual(temps.items.map((m: any) => [m.topic, m.payload, m.qos, m.size]), [
      ["sensors/a/temp", "21", 1, 2],
      ["sensors/b/temp", "22", 1, 2],
    ]);
    const all = await json(d.fetch("/api/v1/retained"));
    assert.equal(all.filter, "#");
    assert.ok(all.items.every((m: any) => !m.topic.startsWith("$")), "# leaves $SYS out");
    const bin = await json(d.fetch("/api/v1/retained/" + encodeURIComponent("sensors/bin")));
    assert.deepEqual([bin.payload, bin.payloadEncoding], ["//4=", "base64"]);
    const odd = "/lead//odd level";
    assert.equal((await json(d.fetch("/api/v1/retained/" + encodeURIComponent(odd)))).payload, "x");
    assert.deepEqual(await json(d.fetch("/api/v1/retained/" + encodeURIComponent(odd), send("DELETE"))), {
      deleted: true,
      topic: odd,
    });
    assert.equal(d.broker.getRetained(odd), undefined);
    const again = await json(d.fetch("/api/v1/retained/" + encodeURIComponent(odd), send("DELETE")), 404);
    assert.equal(again.message, `Cannot delete the retained message of "${odd}": there is none`);
    const bad = await json(d.fetch("/api/v1/retained?filter=" + encodeURIComponent("a/#/b")), 400);
    assert.match(bad.message, /^Cannot list retained messages: /);
  });

  it("POST /publish delivers to subscribers, retains on request, and refuses bad input with 400/415", async () => {
    const got = nextMessage(bob);
    const ok = await json(
      d.fetch("/api/v1/publish", send("POST", { topic: "home/kitchen/temp", payload: "23.5", qos: 1 })),
    );
    assert.deepEqual(ok, { published: true, topic: "home/kitchen/temp", qos: 1, retain: false, size: 4 });
    const m = await got;
    assert.deepEqual([m.topic, m.payload], ["home/kitchen/temp", "23.5"]);

    await json(
      d.fetch(
        "/api/v1/publish",
        send("POST", {
          topic: "cfg/b64",
          payload: btoa("\x00\x01"),
          payloadEncoding: "base64",
          retain: true,
        }),
      ),
    );
    assert.deepEqual([...d.broker.getRetained("cfg/b64")!.payload], [0, 1]);

    const cases: [unknown, number, RegExp][] = [
      [{ payload: "x" }, 400, /"topic" must be a non-empty string/],
      [{ topic: "a/+", payload: "x" }, 400, /^Cannot publish: /],
      [{ topic: "a", qos: 3 }, 400, /"qos" must be 0, 1 or 2, received 3/],
      [{ topic: "a", retain: "yes" }, 400, /"retain" must be true or false/],
      [{ topic: "a", payload: 5 }, 400, /"payload" must be a string/],
      [{ topic: "a", payload: "%%%", payloadEncoding: "base64" }, 400, /not valid base64/],
      [[1, 2], 400, /expected a JSON object/],
    ];
    for (const [body, status, message] of cases) {
      const r = await json(d.fetch("/api/v1/publish", send("POST", body)), status);
      assert.match(r.message, message);
    }
    const malformed = await json(
      d.fetch("/api/v1/publish", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{",
      }),
      400,
    );
    assert.match(malformed.message, /^Cannot read the JSON body/);
    const form = await json(
      d.fetch("/api/v1/publish", { method: "POST", body: new URLSearchParams({ topic: "a" }) }),
      415,
    );
    assert.match(form.message, /send application\/json/);
    const huge = await d.fetch(
      "/api/v1/publish",
      send("POST", { topic: "a", payload: "x".repeat(2 * 1024 * 1024) }),
    );
    assert.equal(huge.status, 413);
    assert.equal((await huge.json()).status, 413);
  });

  it("GET /config shows the effective config with secrets masked", async () => {
    assert.deepEqual(await json(d.fetch("/api/v1/config")), {
      http: { host: "127.0.0.1", port: 0, auth: { token: "********" } },
      cluster: { url: "nats://u:********@h:4222" },
    });
  });

  it("GET /metrics speaks the Prometheus text format", async () => {
    const r = await d.fetch("/metrics");
    assert.equal(r.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    const text = await r.text();
    assert.match(text, /^comqtt_clients_connected \d+$/m);
    assert.match(text, /^comqtt_messages_in_total\{qos="1"\} [1-9]\d*$/m);
    assert.match(text, /^comqtt_api_messages_in_total\{qos="1"\} [1-9]\d*$/m);
    assert.match(text, /^comqtt_messages_out_total\{qos="0"\} \d+$/m);
    assert.match(text, /^comqtt_messages_out_total\{qos="2"\} \d+$/m);
    assert.match(text, /^comqtt_messages_dropped_total\{reason="queue-full"\} 0$/m);
    assert.match(text, /^comqtt_retained_messages \d+$/m);
    assert.match(text, /^comqtt_storage_apply_seconds_count\{backend="none"\} 0$/m);
  });

  it("GET /events streams a hello, then ticks whose rates follow the traffic", async () => {
    const r = await d.fetch("/api/v1/events");
    assert.match(r.headers.get("content-type") ?? "", /^text\/event-stream/);
    const events = new EventReader(r);
    try {
      const hello = await events.until("hello");
      assert.equal(hello.counters.clientsConnected, 4);
      const tick = await events.until("tick");
      assert.deepEqual(Object.keys(tick).sort(), ["changes", "counters", "rates", "uptime"]);
      const changesBefore = tick.changes.clients;
      const pumping = setInterval(() => void sensor.publish("home/pump/temp", "1"), 10);
      try {
        const busy = await events.until("tick", (t) => t.rates.messagesIn > 0, 3000);
        assert.ok(busy.rates.messagesOut > 0, "alice gets home/+/temp");
      } finally {
        clearInterval(pumping);
      }
      const extra = await d.client({ clientId: "late-joiner" });
      const moved = await events.until("tick", (t) => t.changes.clients > changesBefore, 3000);
      assert.equal(moved.counters.clientsConnected, 5);
      await extra.endAsync();
    } finally {
      await events.cancel();
    }
  });

  it("POST /clients/:id/disconnect sends a v5 client DISCONNECT 0x98 and closes it; 404 when not connected", async () => {
    const target = await d.client({ clientId: "to-kick", protocolVersion: 5 });
    const disconnected = new Promise<number | undefined>((resolve) => {
      target.once("disconnect", (packet: any) => resolve(packet?.reasonCode));
      setTimeout(() => resolve(-1), 3000);
    });
    const closed = new Promise<void>((resolve) => target.once("close", () => resolve()));
    assert.deepEqual(await json(d.fetch("/api/v1/clients/to-kick/disconnect", send("POST", {}))), {
      disconnected: true,
      clientId: "to-kick",
    });
    assert.equal(await disconnected, 0x98);
    await closed;
    await eventually(() => (d.broker.getClient("to-kick") === undefined ? true : undefined));
    const again = await json(d.fetch("/api/v1/clients/to-kick/disconnect", send("POST", {})), 404);
    assert.equal(again.message, 'Cannot disconnect "to-kick": not connected');
    const cross = await d.fetch(
      "/api/v1/clients/alice-laptop/disconnect",
      send("POST", {}, { origin: "https://evil.example" }),
    );
    assert.equal(cross.status, 403);
    assert.ok(d.broker.getClient("alice-laptop"), "a cross-site request disconnects nobody");
  });
  it("counts shared subscriptions the same way in the overview, the list and /metrics", async () => {
    await bob.subscribeAsync("$share/workers/jobs/+", { qos: 1 });
    const list = await json(d.fetch("/api/v1/subscriptions?filter=" + encodeURIComponent("$share")));
    assert.deepEqual(list.items.map((s: any) => [s.filter, s.clientId]), [[
      "$share/workers/jobs/+",
      "bob-phone",
    ]]);
    const all = await json(d.fetch("/api/v1/subscriptions"));
    const overview = await json(d.fetch("/api/v1/overview"));
    assert.equal(overview.counters.subscriptions, all.total);
    const metrics = await (await d.fetch("/metrics")).text();
    assert.match(metrics, new RegExp(`^comqtt_subscriptions ${all.total}$`, "m"));
    const shared = await json(d.fetch("/api/v1/subscriptions?topic=" + encodeURIComponent("jobs/7")));
    assert.deepEqual(
      shared.items.map((s: any) => s.filter),
      ["$share/workers/jobs/+"],
      "matched on the inner filter",
    );
  });
});

describe("HTTP API with credentials", () => {
  it("a token protects reads and changes; probes and the page shell stay open", async () => {
    const d = await startDashboard({ auth: { token: TOKEN, publicRead: false } });
    try {
      const bearer = { authorization: `Bearer ${TOKEN}` };
      assert.equal((await d.fetch("/healthz")).status, 200);
      assert.equal((await d.fetch("/readyz")).status, 200);
      assert.equal((await d.fetch("/")).status, 200, "token-only: the page shows its own sign-in form");
      assert.equal((await d.fetch("/assets/dashboard.js")).status, 200);
      for (const path of ["/api/v1/overview", "/api/v1/clients", "/metrics", "/api/v1/events"]) {
        const r = await d.fetch(path);
        assert.equal(r.status, 401, path);
        assert.deepEqual((await r.json()).auth, ["bearer"]);
      }
      assert.equal((await d.fetch("/api/v1/overview", { headers: bearer })).status, 200);
      assert.equal(
        (await d.fetch("/api/v1/overview", { headers: { authorization: `Bearer ${TOKEN}x` } })).status,
        401,
      );
      const refused = await json(d.fetch("/api/v1/publish", send("POST", { topic: "t", payload: "x" })), 401);
      assert.equal(refused.message, "Cannot POST /api/v1/publish without the configured credentials");
      await json(d.fetch("/api/v1/publish", send("POST", { topic: "t", payload: "x" }, bearer)));
      const stream = await d.fetch("/api/v1/events", { headers: bearer });
      const events = new EventReader(stream);
      assert.equal((await events.until("hello")).counters.clientsConnected, 0);
      await events.cancel();
    } finally {
      await d.close();
    }
  });

  it("basic auth with public reading: anyone reads, changes need the password; the page challenges", async () => {
    const d = await startDashboard({ auth: { username: "admin", password: "pw:1", publicRead: true } });
    try {
      const c = await d.client({ clientId: "victim" });
      assert.equal((await d.fetch("/api/v1/clients")).status, 200);
      assert.equal((await d.fetch("/metrics")).status, 200);
      const r = await d.fetch("/api/v1/clients/victim/disconnect", send("POST", {}));
      assert.equal(r.status, 401);
      assert.match(r.headers.get("www-authenticate") ?? "", /^Basic /);
      assert.ok(d.broker.getClient("victim"));
      const ok = await d.fetch(
        "/api/v1/clients/victim/disconnect",
        send("POST", {}, { authorization: "Basic " + btoa("admin:pw:1") }),
      );
      assert.equal(ok.status, 200);
      assert.equal((await d.fetch("/api/v1/retained/x", send("DELETE"))).status, 401);
      assert.ok(c);
    } finally {
      await d.close();
    }
  });

  it("bound to loopback without credentials: a foreign Host name is refused (DNS rebinding)", async () => {
    const d = await startDashboard({ loopbackHostOnly: true });
    try {
      // fetch() sets Host itself, so ask with a raw request line.
      const { connect } = await import("node:net");
      const port = Number(new URL(d.base).port);
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = connect(port, "127.0.0.1", () => {
          socket.write(
            "GET /api/v1/overview HTTP/1.1\r\nHost: rebind.example:8080\r\nConnection: close\r\n\r\n",
          );
        });
        let text = "";
        socket.on("data", (b) => (text += b.toString()));
        socket.on("end", () => resolve(text));
        socket.on("error", reject);
        setTimeout(() => {
          socket.destroy();
          resolve(text);
        }, 3000);
      });
      assert.match(answer, /^HTTP\/1\.1 403/);
      assert.match(answer, /Host \\"rebind.example:8080\\" is not served/);
      assert.equal((await d.fetch("/api/v1/overview")).status, 200);
    } finally {
      await d.close();
    }
  });
});
