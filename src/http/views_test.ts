import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MASK, maskSecrets, messageView, pageParams, paginate, payloadText } from "./views.ts";
import { HttpError } from "./http_error.ts";

describe("API views", () => {
  it("maskSecrets hides tokens, passwords and URL passwords, and keeps everything else", () => {
    const config = {
      http: {
        host: "0.0.0.0",
        port: 8080,
        auth: { token: "t0ps3cret-token!", username: "admin", password: "pw", publicRead: false },
      },
      auth: { type: "file", file: "./users.yaml" },
      cluster: { url: "redis://user:hunter2@db:6379/0", plain: "redis://db:6379" },
      list: [{ secret: "x" }, { keep: 1 }],
      unset: { password: undefined },
    };
    assert.deepEqual(maskSecrets(config), {
      http: {
        host: "0.0.0.0",
        port: 8080,
        auth: { token: MASK, username: "admin", password: MASK, publicRead: false },
      },
      auth: { type: "file", file: "./users.yaml" },
      cluster: { url: `redis://user:${MASK}@db:6379/0`, plain: "redis://db:6379" },
      list: [{ secret: MASK }, { keep: 1 }],
      unset: { password: undefined },
    });
    assert.equal(config.http.auth.token, "t0ps3cret-token!", "the input is not changed");
  });

  it("payloads are text when valid UTF-8, else base64", () => {
    assert.deepEqual(payloadText(new TextEncoder().encode("héllo")), {
      payload: "héllo",
      payloadEncoding: "utf8",
    });
    assert.deepEqual(payloadText(new Uint8Array([0xff, 0x00, 0x80])), {
      payload: "/wCA",
      payloadEncoding: "base64",
    });
    const big = new Uint8Array(100_000).fill(0xff);
    assert.equal(payloadText(big).payload.length, Math.ceil(100_000 / 3) * 4);
  });

  it("messageView shows a retained message", () => {
    const view = messageView({
      topic: "a/b",
      payload: new TextEncoder().encode("21.5"),
      qos: 1,
      retain: true,
      properties: { contentType: "text/plain" },
      receivedAt: Date.UTC(2026, 0, 2, 3, 4, 5),
    });
    assert.deepEqual(view, {
      topic: "a/b",
      qos: 1,
      payload: "21.5",
      payloadEncoding: "utf8",
      size: 4,
      receivedAt: "2026-01-02T03:04:05.000Z",
      contentType: "text/plain",
      messageExpiryInterval: null,
    });
  });

  it("pageParams reads limit and offset and refuses nonsense with a 400", () => {
    assert.deepEqual(pageParams(undefined, undefined), { limit: 50, offset: 0 });
    assert.deepEqual(pageParams("10", "20"), { limit: 10, offset: 20 });
    for (const [limit, offset] of [["0", "0"], ["501", "0"], ["-1", "0"], ["1.5", "0"], ["10", "x"]]) {
      assert.throws(
        () => pageParams(limit, offset),
        (err: unknown) => err instanceof HttpError && err.status === 400,
      );
    }
    assert.throws(
      () => pageParams("abc", undefined),
      /Cannot read limit="abc": expected a whole number from 1 to 500/,
    );
  });

  it("paginate cuts a page and counts the total", () => {
    assert.deepEqual(paginate([1, 2, 3, 4, 5], { limit: 2, offset: 2 }), {
      total: 5,
      offset: 2,
      limit: 2,
      items: [3, 4],
    });
    assert.deepEqual(paginate([1], { limit: 2, offset: 5 }), { total: 1, offset: 5, limit: 2, items: [] });
  });
});
