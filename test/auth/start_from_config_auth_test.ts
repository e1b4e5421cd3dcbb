/**
 * The CLI's path: startFromConfig with an `auth` of type http, and per-listener auth of another backend, so the
 * config → hook wiring (adapters/start → adapters/backends) is exercised as users run it.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SignJWT } from "jose";
import { startFromConfig } from "../../mod.ts";
import { startHttpAuth } from "../_helpers/http_auth_server.ts";
import { connackCode } from "./_scenarios.ts";

describe("startFromConfig with auth backends", () => {
  it("auth type http at the top, a jwt listener with its own auth; the backends are logged at start", async () => {
    const service = await startHttpAuth((r) => ({
      status: (r.body as Record<string, string>).password === "good" ? 204 : 403,
    }));
    const dir = mkdtempSync(join(tmpdir(), "comqtt-start-"));
    const secret = "a-shared-secret-of-enough-length-0123456789";
    writeFileSync(
      join(dir, "config.yaml"),
      `listeners:\n  - { type: tcp, id: main, address: "127.0.0.1:0" }\n` +
        `  - { type: tcp, id: tokens, address: "127.0.0.1:0", auth: { type: jwt, secret: "${secret}" } }\n` +
        `auth:\n  type: http\n  url: ${service.url}/auth\n`,
    );
    const lines: string[] = [];
    const running = await startFromConfig(join(dir, "config.yaml"), {
      writeLog: (l: string) => lines.push(l),
    });
    try {
      const [main, tokens] = running.broker.listeners.map((l) => l.port);
      assert.equal(await connackCode(main!, 4, { username: "u", password: "good" }), 0);
      assert.equal(await connackCode(main!, 4, { username: "u", password: "bad" }), 0x04);
      const token = await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setExpirationTime("1m")
        .sign(new TextEncoder().encode(secret));
      assert.equal(await connackCode(tokens!, 5, { username: "u", password: token }), 0);
      assert.equal(
        await connackCode(tokens!, 5, { username: "u", password: "good" }),
        0x86,
        "the jwt listener",
      );
      const log = lines.join("\n");
      assert.match(log, /authentication by http backend/);
      assert.match(log, /authentication by jwt backend/);
    } finally {
      await running.close();
      await service.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
