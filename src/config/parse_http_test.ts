import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "./parse_config.ts";
import { applyOverrides } from "./cli_overrides.ts";
import { ConfigError } from "./config_error.ts";
import { LOCAL_CONFIG } from "./config.ts";

function problems(text: string): string[] {
  try {
    parseConfig(text, "config.yaml");
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems.map((p) => `${p.source}:${p.line}: ${p.path}: ${p.message}`);
  }
  return [];
}

describe("config: http", () => {
  it("the CLI without a config serves the dashboard on 127.0.0.1:8080, with no credentials", () => {
    assert.deepEqual(LOCAL_CONFIG.http, { host: "127.0.0.1", port: 8080 });
  });

  it("http.auth with a bearer token", () => {
    const config = parseConfig(
      'http: { address: "127.0.0.1:9000", auth: { token: "0123456789abcdef" } }',
      "c",
    );
    assert.deepEqual(config.http, {
      host: "127.0.0.1",
      port: 9000,
      auth: { token: "0123456789abcdef", publicRead: false },
    });
  });

  it("http.auth with basic auth, a token and public reading", () => {
    const config = parseConfig(
      `http:
  auth:
    token: "a-token-of-sixteen!"
    username: admin
    password: "s3cret:with:colons"
    publicRead: true
`,
      "c",
    );
    assert.deepEqual(config.http, {
      host: "127.0.0.1",
      port: 8080,
      auth: {
        token: "a-token-of-sixteen!",
        username: "admin",
        password: "s3cret:with:colons",
        publicRead: true,
      },
    });
  });

  it("refuses a short token, half of basic auth, a colon in the user name and unknown keys", () => {
    assert.deepEqual(problems('http: { auth: { token: "short" } }'), [
      "config.yaml:1: http.auth.token: expected at least 16 characters, received 5",
    ]);
    assert.deepEqual(problems("http:\n  auth:\n    username: admin\n"), [
      'config.yaml:2: http.auth: basic auth needs both "username" and "password"',
    ]);
    assert.deepEqual(problems('http: { auth: { username: "a:b", password: "p" } }'), [
      'config.yaml:1: http.auth.username: a basic auth user name cannot contain ":"',
    ]);
    assert.deepEqual(problems("http: { auth: {} }"), [
      'config.yaml:1: http.auth: expected "token" or "username" and "password"',
    ]);
    assert.deepEqual(problems('http: { auth: { token: "0123456789abcdef", publicRead: "yes", user: x } }'), [
      "config.yaml:1: http.auth.user: unknown key; expected one of token, username, password, publicRead",
      'config.yaml:1: http.auth.publicRead: expected true or false, received "yes"',
    ]);
  });

  it("--http moves the dashboard and keeps the config's credentials", () => {
    const config = parseConfig('http: { auth: { token: "0123456789abcdef" } }', "c");
    const moved = applyOverrides(config, { http: "127.0.0.1:0" });
    assert.deepEqual(moved.http, {
      host: "127.0.0.1",
      port: 0,
      auth: { token: "0123456789abcdef", publicRead: false },
    });
  });
});
