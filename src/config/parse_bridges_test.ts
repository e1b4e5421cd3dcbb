import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "./parse_config.ts";
import { ConfigError } from "./config_error.ts";

const ISSUE_EXAMPLE = `
bridges:
  - name: cloud
    remote: { url: "mqtts://cloud.example:8883", clientId: edge-1, username: u, password: p, ca: ./ca.pem,
              protocolVersion: 5 }
    out: [ { local: "sensors/#", remote: "site1/sensors/#", qos: 1 } ]
    in:  [ { remote: "site1/cmd/#", local: "cmd/#", qos: 1 } ]
    queue: { maxMessages: 100000, maxBytes: 64MiB }
rules:
  - id: hot
    sql: SELECT payload.temp AS t, clientid, topic FROM "sensors/+/data" WHERE payload.temp > 30
    actions:
      - republish: { topic: "alerts/\${clientid}", qos: 1, payload: '{"t": \${t}}' }
      - http: { url: "http://127.0.0.1:9000/hook", method: POST }
      - bridge: cloud
`;

function problems(yaml: string): string[] {
  try {
    parseConfig(yaml, "c.yaml");
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message.split("\n").filter((l) => l.startsWith("c.yaml"));
  }
  assert.fail("expected a ConfigError");
}

describe("config: bridges and rules", () => {
  it("reads the issue's example with its defaults", () => {
    const c = parseConfig(ISSUE_EXAMPLE, "c.yaml");
    assert.deepEqual(c.bridges, [{
      name: "cloud",
      remote: {
        url: "mqtts://cloud.example:8883",
        clientId: "edge-1",
        username: "u",
        password: "p",
        ca: "./ca.pem",
        protocolVersion: 5,
        keepalive: 30,
      },
      out: [{ from: "sensors/#", to: "site1/sensors/#", qos: 1 }],
      in: [{ from: "site1/cmd/#", to: "cmd/#", qos: 1 }],
      queue: { maxMessages: 100_000, maxBytes: 64 * 1024 * 1024, policy: "drop-oldest" },
      reconnect: { minDelay: 500, maxDelay: 30_000 },
      inflight: 64,
    }]);
    assert.deepEqual(c.rules?.[0]?.actions.map((a) => a.type), ["republish", "http", "bridge"]);
  });

  it("no bridges or rules keys: neither is set", () => {
    const c = parseConfig("log: { level: info }", "c.yaml");
    assert.equal(c.bridges, undefined);
    assert.equal(c.rules, undefined);
  });

  it("names the file, line and key of bad bridges", () => {
    const lines = problems(`
bridges:
  - name: "bad name"
    remote: { url: "http://x", protocolVersion: 6 }
    out: [ { local: "a/#", remote: "b/+" } ]
    queue: { maxBytes: lots, policy: sometimes }
`);
    assert.deepEqual(lines, [
      'c.yaml:3: bridges[0].name: expected 1 to 64 letters, digits, "_" or "-", received "bad name"',
      'c.yaml:4: bridges[0].remote.url: expected mqtt://, mqtts://, ws:// or wss:// and a host, received "http://x"',
      'c.yaml:4: bridges[0].remote: missing key "clientId" (the id this broker uses on the remote)',
      'c.yaml:4: bridges[0].remote.protocolVersion: expected one of 3, 4, 5, received "6"',
      'c.yaml:5: bridges[0].out[0]: the wildcard part of "a/#" ("#") and of "b/+" ("+") must be the same',
      'c.yaml:6: bridges[0].queue.maxBytes: expected a size such as 67108864, "64MiB" or "500kB", received "lots"',
      'c.yaml:6: bridges[0].queue.policy: expected one of drop-oldest, refuse-new, received "sometimes"',
    ]);
  });

  it("a malformed rule stops the start with the rule id, line and column", () => {
    const lines = problems(`
rules:
  - id: broken
    sql: |
      SELECT payload.t AS t
      FROM "a/#" WHERE t >
    actions: [ { republish: { topic: "x" } } ]
  - id: unknown-bridge
    sql: SELECT * FROM "#"
    actions: [ { bridge: nowhere } ]
`);
    assert.deepEqual(lines, [
      'c.yaml:4: rules[0].sql: rule "broken": line 2, column 21: expected a value, a field or a function, found the end of the statement',
      'c.yaml:10: rules[1].actions[0].bridge: no bridge named "nowhere" (bridges: none)',
    ]);
  });

  it("a bad FROM source names its line and column", () => {
    const lines = problems(`
rules:
  - id: ev
    sql: SELECT clientid FROM "a/#", "$events/client_exploded"
    actions: [ { republish: { topic: "x" } } ]
  - id: filter
    sql: |
      SELECT clientid
      FROM "a/#/b"
    actions: [ { republish: { topic: "x" } } ]
`);
    assert.equal(lines.length, 2);
    assert.match(
      lines[0]!,
      /^c\.yaml:4: rules\[0\]\.sql: rule "ev": line 1, column 29: unknown event "\$events\/client_exploded"/,
    );
    assert.match(lines[1]!, /^c\.yaml:7: rules\[1\]\.sql: rule "filter": line 2, column 6: FROM "a\/#\/b": /);
  });
});
