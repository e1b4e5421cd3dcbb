import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { HttpBackend, parseHttpAnswer } from "./http_backend.ts";
import type { FetchLike } from "./http_backend.ts";

const request = {
  clientId: "dev/1",
  username: "a&b",
  password: new TextEncoder().encode("p w"),
  peerhost: "10.0.0.1:5000",
  protocol: 5,
  listener: "tcp1",
};

function recorder(
  status: number,
  body = "",
): { fetch: FetchLike; seen: Array<{ url: string; init: RequestInit }> } {
  const seen: Array<{ url: string; init: RequestInit }> = [];
  return {
    seen,
    fetch: (url, init) => {
      seen.push({ url, init });
      return Promise.resolve(new Response(status === 204 ? null : body, { status }));
    },
  };
}

describe("HttpBackend", () => {
  it("POSTs the CONNECT as JSON with the configured headers", async () => {
    const r = recorder(204);
    const backend = new HttpBackend({
      url: "http://svc/auth",
      headers: { "x-api-key": "k" },
      fetch: r.fetch,
    });
    assert.deepEqual(await backend.authenticate(request, new AbortController().signal), { result: "allow" });
    const { url, init } = r.seen[0]!;
    assert.equal(url, "http://svc/auth");
    assert.equal(init.method, "POST");
    assert.equal((init.headers as Record<string, string>)["x-api-key"], "k");
    assert.deepEqual(JSON.parse(init.body as string), {
      clientid: "dev/1",
      username: "a&b",
      password: "p w",
      peerhost: "10.0.0.1:5000",
      protocol: 5,
      listener: "tcp1",
    });
  });

  it("GET encodes every value and sends the password only when asked", async () => {
    const r = recorder(403);
    const get = new HttpBackend({ url: "http://svc/auth", method: "GET", fetch: r.fetch });
    assert.deepEqual(await get.authenticate(request, new AbortController().signal), { result: "deny" });
    assert.equal(
      r.seen[0]!.url,
      "http://svc/auth?clientid=dev%2F1&username=a%26b&peerhost=10.0.0.1%3A5000&protocol=5&listener=tcp1",
    );
    const withPw = new HttpBackend({
      url: "http://svc/auth",
      method: "GET",
      passwordInQuery: true,
      fetch: r.fetch,
    });
    await withPw.authenticate(request, new AbortController().signal);
    assert.match(r.seen[1]!.url, /password=p\+w/);
  });

  it("ACL requests carry clientid, username, topic and access; 5xx and 404 are failures", async () => {
    const r = recorder(200, `{"result":"deny"}`);
    const backend = new HttpBackend({ url: "http://svc/auth", aclUrl: "http://svc/acl", fetch: r.fetch });
    const signal = new AbortController().signal;
    assert.equal(
      await backend.checkAcl!({ clientId: "c", username: "u", topic: "t/1", access: "write" }, signal),
      "deny",
    );
    assert.deepEqual(JSON.parse(r.seen[0]!.init.body as string), {
      clientid: "c",
      username: "u",
      topic: "t/1",
      access: "write",
    });
    for (const status of [404, 500, 503]) {
      const bad = new HttpBackend({ url: "http://svc/auth", fetch: recorder(status, "nope").fetch });
      await assert.rejects(bad.authenticate(request, signal), new RegExp(`HTTP ${status}`));
    }
  });
});

describe("parseHttpAnswer", () => {
  it("reads result, superuser, acl and expireAt", () => {
    assert.deepEqual(
      parseHttpAnswer(
        `{"result":"allow","superuser":true,"acl":[{"topic":"a/#","access":"read"},{"topic":"b","access":3}],"expireAt":1700000000}`,
      ),
      {
        result: "allow",
        superuser: true,
        acl: [{ topic: "a/#", access: "read" }, { topic: "b", access: "readwrite" }],
        expiresAt: 1_700_000_000_000,
      },
    );
  });

  it("refuses garbage, quoting it", () => {
    assert.throws(() => parseHttpAnswer("<html>"), /not JSON: "<html>"/);
    assert.throws(() => parseHttpAnswer(`{"result":"yes"}`), /"result" must be .* received "yes"/);
    assert.throws(
      () => parseHttpAnswer(`{"result":"allow","acl":[{"topic":"a/#/b","access":"read"}]}`),
      /acl\[0\]/,
    );
    assert.throws(
      () => parseHttpAnswer(`{"result":"allow","acl":[{"topic":"a","access":"all-ish"}]}`),
      /unknown access/,
    );
    assert.throws(() => parseHttpAnswer(`{"result":"allow","expireAt":"soon"}`), /expireAt/);
  });
});
