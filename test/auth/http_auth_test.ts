/**
 * The HTTP auth backend against a service written here, on every runtime (fetch differs between them).
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { startHttpAuth } from "../_helpers/http_auth_server.ts";
import type { Reply, SeenRequest, TestHttpAuth } from "../_helpers/http_auth_server.ts";
import { authBroker } from "./_auth_broker.ts";
import type { AuthBroker } from "./_auth_broker.ts";
import {
  ALICE_RULES,
  checkAcl,
  checkCache,
  checkCredentials,
  checkOutage,
  connackCode,
  connected,
  packetsOf,
} from "./_scenarios.ts";
import { RawClient } from "../_helpers/raw_client.ts";
import { makeTestPki } from "../_helpers/certs.ts";
import { createHttpApp } from "../../src/http/http_app.ts";
import https from "node:https";
import type { AddressInfo } from "node:net";

function answer(request: SeenRequest): Reply {
  if (request.path === "/acl") {
    const { username, topic, access } = request.body as Record<string, string>;
    if (username !== "carol") return { status: 200, json: { result: "ignore" } };
    if (topic.startsWith("carol/")) return { status: 204 };
    return { status: access === "read" && topic === "news" ? 200 : 403, json: { result: "allow" } };
  }
  const { username, password } = request.body as Record<string, string>;
  switch (`${username}:${password}`) {
    case "alice:alice-pw":
      return { status: 200, json: { result: "allow", acl: ALICE_RULES } };
    case "root:root-pw":
      return { status: 200, json: { result: "allow", superuser: true, acl: [] } };
    case "carol:carol-pw":
      return { status: 204 };
    case "garbage:x":
      return { status: 200, text: "<html>oops</html>" };
    case "slow:x":
      return { status: 204, delayMs: 1500 };
    case "down:x":
      return { status: 503, text: "maintenance" };
  }
  if (username === "alice" || username === "bob") return { status: 200, json: { result: "deny" } };
  return { status: 200, json: { result: "ignore" } };
}

describe("auth type http", () => {
  let service: TestHttpAuth;
  let b: AuthBroker;

  before(async () => {
    service = await startHttpAuth(answer);
    b = await authBroker(
      `  type: http\n  url: ${service.url}/auth\n  aclUrl: ${service.url}/acl\n  timeout: 400\n` +
        `  cache: { ttl: 60, size: 1000 }\n  onError: deny\n`,
    );
  });
  after(async () => {
    await b?.close();
    await service?.stop();
  });

  it("a good password connects, a bad one is refused with 0x04 / 0x86, no credentials with 0x05 / 0x87", async () => {
    await checkCredentials(b.port);
  });

  it("POSTs JSON with clientid, username, password, peerhost, protocol and listener", () => {
    const seen = service.requests.find((r) => r.path === "/auth" && r.body.username === "alice")!;
    assert.equal(seen.method, "POST");
    assert.deepEqual(Object.keys(seen.body).sort(), [
      "clientid",
      "listener",
      "password",
      "peerhost",
      "protocol",
      "username",
    ]);
    assert.equal(seen.body.listener, "tcp");
    assert.ok([4, 5].includes(seen.body.protocol as number));
  });

  it("ACL rules from the CONNECT answer: publish, subscribe and retained delivery", async () => {
    const before = service.count("/acl");
    await checkAcl(b.port, b.broker);
    assert.equal(service.count("/acl"), before, "rules given at CONNECT need no ACL call");
  });

  it("ACL through aclUrl, each decision asked once", async () => {
    const carol = await connected(b.port, 5, "carol", "carol-pw");
    const subs = await carol.subscribe([["carol/in", 1], ["news", 1], ["other", 1]]);
    assert.deepEqual(subs.granted, [1, 1, 0x87]);
    for (let i = 1; i <= 5; i++) {
      carol.publish("carol/in", `m${i}`, { qos: 1, messageId: i });
      const both = await packetsOf(carol, ["puback", "publish"]);
      assert.equal(both.puback.reasonCode ?? 0, 0);
      carol.send({ cmd: "puback", messageId: both.publish.messageId });
    }
    const asked = service.requests.filter((r) => r.path === "/acl" && r.body.topic === "carol/in");
    // One read (the subscription; deliveries reuse it) and one write.
    assert.deepEqual(asked.map((r) => r.body.access).sort(), ["read", "write"]);
    carol.destroy();
  });

  it("messages matching a wildcard subscription the service allowed are delivered without asking again", async () => {
    const carol = await connected(b.port, 5, "carol", "carol-pw");
    assert.deepEqual((await carol.subscribe([["carol/w/#", 1]])).granted, [1]);
    const before = service.requests.length;
    for (const [i, topic] of ["carol/w/a", "carol/w/b", "carol/w/c"].entries()) {
      carol.publish(topic, "x", { qos: 1, messageId: i + 1 });
      const both = await packetsOf(carol, ["puback", "publish"]);
      assert.equal(both.publish.topic, topic);
      carol.send({ cmd: "puback", messageId: both.publish.messageId });
    }
    const asked = service.requests.slice(before).map((r) => `${r.body.access} ${r.body.topic}`);
    assert.deepEqual(
      asked,
      ["write carol/w/a", "write carol/w/b", "write carol/w/c"],
      "no read per delivery",
    );
    carol.destroy();
  });

  it("a superuser passes every ACL check", async () => {
    const root = await connected(b.port, 4, "root", "root-pw");
    const subs = await root.subscribe([["#", 0], ["sensors/secret", 0]]);
    assert.deepEqual(subs.granted, [0, 0]);
    root.destroy();
  });

  it("the cache holds: one backend call for 100 CONNECTs", async () => {
    await checkCache(b.port, () => service.count("/auth"));
  });

  it("garbage, an HTTP error and a timeout give the onError outcome and a log line naming the backend", async () => {
    const started = Date.now();
    assert.equal(
      await connackCode(b.port, 4, { username: "slow", password: "x" }),
      0x03,
      "server unavailable",
    );
    assert.ok(Date.now() - started < 1400, "refused at the 400 ms timeout, not after the service's 1.5 s");
    assert.equal(await connackCode(b.port, 5, { username: "garbage", password: "x" }), 0x88);
    assert.equal(await connackCode(b.port, 5, { username: "down", password: "x" }), 0x88);
    const line = b.logs.find((l) => l.includes("auth backend http failed"));
    assert.ok(line, `expected a failure line in ${JSON.stringify(b.logs)}`);
    assert.match(line!, /"backend":"auth-http"/);
    assert.match(line!, /"outcome":"deny"/);
    const stats = (b.hook as unknown as { stats: { errors: { auth: number } } }).stats;
    assert.ok(stats.errors.auth >= 1);
  });

  it("/metrics and the dashboard overview show the backend's calls, errors, cache hits and latency", async () => {
    const app = createHttpApp({ broker: b.broker, runtime: { name: "test", version: "0" } });
    try {
      const metrics = await (await app.app.fetch(new Request("http://127.0.0.1/metrics"))).text();
      assert.match(
        metrics,
        /comqtt_auth_backend_calls_total\{backend="auth-http",kind="http",op="auth"\} [1-9]/,
      );
      assert.match(
        metrics,
        /comqtt_auth_backend_errors_total\{backend="auth-http",kind="http",op="auth"\} [1-9]/,
      );
      assert.match(metrics, /comqtt_auth_cache_hits_total\{backend="auth-http",kind="http"\} [1-9]/);
      assert.match(
        metrics,
        /comqtt_auth_backend_latency_seconds_count\{backend="auth-http",kind="http"\} [1-9]/,
      );
      const overview = await (await app.app.fetch(new Request("http://127.0.0.1/api/v1/overview"))).json();
      assert.equal(overview.authBackends[0].name, "auth-http");
      assert.ok(overview.authBackends[0].cacheHits >= 99);
    } finally {
      app.close();
    }
  });

  it("the service stopped: connected clients are served, new CONNECTs refused (0x03 / 0x88), recovery after restart", async () => {
    await checkOutage(b.port, () => service.stop(), () => service.start());
    assert.ok(b.logs.some((l) => l.includes("auth backend http answers again")), "the recovery is logged");
  });
});

describe("auth type http with GET", () => {
  it("sends every value URL-encoded and leaves the password out", async () => {
    const service = await startHttpAuth((r) => ({ status: r.query.get("username") === "a b&c" ? 204 : 403 }));
    const b = await authBroker(`  type: http\n  method: GET\n  url: ${service.url}/auth?x=1\n`);
    try {
      const c = await RawClient.tcp(b.port, 4);
      const ack = await c.connect({ username: "a b&c", password: Buffer.from("secret pw") });
      assert.equal(ack.returnCode, 0);
      c.destroy();
      const seen = service.requests[0]!;
      assert.equal(seen.method, "GET");
      assert.equal(seen.query.get("x"), "1");
      assert.equal(seen.query.get("password"), null, "the password is not in the URL");
      assert.equal(await connackCode(b.port, 4, { username: "other", password: "p" }), 0x04, "403 denies");
    } finally {
      await b.close();
      await service.stop();
    }
  });
});

describe("auth type http over HTTPS with a CA file", () => {
  it("trusts the service's certificate through `ca`, and refuses it (onError deny) without", async () => {
    const pki = await makeTestPki();
    const server = https.createServer({ cert: pki.pem.serverCert, key: pki.pem.serverKey }, (req, res) => {
      req.resume();
      req.on("end", () => res.writeHead(204).end());
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    const port = (server.address() as AddressInfo).port;
    const trusted = await authBroker(
      `  type: http\n  url: https://127.0.0.1:${port}/auth\n  ca: ${pki.files.ca}\n`,
    );
    const untrusted = await authBroker(
      `  type: http\n  url: https://127.0.0.1:${port}/auth\n  timeout: 2000\n`,
    );
    try {
      assert.equal(await connackCode(trusted.port, 4, { username: "u", password: "p" }), 0);
      assert.equal(
        await connackCode(trusted.port, 4, { username: "u", password: "q" }),
        0,
        "pooled connection",
      );
      assert.equal(
        await connackCode(untrusted.port, 4, { username: "u", password: "p" }),
        0x03,
        "the TLS failure is an outage",
      );
      assert.ok(untrusted.logs.some((l) => l.includes("auth backend http failed")));
    } finally {
      await trusted.close();
      await untrusted.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await pki.remove();
    }
  });
});
