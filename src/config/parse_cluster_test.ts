import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "./parse_config.ts";
import { ConfigError } from "./config_error.ts";
import { MASK, maskSecrets } from "../http/views.ts";

function problems(text: string): string[] {
  try {
    parseConfig(text, "conf/cluster.yaml");
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.message.split("\n").slice(1);
  }
  assert.fail("expected a ConfigError");
}

describe("parseConfig cluster", () => {
  it("has no cluster unless the file says so", () => {
    assert.equal(parseConfig("", "c.yaml").cluster, undefined);
    assert.equal("cluster" in parseConfig("", "c.yaml"), false);
  });

  it("reads the node, the NATS servers and the defaults", () => {
    const config = parseConfig(
      'cluster:\n  node: n1\n  nats:\n    servers: ["nats://127.0.0.1:4222", "nats://10.0.0.2:4222"]\n',
      "c.yaml",
    );
    assert.deepEqual(config.cluster, {
      node: "n1",
      nats: { servers: ["nats://127.0.0.1:4222", "nats://10.0.0.2:4222"] },
      prefix: "mqtt",
      heartbeatMs: 1000,
      deadAfterMs: 4000,
      replicas: 1,
      shutdownGraceMs: 2000,
      sessionSweepMs: 60_000,
    });
  });

  it("takes credentials and TLS files, relative to the config file", () => {
    const config = parseConfig(
      [
        "cluster:",
        "  nats:",
        "    servers: nats://n:4222",
        "    user: broker",
        "    pass: secret",
        "    credsFile: nats.creds",
        "    tls: { ca: ca.pem, cert: /etc/c.pem, key: k.pem }",
        "  replicas: 3",
      ].join("\n"),
      "conf/cluster.yaml",
    );
    assert.deepEqual(config.cluster?.nats, {
      servers: ["nats://n:4222"],
      user: "broker",
      pass: "secret",
      credsFile: "conf/nats.creds",
      tls: { ca: "conf/ca.pem", cert: "/etc/c.pem", key: "conf/k.pem" },
    });
    assert.equal(config.cluster?.node, undefined);
    assert.equal(config.cluster?.replicas, 3);
    // The dashboard's config view never shows the NATS password.
    const shown = maskSecrets(config) as { cluster: { nats: { pass: string; user: string } } };
    assert.equal(shown.cluster.nats.pass, MASK);
    assert.equal(shown.cluster.nats.user, "broker");
  });

  it("names the file, line and key of each mistake", () => {
    assert.deepEqual(problems("cluster:\n  node: n1\n"), [
      `conf/cluster.yaml:1: cluster: missing key "nats" (with "servers")`,
    ]);
    assert.deepEqual(problems("cluster:\n  nats: { servers: [] }\n"), [
      "conf/cluster.yaml:2: cluster.nats.servers: expected at least one server",
    ]);
    const many = problems(
      [
        "cluster:",
        "  node: bad name",
        "  nats:",
        '    servers: ["http://x"]',
        "    user: u",
        "    token: t",
        "  heartbeatMs: 1000",
        "  deadAfterMs: 1500",
        "  gossip: true",
      ].join("\n"),
    );
    assert.equal(many.length, 6, many.join("\n"));
    assert.match(
      many[0]!,
      /cluster.yaml:2: cluster.node: expected 1 to 64 letters, digits, "_" or "-", received "bad name"/,
    );
    assert.match(many.join("\n"), /:3: cluster.nats: "user" and "pass" go together/);
    assert.match(
      many.join("\n"),
      /:4: cluster.nats.servers\[0\]: expected a NATS URL like "nats:\/\/host:4222", received "http:\/\/x"/,
    );
    assert.match(many.join("\n"), /:6: cluster.nats.token: use either "token" or "user"\/"pass"/);
    assert.match(
      many.join("\n"),
      /:8: cluster.deadAfterMs: expected at least twice heartbeatMs \(2000\), received 1500/,
    );
    assert.match(many.join("\n"), /:9: cluster.gossip: unknown key/);
  });

  it("refuses a storage file next to a cluster, naming the line, and takes memory storage's options", () => {
    const refused = problems(
      'storage:\n  type: sqlite\n  path: b.db\ncluster:\n  nats: { servers: ["nats://127.0.0.1:4222"] }\n',
    );
    assert.equal(refused.length, 1, refused.join("\n"));
    assert.match(
      refused[0]!,
      /cluster.yaml:2: storage.type: "sqlite" cannot be used with "cluster".*JetStream/,
    );
    const config = parseConfig(
      'storage: { durableAcks: false }\ncluster:\n  nats: { servers: ["nats://127.0.0.1:4222"] }\n',
      "c.yaml",
    );
    assert.equal(config.storage.durableAcks, false);
  });
});
