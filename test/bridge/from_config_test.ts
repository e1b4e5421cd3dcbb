/**
 * Config -> bridges and rules: the example file loads, a config without bridges or rules installs nothing (the
 * publish path stays as it was), and one with rules installs only the observers its rules need.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseConfig } from "../../src/config/parse_config.ts";
import { startBridgesAndRules, withBridgePaths } from "../../adapters/bridge/from_config.ts";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { testBroker } from "../_helpers/broker.ts";
import { finishProcess, startCli } from "../_helpers/cli_process.ts";

const EXAMPLE = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "examples", "edge_to_cloud.yaml");

describe("bridges and rules from config", () => {
  it("examples/edge_to_cloud.yaml parses, with its bridge, rules and relative paths resolved", async () => {
    const config = withBridgePaths(
      parseConfig(await readFile(EXAMPLE, "utf8"), "edge_to_cloud.yaml"),
      dirname(EXAMPLE),
    );
    assert.equal(config.bridges?.[0]?.name, "cloud");
    assert.deepEqual(config.bridges?.[0]?.out, [{ from: "sensors/#", to: "site1/sensors/#", qos: 1 }]);
    assert.deepEqual(config.rules?.map((r) => r.id), ["hot", "presence"]);
  });

  it("no bridges and no rules: no hook is added", async () => {
    const broker = testBroker();
    const before = broker.hooks.hooks.length;
    const installed = await startBridgesAndRules(broker, parseConfig("log: { level: info }", "c.yaml"));
    assert.deepEqual(installed.bridges, []);
    assert.equal(installed.rules, undefined);
    assert.equal(broker.hooks.hooks.length, before);
    assert.equal(broker.hooks.has("onPublished"), false);
    await broker.close();
  });

  it("event-only rules observe events and not publishes", async () => {
    const broker = testBroker();
    const config = parseConfig(
      [
        "rules:",
        "  - id: presence",
        '    sql: SELECT clientid FROM "$events/client_connected"',
        '    actions: [ { republish: { topic: "p/${clientid}" } } ]',
      ].join("\n"),
      "c.yaml",
    );
    const installed = await startBridgesAndRules(broker, config);
    assert.ok(installed.rules);
    assert.equal(broker.hooks.has("onPublished"), false);
    assert.equal(broker.hooks.has("onConnected"), true);
    assert.equal(broker.hooks.has("onDisconnected"), false);
    await broker.close();
  });

  it("the CLI refuses to start on a malformed rule, naming the file, line, rule, and SQL line and column", async () => {
    const dir = await mkdtemp(join(tmpdir(), "comqtt-rules-"));
    try {
      const file = join(dir, "bad.yaml");
      await writeFile(
        file,
        [
          'listeners: [ { type: tcp, address: "127.0.0.1:0" } ]',
          "rules:",
          "  - id: typo",
          '    sql: SELECT payload.t FROM "a/#" WHERE payload.t >> 3',
          '    actions: [ { republish: { topic: "b" } } ]',
        ].join("\n") + "\n",
      );
      const { code, output } = await finishProcess(startCli(["--config", file]), 30_000);
      assert.equal(code, 2, output);
      assert.match(output, /bad\.yaml:4: rules\[0\]\.sql: rule "typo": line 1, column 46: expected a value/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
