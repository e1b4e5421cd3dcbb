/**
 * The Redis auth backend against a redis-server started here, with CoMQTT's key layout. Node only: the backend
 * code is the same on every runtime (ioredis + the shared decision logic, whose HTTP suite runs on all three),
 * and starting servers three times would slow CI for nothing.
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { runsOn } from "../_helpers/runtime.ts";
import { startRedis } from "../_helpers/redis_server.ts";
import type { TestRedis } from "../_helpers/redis_server.ts";
import { authBroker } from "./_auth_broker.ts";
import type { AuthBroker } from "./_auth_broker.ts";
import {
  ALICE_RULES_COMQTT,
  checkAcl,
  checkCache,
  checkChainFallThrough,
  checkCredentials,
  checkOutage,
  connackCode,
  connected,
} from "./_scenarios.ts";
import { encodePassword } from "../../src/hooks/auth/backends/password_formats.ts";

async function fill(url: string): Promise<void> {
  const redis = new Redis(url);
  try {
    const bcrypt = await encodePassword({ format: "bcrypt" }, "alice-pw");
    await redis.hset("comqtt:auth", {
      alice: JSON.stringify({ username: "alice", password: bcrypt, allow: true }),
      bob: JSON.stringify({
        username: "bob",
        password: await encodePassword({ format: "bcrypt" }, "bob-pw"),
        allow: false,
      }),
      root: JSON.stringify({ username: "root", password: bcrypt, allow: true, superuser: true }),
    });
    await redis.hset(
      "comqtt:acl:alice",
      Object.fromEntries(ALICE_RULES_COMQTT.map(([t, a]) => [t, String(a)])),
    );
  } finally {
    redis.disconnect();
  }
}

async function hgetCalls(url: string): Promise<number> {
  const redis = new Redis(url);
  try {
    const info = await redis.info("commandstats");
    return Number(/cmdstat_hget:calls=(\d+)/.exec(info)?.[1] ?? 0);
  } finally {
    redis.disconnect();
  }
}

if (runsOn("node")) {
  describe("auth type redis (CoMQTT layout)", () => {
    let redis: TestRedis;
    let b: AuthBroker;

    before(async () => {
      redis = await startRedis();
      await fill(redis.url);
      b = await authBroker(`  type: redis\n  url: ${redis.url}\n  timeout: 1000\n  onError: deny\n`);
    });
    after(async () => {
      await b?.close();
      await redis?.stop();
    });

    it("a good password connects, a bad one is refused with 0x04 / 0x86, no credentials with 0x05 / 0x87", async () => {
      await checkCredentials(b.port);
    });

    it("ACL from comqtt:acl:<user>: publish, subscribe and retained delivery, most specific filter first", async () => {
      await checkAcl(b.port, b.broker);
    });

    it('a superuser ("superuser": true in the record) passes every ACL check', async () => {
      const root = await connected(b.port, 4, "root", "alice-pw");
      assert.deepEqual((await root.subscribe([["#", 0], ["sensors/secret", 0]])).granted, [0, 0]);
      root.destroy();
    });

    it("the cache holds: one HGET for 100 CONNECTs", async () => {
      await checkCache(b.port, () => hgetCalls(redis.url));
    });

    it("a garbage record is a backend failure: onError deny and a log line that says what was wrong", async () => {
      const client = new Redis(redis.url);
      await client.hset("comqtt:auth", "mangled", "{not json");
      client.disconnect();
      assert.equal(await connackCode(b.port, 5, { username: "mangled", password: "x" }), 0x88);
      assert.ok(
        b.logs.some((l) => l.includes("garbage user record in redis comqtt:auth")),
        b.logs.join("\n"),
      );
    });

    it("a slow Redis (DEBUG SLEEP) times out: onError deny, and the next CONNECT works again", async () => {
      const client = new Redis(redis.url);
      const probe = new Redis(redis.url);
      try {
        const stats = (b.hook as unknown as { stats: { errors: { auth: number } } }).stats;
        const errors = stats.errors.auth;
        await client.ping(); // connected: DEBUG SLEEP goes out at once
        const sleeping = client.call("DEBUG", "SLEEP", "1.5");
        // Redis sleeps once a PING on another connection goes unanswered for 100 ms (bounded: 20 tries).
        for (let i = 0; i < 20; i++) {
          const answered = await Promise.race([
            probe.ping().then(() => true),
            new Promise<boolean>((r) => setTimeout(() => r(false), 100)),
          ]);
          if (!answered) break;
        }
        const started = Date.now();
        assert.equal(await connackCode(b.port, 4, { username: "alice", password: "alice-pw" }), 0x03);
        const took = Date.now() - started;
        assert.ok(took >= 900 && took < 1450, `refused at the 1000 ms timeout (after ${took} ms)`);
        await sleeping;
        assert.equal(await connackCode(b.port, 4, { username: "alice", password: "alice-pw" }), 0);
        // The log line may be folded into the previous failure's (one per 10 s); the metric counts each one.
        assert.equal(stats.errors.auth, errors + 1);
      } finally {
        probe.disconnect();
        client.disconnect();
      }
    });

    it("in a chain after a users file, a user the file does not know falls through to it", async () => {
      await checkChainFallThrough(`{ type: redis, url: "${redis.url}" }`);
    });

    it("Redis killed: onError deny for new CONNECTs, connected clients served, recovery after restart", async () => {
      await checkOutage(b.port, () => redis.stop(true), () => redis.start(), () => fill(redis.url));
      assert.ok(
        b.logs.some((l) => l.includes("auth backend redis failed") && l.includes('"backend":"auth-redis"')),
      );
    });
  });
}
