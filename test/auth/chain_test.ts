/**
 * `auth.chain` on every runtime: a users file and an HTTP service asked in order, each answering allow, deny or
 * no opinion; the last word is deny; a failing link with `onError: ignore` passes the question on.
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hashPassword } from "../../src/hooks/auth/password.ts";
import { startHttpAuth } from "../_helpers/http_auth_server.ts";
import type { TestHttpAuth } from "../_helpers/http_auth_server.ts";
import { authBroker } from "./_auth_broker.ts";
import type { AuthBroker } from "./_auth_broker.ts";
import { connackCode, connected } from "./_scenarios.ts";

describe("auth chain: file, then http", () => {
  let dir: string;
  let service: TestHttpAuth;
  let b: AuthBroker;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "comqtt-chain-"));
    const hash = await hashPassword("file-pw", { iterations: 1000 });
    writeFileSync(
      join(dir, "users.yaml"),
      `users:\n  fred:\n    password: "${hash}"\n    acl:\n      - { topic: "fred/#", access: readwrite }\n`,
    );
    service = await startHttpAuth((r) => {
      const { username, password } = r.body as Record<string, string>;
      if (username === "hank" && password === "http-pw") {
        return { status: 200, json: { result: "allow", acl: [{ topic: "hank/#", access: "readwrite" }] } };
      }
      if (username === "fred") return { status: 200, json: { result: "allow" } }; // never asked: file answers
      return { status: 200, json: { result: "ignore" } };
    });
    b = await authBroker(
      `  timeout: 500\n  onError: ignore\n  chain:\n    - { type: file, file: users.yaml }\n` +
        `    - { type: http, url: "${service.url}/auth" }\n`,
      dir,
    );
  });
  after(async () => {
    await b?.close();
    await service?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("falls through in order: the file decides its users, the service the others, the last word is deny", async () => {
    assert.equal(await connackCode(b.port, 4, { username: "fred", password: "file-pw" }), 0);
    assert.equal(service.count("/auth"), 0, "the file answered: the service was not asked");
    assert.equal(
      await connackCode(b.port, 4, { username: "fred", password: "bad" }),
      0x04,
      "the file denies",
    );
    assert.equal(service.count("/auth"), 0, "a deny stops the chain");
    assert.equal(await connackCode(b.port, 5, { username: "hank", password: "http-pw" }), 0);
    assert.equal(service.count("/auth"), 1, "a user the file does not know goes on to the service");
    assert.equal(
      await connackCode(b.port, 5, { username: "ivy", password: "x" }),
      0x86,
      "nobody knows ivy: deny",
    );
  });

  it("each client's ACL comes from the link that admitted it", async () => {
    const hank = await connected(b.port, 4, "hank", "http-pw");
    assert.deepEqual((await hank.subscribe([["hank/a", 0], ["fred/a", 0]])).granted, [0, 0x80]);
    hank.destroy();
    const fred = await connected(b.port, 4, "fred", "file-pw");
    assert.deepEqual((await fred.subscribe([["fred/a", 0], ["hank/a", 0]])).granted, [0, 0x80]);
    fred.destroy();
  });

  it("with the service down and onError ignore, the chain's last word decides", async () => {
    await service.stop();
    try {
      assert.equal(
        await connackCode(b.port, 4, { username: "fred", password: "file-pw" }),
        0,
        "file users unaffected",
      );
      assert.equal(await connackCode(b.port, 4, { username: "newcomer", password: "x" }), 0x04);
      assert.ok(
        b.logs.some((l) => l.includes("auth backend http failed") && l.includes('"outcome":"ignore"')),
      );
    } finally {
      await service.start();
    }
  });
});

describe("auth chain: http first", () => {
  it("the first definite answer wins: a deny from the service is final even if the file would allow", async () => {
    const dir = mkdtempSync(join(tmpdir(), "comqtt-chain-"));
    const hash = await hashPassword("file-pw", { iterations: 1000 });
    writeFileSync(
      join(dir, "users.yaml"),
      `users:\n  fred:\n    password: "${hash}"\n  gus:\n    password: "${hash}"\n`,
    );
    const service = await startHttpAuth((r) => ({
      status: 200,
      json: { result: (r.body as Record<string, string>).username === "fred" ? "deny" : "ignore" },
    }));
    const b = await authBroker(
      `  chain:\n    - { type: http, url: "${service.url}/auth" }\n    - { type: file, file: users.yaml }\n`,
      dir,
    );
    try {
      assert.equal(await connackCode(b.port, 4, { username: "fred", password: "file-pw" }), 0x04);
      assert.equal(await connackCode(b.port, 4, { username: "gus", password: "file-pw" }), 0);
    } finally {
      await b.close();
      await service.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
