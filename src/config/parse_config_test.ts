import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "./parse_config.ts";
import { DEFAULT_CONFIG, LOCAL_CONFIG } from "./config.ts";
import { ConfigError } from "./config_error.ts";
import { DEFAULT_LIMITS, resolveLimits } from "../options.ts";

function problems(text: string): string[] {
  try {
    parseConfig(text, "config.yaml");
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.message.split("\n").slice(1);
  }
  assert.fail("expected a ConfigError");
}

describe("parseConfig defaults", () => {
  it("an empty file is DEFAULT_CONFIG: one tcp listener on 0.0.0.0:1883 and auth deny", () => {
    for (const text of ["", "# nothing\n", "{}"]) {
      const config = parseConfig(text, "config.yaml");
      assert.deepEqual(config, { ...DEFAULT_CONFIG, limits: { ...DEFAULT_LIMITS } });
    }
    assert.deepEqual(DEFAULT_CONFIG.listeners, [{ type: "tcp", id: "tcp1", host: "0.0.0.0", port: 1883 }]);
    assert.deepEqual(DEFAULT_CONFIG.auth, { type: "deny" });
    assert.equal(DEFAULT_CONFIG.http, undefined);
    assert.deepEqual(DEFAULT_CONFIG.sys, { interval: 10 });
    assert.deepEqual(DEFAULT_CONFIG.log, { level: "info", format: "text" });
  });

  it("LOCAL_CONFIG (no config file) listens on loopback only and allows everyone", () => {
    assert.deepEqual(LOCAL_CONFIG.listeners, [{ type: "tcp", id: "tcp1", host: "127.0.0.1", port: 1883 }]);
    assert.deepEqual(LOCAL_CONFIG.auth, { type: "allow" });
  });

  it("defaults are frozen", () => {
    assert.equal(Object.isFrozen(DEFAULT_CONFIG), true);
    assert.equal(Object.isFrozen(DEFAULT_CONFIG.listeners[0]), true);
  });
});

describe("parseConfig keys", () => {
  it("reads every key", () => {
    const config = parseConfig(
      `
listeners:
  - { type: tcp, id: main, address: "127.0.0.1:1883" }
  - { type: tcp, address: "[::1]:1884" }
  - { type: ws, address: ":1882" }
  - { type: ws, id: ws-alt, address: "0.0.0.0:9001", path: /ws }
http: { address: "127.0.0.1:8081" }
auth: { type: file, file: ./users.yaml }
limits: { maxPacketSize: 65536, maxInflight: 10, connectTimeout: 5, maxConnections: 0 }
sys: { interval: 0 }
log: { level: debug, format: json }
`,
      "config.yaml",
    );
    assert.deepEqual(config.listeners, [
      { type: "tcp", id: "main", host: "127.0.0.1", port: 1883 },
      { type: "tcp", id: "tcp2", host: "::1", port: 1884 },
      { type: "ws", id: "ws1", host: "0.0.0.0", port: 1882, path: "/mqtt" },
      { type: "ws", id: "ws-alt", host: "0.0.0.0", port: 9001, path: "/ws" },
    ]);
    assert.deepEqual(config.http, { host: "127.0.0.1", port: 8081 });
    assert.deepEqual(config.auth, { type: "file", file: "./users.yaml" });
    assert.deepEqual(config.limits, {
      ...DEFAULT_LIMITS,
      maxPacketSize: 65536,
      maxInflight: 10,
      connectTimeout: 5,
      maxConnections: 0,
    });
    assert.deepEqual(config.sys, { interval: 0 });
    assert.deepEqual(config.log, { level: "debug", format: "json" });
  });

  it("limits it produces are accepted by resolveLimits", () => {
    const config = parseConfig(
      "limits: { maxPacketSize: 2, maxInflight: 65535, maxClientIdLength: 23 }",
      "c",
    );
    assert.deepEqual(resolveLimits(config.limits), config.limits);
  });

  it("http with no address binds the dashboard to 127.0.0.1:8080", () => {
    assert.deepEqual(parseConfig("http: {}", "c").http, { host: "127.0.0.1", port: 8080 });
    assert.deepEqual(parseConfig("http:", "c").http, { host: "127.0.0.1", port: 8080 });
  });

  it("auth allow and deny", () => {
    assert.deepEqual(parseConfig("auth: { type: allow }", "c").auth, { type: "allow" });
    assert.deepEqual(parseConfig("auth: { type: deny }", "c").auth, { type: "deny" });
  });

  it("accepts a bare port number as an address", () => {
    assert.deepEqual(parseConfig("listeners: [{ type: tcp, address: 1883 }]", "c").listeners[0], {
      type: "tcp",
      id: "tcp1",
      host: "0.0.0.0",
      port: 1883,
    });
  });
});

describe("parseConfig errors", () => {
  it("names the file, line and key path, and collects all problems", () => {
    const text = [
      "listeners:", // 1
      "  - type: wss", // 2
      "    address: nope", // 3
      "  - { type: tcp, address: '0.0.0.0:1883', path: /x }", // 4
      "limits:", // 5
      "  maxInflight: ten", // 6
      "  maxInflite: 3", // 7
      "sys: { interval: -1 }", // 8
      "log:", // 9
      "  level: loud", // 10
      "  format: xml", // 11
      "auth: { type: file }", // 12
      "extra: 1", // 13
    ].join("\n");
    assert.deepEqual(problems(text), [
      'config.yaml:2: listeners[0].type: expected one of tcp, ws, unix, coap, received "wss"',
      'config.yaml:3: listeners[0].address: expected "host:port" such as "127.0.0.1:1883", received "nope"',
      "config.yaml:4: listeners[1].path: only ws listeners take a path",
      'config.yaml:6: limits.maxInflight: expected a whole number from 1 to 65535, received "ten"',
      'config.yaml:7: limits.maxInflite: unknown key (did you mean "maxInflight"?)',
      "config.yaml:8: sys.interval: expected a whole number from 0 to 86400, received -1",
      'config.yaml:10: log.level: expected one of debug, info, warn, error, silent, received "loud"',
      'config.yaml:11: log.format: expected one of text, json, received "xml"',
      'config.yaml:12: auth: missing key "file" (the users file, e.g. "./users.yaml")',
      "config.yaml:13: extra: unknown key; expected one of listeners, http, auth, limits, capabilities, mqtt, storage, sys, log, cluster, bridges, rules, workers",
    ]);
  });

  it("checks every limit's range", () => {
    const out = problems(
      "limits: { maxPacketSize: 1, receiveMaximum: 0, maxClientIdLength: 22, maxKeepAlive: 65536, connectTimeout: 0, maxQueuedMessages: 1.5 }",
    );
    assert.deepEqual(out, [
      "config.yaml:1: limits.maxPacketSize: expected a whole number from 2 to 268435460, received 1",
      "config.yaml:1: limits.receiveMaximum: expected a whole number from 1 to 65535, received 0",
      "config.yaml:1: limits.maxClientIdLength: expected a whole number from 23 to 65535, received 22",
      "config.yaml:1: limits.maxKeepAlive: expected a whole number from 0 to 65535, received 65536",
      "config.yaml:1: limits.connectTimeout: expected a whole number from 1 to 3600, received 0",
      "config.yaml:1: limits.maxQueuedMessages: expected a whole number from 0 to 10000000, received 1.5",
    ]);
  });

  it("refuses duplicate listener ids and addresses, and an http address taken by a listener", () => {
    assert.deepEqual(
      problems(`listeners:
  - { type: tcp, id: a, address: "127.0.0.1:1883" }
  - { type: tcp, id: a, address: "127.0.0.1:1884" }
  - { type: ws, address: "127.0.0.1:1883" }
http: { address: "127.0.0.1:1884" }
`),
      [
        'config.yaml:3: listeners[1].id: duplicate id "a" (also listeners[0])',
        "config.yaml:4: listeners[2].address: address 127.0.0.1:1883 is already used by listeners[0]",
        "config.yaml:5: http.address: address 127.0.0.1:1884 is already used by listeners[1]",
      ],
    );
  });

  it("refuses missing and malformed listener entries", () => {
    assert.deepEqual(problems("listeners: []"), ["config.yaml:1: listeners: expected at least one listener"]);
    assert.deepEqual(problems("listeners: { type: tcp }"), [
      "config.yaml:1: listeners: expected a list, received a mapping",
    ]);
    assert.deepEqual(
      problems("listeners:\n  - { id: x }\n  - tcp\n  - { type: ws, address: ':1', path: mqtt }"),
      [
        'config.yaml:2: listeners[0]: missing key "type" (one of tcp, ws, unix, coap)',
        'config.yaml:2: listeners[0]: missing key "address" (e.g. "0.0.0.0:1883")',
        'config.yaml:3: listeners[1]: expected a mapping, received "tcp"',
        'config.yaml:4: listeners[2].path: expected a path starting with "/", received "mqtt"',
      ],
    );
  });

  it("refuses a file for auth types that take none, and an unknown type", () => {
    assert.deepEqual(problems("auth: { type: allow, file: x }"), [
      'config.yaml:1: auth.file: only auth type "file" takes a file',
    ]);
    assert.deepEqual(problems("auth: { type: ldap }"), [
      'config.yaml:1: auth.type: expected one of allow, deny, file, http, redis, postgres, mysql, jwt, received "ldap"',
    ]);
    assert.deepEqual(problems("auth: {}"), [
      'config.yaml:1: auth: missing key "type" (one of allow, deny, file, http, redis, postgres, mysql, jwt), or a "chain" list',
    ]);
  });

  it("refuses a document that is not a mapping, and YAML syntax errors", () => {
    assert.deepEqual(problems("- a\n- b"), ["config.yaml:1: expected a mapping, received a list"]);
    const syntax = problems("limits:\n  maxInflight: 1\n  maxInflight: 2\n");
    assert.equal(syntax.length, 1);
    assert.match(syntax[0], /^config\.yaml:3: .*unique/);
  });

  it("ConfigError carries structured problems", () => {
    try {
      parseConfig("sys: { interval: x }", "c.yaml");
      assert.fail("expected a ConfigError");
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      assert.deepEqual(e.problems, [
        {
          source: "c.yaml",
          line: 1,
          path: "sys.interval",
          message: 'expected a whole number from 0 to 86400, received "x"',
        },
      ]);
    }
  });
});

describe("config: capabilities and storage", () => {
  it("reads capabilities and a Deno KV storage, with defaults for the rest", () => {
    const config = parseConfig(
      "capabilities:\n  maximumQoS: 1\n  retainAvailable: false\nstorage:\n  type: denokv\n  path: ./data/comqtt.kv\n",
      "c.yaml",
    );
    assert.equal(config.capabilities.maximumQoS, 1);
    assert.equal(config.capabilities.retainAvailable, false);
    assert.equal(config.capabilities.sharedSubscriptionAvailable, true);
    assert.deepEqual(config.storage, {
      type: "denokv",
      path: "./data/comqtt.kv",
      durableAcks: true,
      maxDelay: 5,
      maxPending: 10_000,
      maxPendingAcks: 256,
    });
  });

  it("reads a SQLite storage; sqlite needs a path and memory takes none", () => {
    const config = parseConfig(
      "storage:\n  type: sqlite\n  path: ./comqtt.db\n  durableAcks: false\n",
      "c.yaml",
    );
    assert.deepEqual(config.storage, {
      type: "sqlite",
      path: "./comqtt.db",
      durableAcks: false,
      maxDelay: 5,
      maxPending: 10000,
      maxPendingAcks: 256,
    });
    assert.throws(
      () => parseConfig("storage:\n  type: sqlite\n", "s.yaml"),
      /s\.yaml:1: storage: type "sqlite" needs a "path"/,
    );
    assert.throws(
      () => parseConfig("storage:\n  type: memory\n  path: x.db\n", "m.yaml"),
      /m\.yaml:3: storage\.path: only used with type "denokv" or "sqlite"/,
    );
    assert.throws(
      () => parseConfig("storage:\n  type: sqlite3\n  path: x.db\n", "t.yaml"),
      /t\.yaml:2: storage\.type: expected one of memory, denokv, sqlite, received "sqlite3"/,
    );
  });

  it("reads http.maxEventStreams (absent: the app's default), and names a bad one with file:line:key", () => {
    assert.equal(parseConfig("http:\n  maxEventStreams: 4\n", "c.yaml").http?.maxEventStreams, 4);
    assert.equal(parseConfig("http: {}\n", "c.yaml").http?.maxEventStreams, undefined);
    assert.throws(
      () => parseConfig("http:\n  address: 127.0.0.1:8080\n  maxEventStreams: 0\n", "c.yaml"),
      /c\.yaml:3: http\.maxEventStreams: expected a whole number from 1 to 100000/,
    );
  });

  it("reads storage.maxPending and storage.maxPendingAcks, and names bad values with file:line:key", () => {
    const config = parseConfig("storage:\n  maxPending: 500\n  maxPendingAcks: 32\n", "c.yaml");
    assert.deepEqual([config.storage.maxPending, config.storage.maxPendingAcks], [500, 32]);
    assert.throws(
      () => parseConfig("storage:\n  maxPending: 0\n  maxPendingAcks: many\n", "c.yaml"),
      (err: Error) => {
        assert.match(
          err.message,
          /c\.yaml:2: storage\.maxPending: expected a whole number from 1 to 10000000/,
        );
        assert.match(
          err.message,
          /c\.yaml:3: storage\.maxPendingAcks: expected a whole number from 1 to 65535/,
        );
        return true;
      },
    );
  });

  it("defaults to memory storage and every capability on", () => {
    const config = parseConfig("", "c.yaml");
    assert.equal(config.storage.type, "memory");
    assert.equal(config.capabilities.maximumQoS, 2);
  });

  it("names bad capability and storage keys with their lines", () => {
    assert.throws(
      () =>
        parseConfig("capabilities:\n  maximumQoS: 3\n  retain: true\nstorage:\n  type: denokv\n", "c.yaml"),
      (err: Error) => {
        assert.match(err.message, /c\.yaml:2: capabilities\.maximumQoS: expected a whole number from 0 to 2/);
        assert.match(err.message, /c\.yaml:3: capabilities\.retain: unknown key/);
        assert.match(err.message, /storage: type "denokv" needs a "path"/);
        return true;
      },
    );
  });
});

describe("config: mqtt", () => {
  it("reads the shared subscription strategy and Response Information, and refuses others", () => {
    const config = parseConfig(
      "mqtt:\n  sharedSubscriptionStrategy: random\n  responseInformation: reply/\n",
      "m.yaml",
    );
    assert.deepEqual(config.mqtt, {
      sharedSubscriptionStrategy: "random",
      responseInformation: "reply/",
      allowCrossUserTakeover: false,
    });
    assert.deepEqual(parseConfig("", "m.yaml").mqtt, {
      sharedSubscriptionStrategy: "round-robin",
      allowCrossUserTakeover: false,
    });
    assert.equal(
      parseConfig("mqtt:\n  allowCrossUserTakeover: true\n", "m.yaml").mqtt.allowCrossUserTakeover,
      true,
    );
    assert.throws(
      () => parseConfig("mqtt:\n  allowCrossUserTakeover: 1\n", "m.yaml"),
      /m\.yaml:2: mqtt\.allowCrossUserTakeover/,
    );
    assert.throws(
      () => parseConfig("mqtt:\n  sharedSubscriptionStrategy: sticky\n", "m.yaml"),
      /m\.yaml:2: mqtt\.sharedSubscriptionStrategy: expected one of round-robin, random, received "sticky"/,
    );
  });
});
