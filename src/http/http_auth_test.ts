import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Hono } from "hono";
import { browserGuard, hasCredentials, isLoopbackHost, requireAuth, safeEqual } from "./http_auth.ts";
import type { HttpAuthConfig } from "./http_auth.ts";

const TOKEN = "0123456789abcdef";
const basic = (user: string, password: string) => "Basic " + btoa(`${user}:${password}`);

function app(auth: HttpAuthConfig | undefined, guard = {}) {
  const a = new Hono();
  a.use(browserGuard(guard));
  a.use(requireAuth({ auth, isPublic: (path) => path === "/healthz" }));
  a.get("/healthz", (c) => c.text("ok"));
  a.get("/data", (c) => c.text("data"));
  a.post("/change", (c) => c.text("changed"));
  return a;
}

describe("http auth", () => {
  it("safeEqual compares whole strings", () => {
    assert.equal(safeEqual("secret", "secret"), true);
    assert.equal(safeEqual("secret", "secreT"), false);
    assert.equal(safeEqual("secret", "secret2"), false);
    assert.equal(safeEqual("", ""), true);
    assert.equal(safeEqual("", "x"), false);
  });

  it("hasCredentials takes the bearer token and basic credentials that are configured, nothing else", () => {
    const auth: HttpAuthConfig = { token: TOKEN, username: "admin", password: "pa:ss", publicRead: false };
    assert.equal(hasCredentials(auth, `Bearer ${TOKEN}`), true);
    assert.equal(hasCredentials(auth, `bearer ${TOKEN}`), true, "the scheme is case-insensitive");
    assert.equal(hasCredentials(auth, `Bearer ${TOKEN}x`), false);
    assert.equal(hasCredentials(auth, basic("admin", "pa:ss")), true, "a colon in the password is kept");
    assert.equal(hasCredentials(auth, basic("admin", "wrong")), false);
    assert.equal(hasCredentials(auth, basic("root", "pa:ss")), false);
    assert.equal(hasCredentials(auth, "Basic !!!not-base64"), false);
    assert.equal(hasCredentials(auth, undefined), false);
    assert.equal(hasCredentials({ token: TOKEN, publicRead: false }, basic("admin", "pa:ss")), false);
    assert.equal(
      hasCredentials({ username: "a", password: "b", publicRead: false }, `Bearer ${TOKEN}`),
      false,
    );
  });

  it("without auth every request passes", async () => {
    const a = app(undefined);
    assert.equal((await a.request("/data")).status, 200);
    assert.equal((await a.request("/change", { method: "POST" })).status, 200);
  });

  it("with a token: 401 as JSON with a challenge, unless the token is sent; public paths stay open", async () => {
    const a = app({ token: TOKEN, publicRead: false });
    const refused = await a.request("/data");
    assert.equal(refused.status, 401);
    assert.equal(refused.headers.get("www-authenticate"), 'Bearer realm="comqtt-ts"');
    const body = await refused.json();
    assert.equal(body.status, 401);
    assert.equal(body.error, "Unauthorized");
    assert.deepEqual(body.auth, ["bearer"]);
    assert.match(body.message, /Sign in/);
    assert.equal((await a.request("/data", { headers: { authorization: `Bearer ${TOKEN}` } })).status, 200);
    assert.equal((await a.request("/healthz")).status, 200);
    const change = await a.request("/change", { method: "POST" });
    assert.equal(change.status, 401);
    assert.match((await change.json()).message, /Cannot POST \/change without the configured credentials/);
  });

  it("publicRead opens reading; changes still need the credentials", async () => {
    const a = app({ username: "admin", password: "pw", publicRead: true });
    assert.equal((await a.request("/data")).status, 200);
    const refused = await a.request("/change", { method: "POST" });
    assert.equal(refused.status, 401);
    assert.match(refused.headers.get("www-authenticate") ?? "", /^Basic realm="comqtt-ts"/);
    assert.equal(
      (await a.request("/change", { method: "POST", headers: { authorization: basic("admin", "pw") } }))
        .status,
      200,
    );
  });

  it("refuses a change posted from another site, and foreign Host names when asked to", async () => {
    const a = app(undefined, { loopbackHostOnly: true });
    const cross = await a.request("http://127.0.0.1:8080/change", {
      method: "POST",
      headers: { origin: "https://evil.example", host: "127.0.0.1:8080" },
    });
    assert.equal(cross.status, 403);
    assert.match(
      (await cross.json()).message,
      /Cannot POST from another site \(Origin "https:\/\/evil.example"\)/,
    );
    const same = await a.request("http://127.0.0.1:8080/change", {
      method: "POST",
      headers: { origin: "http://127.0.0.1:8080", host: "127.0.0.1:8080" },
    });
    assert.equal(same.status, 200);
    const rebound = await a.request("http://attacker.example/data", {
      headers: { host: "attacker.example" },
    });
    assert.equal(rebound.status, 403);
    assert.match((await rebound.json()).message, /Host "attacker.example" is not served/);
    assert.equal(
      (await a.request("http://localhost:8080/data", { headers: { host: "localhost:8080" } })).status,
      200,
    );
  });

  it("isLoopbackHost knows localhost, 127/8 and [::1], with or without a port", () => {
    for (
      const h of [
        "localhost",
        "localhost:8080",
        "127.0.0.1",
        "127.1.2.3:80",
        "[::1]:8080",
        "[::1]",
        "app.localhost",
      ]
    ) {
      assert.equal(isLoopbackHost(h), true, h);
    }
    for (const h of ["example.com", "10.0.0.1:8080", "[::2]:80", "127.0.0.1.nip.io", "localhost.evil.com"]) {
      assert.equal(isLoopbackHost(h), false, h);
    }
  });
});
