/**
 * `storage: { type: sqlite, path }` through startFromConfig: a relative path is relative to the config file (as
 * for denokv), the broker restores from the SQLite file, and a retained message outlives a restart.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, writeFileSync } from "node:fs";
import { startFromConfig } from "../../mod.ts";
import { RawClient } from "../_helpers/raw_client.ts";
import { tempDir } from "./_kv_files.ts";

describe("storage type sqlite from a config file", () => {
  it("opens the file relative to the config, and keeps a retained message across a restart", async () => {
    const tmp = tempDir();
    try {
      const config = tmp.file("broker.yaml");
      writeFileSync(
        config,
        [
          "listeners:",
          '  - { type: tcp, id: t, address: "127.0.0.1:0" }',
          "auth: { type: allow }",
          "storage: { type: sqlite, path: ./data/../broker.db }",
          "sys: { interval: 0 }",
          "",
        ].join("\n"),
      );
      const lines: string[] = [];
      let running = await startFromConfig(config, { writeLog: (l) => lines.push(l) });
      assert.ok(existsSync(tmp.file("broker.db")), "the database is next to the config file");
      assert.ok(lines.some((l) => /restored from storage storage=sqlite/.test(l)), lines.join("\n"));
      let client = await RawClient.tcp(running.broker.listeners[0].port!);
      await client.connect();
      client.publish("keep", "me", { qos: 1, retain: true, messageId: 1 });
      await client.expect("puback");
      client.destroy();
      await running.close();

      running = await startFromConfig(config, { writeLog: (l) => lines.push(l) });
      try {
        client = await RawClient.tcp(running.broker.listeners[0].port!);
        await client.connect();
        await client.subscribe("keep", 1);
        const m = await client.expect("publish");
        assert.equal(m.payload.toString(), "me");
        client.destroy();
      } finally {
        await running.close();
      }
    } finally {
      tmp.remove();
    }
  });
});
