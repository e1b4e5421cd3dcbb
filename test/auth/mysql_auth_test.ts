/**
 * The MySQL auth backend against a MariaDB started here (a temp datadir), with CoMQTT's tables and queries as
 * they are by default, and HMAC-SHA256 passwords as CoMQTT writes them (`passwordHash: 7`, its numeric code).
 * Node only, as the Redis suite says.
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import mysql from "mysql2/promise";
import { runsOn } from "../_helpers/runtime.ts";
import { startMariaDb } from "../_helpers/mariadb_server.ts";
import type { TestMariaDb } from "../_helpers/mariadb_server.ts";
import { authBroker } from "./_auth_broker.ts";
import type { AuthBroker } from "./_auth_broker.ts";
import {
  ALICE_RULES_COMQTT,
  checkAcl,
  checkCache,
  checkChainFallThrough,
  checkCredentials,
  checkOutage,
} from "./_scenarios.ts";
import { encodePassword } from "../../src/hooks/auth/backends/password_formats.ts";

const HMAC = { format: "hmac-sha256", hashKey: "comqtt-key" } as const;

function root(server: TestMariaDb) {
  return mysql.createConnection({ socketPath: server.socket, user: "root", multipleStatements: true });
}

async function fill(server: TestMariaDb): Promise<void> {
  const db = await root(server);
  try {
    await db.query(`CREATE DATABASE mqtt;
      CREATE USER 'broker'@'%' IDENTIFIED BY 'broker-pw';
      GRANT SELECT ON mqtt.* TO 'broker'@'%';
      USE mqtt;
      CREATE TABLE auth (id INT AUTO_INCREMENT PRIMARY KEY, username VARCHAR(255) NOT NULL UNIQUE,
        password VARCHAR(255) NOT NULL, allow SMALLINT DEFAULT 1 NOT NULL);
      CREATE TABLE acl (id INT AUTO_INCREMENT PRIMARY KEY, username VARCHAR(255) NOT NULL,
        topic VARCHAR(255) NOT NULL, access SMALLINT DEFAULT 3 NOT NULL);
      SET GLOBAL general_log = 1; SET GLOBAL log_output = 'TABLE';`);
    await db.query("INSERT INTO auth (username, password, allow) VALUES (?, ?, 1), (?, ?, 0)", [
      "alice",
      await encodePassword(HMAC, "alice-pw"),
      "bob",
      await encodePassword(HMAC, "bob-pw"),
    ]);
    for (const [topic, access] of ALICE_RULES_COMQTT) {
      await db.query("INSERT INTO acl (username, topic, access) VALUES (?, ?, ?)", ["alice", topic, access]);
    }
  } finally {
    await db.end();
  }
}

async function authQueries(server: TestMariaDb): Promise<number> {
  const db = await root(server);
  try {
    const [rows] = await db.query(
      "SELECT COUNT(*) AS n FROM mysql.general_log WHERE user_host LIKE 'broker%' AND command_type = 'Execute' AND argument LIKE '%FROM auth WHERE%'",
    );
    return Number((rows as Array<{ n: number }>)[0]!.n);
  } finally {
    await db.end();
  }
}

if (runsOn("node")) {
  describe("auth type mysql (MariaDB, CoMQTT tables)", () => {
    let server: TestMariaDb;
    let b: AuthBroker;

    before(async () => {
      server = await startMariaDb();
      await fill(server);
      b = await authBroker(
        `  type: mysql\n  url: mysql://broker:broker-pw@127.0.0.1:${server.port}/mqtt\n  timeout: 1500\n` +
          `  passwordHash: 7\n  hashKey: comqtt-key\n`,
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

    it("the cache holds: one auth query for 100 CONNECTs", async () => {
      await checkCache(b.port, () => authQueries(server));
    });

    it("in a chain after a users file, a user the file does not know falls through to it", async () => {
      await checkChainFallThrough(
        `{ type: mysql, url: "mysql://broker:broker-pw@127.0.0.1:${server.port}/mqtt", passwordHash: hmac-sha256, hashKey: comqtt-key }`,
      );
    });

    it("MariaDB stopped: onError deny, connected clients served, recovery after restart", async () => {
      await checkOutage(b.port, () => server.stop(), () => server.start());
      assert.ok(b.logs.some((l) => l.includes("auth backend mysql failed")));
    });
  });
}
