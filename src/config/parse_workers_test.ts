import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "./parse_config.ts";
import { ConfigError } from "./config_error.ts";

/** The message of the ConfigError that parsing `yaml` throws. */
function problems(yaml: string): string {
  try {
    parseConfig(yaml, "c.yaml");
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.message;
  }
  assert.fail("expected a ConfigError");
}

describe("config: workers", () => {
  it("is absent by default, and takes a whole number or auto", () => {
    assert.equal(parseConfig("", "c.yaml").workers, undefined);
    assert.equal(parseConfig("workers: 1", "c.yaml").workers, 1);
    assert.equal(parseConfig("workers: 4", "c.yaml").workers, 4);
    assert.equal(parseConfig("workers: auto", "c.yaml").workers, "auto");
  });

  it("refuses other values, naming file, line and key", () => {
    assert.match(problems("log: { level: info }\nworkers: 0"), /c\.yaml:2: workers: .*from 1 to 256.*0/);
    assert.match(problems("workers: 2.5"), /c\.yaml:1: workers: .*2\.5/);
    assert.match(problems('workers: "many"'), /c\.yaml:1: workers: .*"auto".*"many"/);
  });

  it("refuses storage other than memory, and cluster, with more than one worker", () => {
    assert.match(
      problems("workers: 2\nstorage: { type: sqlite, path: x.db }"),
      /c\.yaml:1: workers: workers 2 does not support storage type "sqlite" yet/,
    );
    assert.match(
      problems("workers: auto\ncluster: { nats: { servers: [nats://127.0.0.1:4222] } }"),
      /workers "auto" cannot be combined with "cluster" yet/,
    );
    assert.equal(parseConfig("workers: 1\nstorage: { type: sqlite, path: x.db }", "c.yaml").workers, 1);
  });
});
