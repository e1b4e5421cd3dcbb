/**
 * The PostgreSQL auth backend against a PostgreSQL 15 started here (initdb in a temp dir), with CoMQTT's tables
 * and a custom `authQuery` that also reads a salt and a superuser column. Node only, as the Redis suite says.
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import pg from "pg";
import { runsOn } from "../_helpers/runtime.ts";
import { startPostgres } from "../_helpers/postgres_server.ts";
import type { TestPostgres } from "../_helpers/postgres_server.ts";
import { authBroker } from "./_auth_broker.ts";
import type { AuthBroker } from "./_auth_broker.ts";
import {
  ALICE_RULES_COMQTT,
  checkAcl,
  checkCache,
  checkChainFallThrough,
  checkCredentials,
  checkOutage,
  connected,
} from "./_scenarios.ts";
import { encodePassword } from "../../src/hooks/auth/backends/password_formats.ts";

const SHA = { format: "sha256", saltPosition: "prefix" } as const;

async function fill(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`CREATE TABLE auth (
      id SERIAL PRIMARY KEY, username VARCHAR(255) NOT NULL UNIQUE, password VARCHAR(255) NOT NULL,
      salt VARCHAR(64), is_superuser BOOLEAN NOT NULL DEFAULT false, allow SMALLINT NOT NULL DEFAULT 1)`);
    await client.query(`CREATE TABLE acl (
      id SERIAL PRIMARY KEY, username VARCHAR(255) NOT NULL, topic VARCHAR(255) NOT NULL,
      access SMALLINT NOT NULL DEFAULT 3)`);
    const insert =
      "INSERT INTO auth (username, password, salt, allow, is_superuser) VALUES ($1, $2, $3, $4, $5)";
    await client.query(insert, [
      "alice",
      await encodePassword(SHA, "alice-pw", { salt: "s1" }),
      "s1",
      1,
      false,
    ]);
    await client.query(insert, ["bob", await encodePassword(SHA, "bob-pw", { salt: "s2" }), "s2", 0, false]);
    await client.query(insert, ["root", await encodePassword(SHA, "root-pw", { salt: "s3" }), "s3", 1, true]);
    for (const [topic, access] of ALICE_RULES_COMQTT) {
      await client.query("INSERT INTO acl (username, topic, access) VALUES ($1, $2, $3)", [
        "alice",
        topic,
        access,
      ]);
    }
  } finally {
    await client.end();
  }
}

if (runsOn("node")) {
  describe("auth type postgres", () => {
    let server: TestPostgres;
    let b: AuthBroker;

    before(async () => {
      server = await startPostgres();
      await fill(server.url);
      b = await authBroker(
        `  type: postgres\n  url: ${server.url}\n  timeout: 1500\n  passwordHash: sha256\n  saltPosition: prefix\n` +
          `  authQuery: SELECT password, allow, salt, is_superuser AS superuser FROM auth WHERE username = $1\n`,
      );
    });
    after(async () => {
      await b?.close();
      await server?.destroy();
    });

    it("a good password connects, a bad one is refused with 0x04 / 0x86, no credentials with 0x05 / 0x87", async () => {
      await checkCredentials(b.port);
    });

    it("ACL from the acl table: publish, subscribe and retained delivery", async () => {
      await checkAcl(b.port, b.broker);
    });

    it("a superuser passes every ACL check", async () => {
      const root = await connected(b.port, 5, "root", "root-pw");
      assert.deepEqual((await root.subscribe([["#", 0], ["sensors/secret", 0]])).granted, [0, 0]);
      root.destroy();
    });

    it("the cache holds: one auth query for 100 CONNECTs", async () => {
      const queries = () => server.log().split("FROM auth WHERE").length - 1;
      await checkCache(b.port, queries);
    });

    it("in a chain after a users file, a user the file does not know falls through to it", async () => {
      await checkChainFallThrough(
        `{ type: postgres, url: "${server.url}", passwordHash: sha256, saltPosition: prefix, authQuery: "SELECT password, allow, salt FROM auth WHERE username = $1" }`,
      );
    });

    it("PostgreSQL stopped: onError deny, connected clients served, recovery after restart", async () => {
      await checkOutage(b.port, () => server.stop(), () => server.start());
      assert.ok(b.logs.some((l) => l.includes("auth backend postgres failed")));
    });
  });
}
