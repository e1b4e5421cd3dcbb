import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { applyOverrides } from "./cli_overrides.ts";
import { LOCAL_CONFIG } from "./config.ts";
import { parseConfig } from "./parse_config.ts";
import { ConfigError } from "./config_error.ts";

describe("applyOverrides", () => {
  it("changes nothing without flags", () => {
    assert.deepEqual(applyOverrides(LOCAL_CONFIG, {}), LOCAL_CONFIG);
  });

  it("--tcp replaces the tcp listeners only, keeping ws ones", () => {
    const config = parseConfig(
      `listeners:\n  - { type: tcp, address: ":1883" }\n  - { type: ws, id: web, address: ":1882" }\n`,
      "c",
    );
    const out = applyOverrides(config, { tcp: ["127.0.0.1:0", "[::1]:1884"] });
    assert.deepEqual(out.listeners, [
      { type: "ws", id: "web", host: "0.0.0.0", port: 1882, path: "/mqtt" },
      { type: "tcp", id: "tcp1", host: "127.0.0.1", port: 0 },
      { type: "tcp", id: "tcp2", host: "::1", port: 1884 },
    ]);
  });

  it("--ws adds ws listeners with the default path, --http and --log-level set their keys", () => {
    const out = applyOverrides(LOCAL_CONFIG, {
      ws: ["127.0.0.1:1882"],
      http: "127.0.0.1:8081",
      logLevel: "debug",
    });
    assert.deepEqual(out.listeners, [
      ...LOCAL_CONFIG.listeners,
      { type: "ws", id: "ws1", host: "127.0.0.1", port: 1882, path: "/mqtt" },
    ]);
    assert.deepEqual(out.http, { host: "127.0.0.1", port: 8081 });
    assert.equal(out.log.level, "debug");
    assert.equal(out.log.format, "text");
  });

  it("reports every bad flag", () => {
    assert.throws(
      () => applyOverrides(LOCAL_CONFIG, { tcp: ["nope"], http: "1:99999", logLevel: "loud" }),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.message ===
          [
            "Cannot use the command-line flags: 3 problems",
            'command line: --tcp: expected "host:port" such as "127.0.0.1:1883", received "nope"',
            'command line: --http: expected a port from 0 to 65535 in "1:99999"',
            'command line: --log-level: expected one of debug, info, warn, error, silent, received "loud"',
          ].join("\n"),
    );
  });

  it("refuses an id clash between flag listeners and config listeners", () => {
    const config = parseConfig(`listeners:\n  - { type: ws, id: tcp1, address: ":1882" }\n`, "c");
    assert.throws(() => applyOverrides(config, { tcp: [":1883"] }), /listener id "tcp1" is also used/);
  });
});
