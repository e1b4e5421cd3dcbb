import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "./parse_config.ts";
import { ConfigError } from "./config_error.ts";

function problems(text: string): string[] {
  try {
    parseConfig(text, "config.yaml");
  } catch (err) {
    if (err instanceof ConfigError) return err.message.split("\n").filter((l) => l.startsWith("config.yaml"));
    throw err;
  }
  return [];
}

describe("auth backends in the config", () => {
  it("reads an http backend with defaults for timeout, cache and onError", () => {
    const config = parseConfig(
      "auth:\n  type: http\n  url: http://127.0.0.1:9000/mqtt/auth\n",
      "config.yaml",
    );
    assert.deepEqual(config.auth, {
      type: "http",
      url: "http://127.0.0.1:9000/mqtt/auth",
      method: "POST",
      passwordInQuery: false,
      timeout: 5000,
      cache: { ttl: 60, size: 100_000 },
      onError: "deny",
    });
  });

  it("builds CoMQTT's SQL queries from table and column names, and takes CoMQTT's numeric hash codes", () => {
    const config = parseConfig(
      "auth:\n  type: mysql\n  url: mysql://u:p@127.0.0.1/mqtt\n  authTable: users\n  passwordHash: 1\n",
      "config.yaml",
    );
    const auth = config.auth as { authQuery: string; aclQuery: string; passwordHash: string };
    assert.equal(auth.authQuery, "SELECT password AS password, allow AS allow FROM users WHERE username = ?");
    assert.equal(auth.aclQuery, "SELECT topic AS topic, access AS access FROM acl WHERE username = ?");
    assert.equal(auth.passwordHash, "bcrypt");
    const md5 = parseConfig("auth:\n  type: redis\n  url: redis://h\n  passwordHash: 2\n", "config.yaml");
    assert.equal((md5.auth as { passwordHash: string }).passwordHash, "md5", "CoMQTT's 2");
  });

  it("chain links inherit the chain's timeout, cache and onError", () => {
    const config = parseConfig(
      "auth:\n  onError: ignore\n  timeout: 250\n  chain:\n    - { type: file, file: u.yaml }\n" +
        "    - { type: redis, url: redis://127.0.0.1:6379, timeout: 900 }\n",
      "config.yaml",
    );
    const chain = (config.auth as unknown as { chain: Array<Record<string, unknown>> }).chain;
    assert.deepEqual(chain[0], { type: "file", file: "u.yaml" });
    assert.equal(chain[1]!.onError, "ignore");
    assert.equal(chain[1]!.timeout, 900);
    assert.equal(chain[1]!.authKey, "comqtt:auth");
  });

  it("names file:line:key for a missing url, an unknown type, a query without its parameter", () => {
    assert.deepEqual(problems("auth:\n  type: http\n  timeout: 100\n"), [
      'config.yaml:1: auth: missing key "url" (e.g. "http://127.0.0.1:9000/mqtt/auth")',
    ]);
    assert.deepEqual(problems("auth:\n  chain:\n    - { type: ldap }\n"), [
      'config.yaml:3: auth.chain[0].type: expected one of allow, deny, file, http, redis, postgres, mysql, jwt, received "ldap"',
    ]);
    assert.deepEqual(
      problems(
        "auth:\n  type: postgres\n  url: postgres://u@h/db\n  authQuery: SELECT password FROM auth WHERE username = 'x'\n",
      ),
      [
        `config.yaml:4: auth.authQuery: the query has no parameter $1 for the user name: "SELECT password FROM auth WHERE username = 'x'"`,
      ],
    );
    assert.deepEqual(
      problems("auth:\n  type: mysql\n  url: mysql://h/db\n  aclQuery: SELECT 1 WHERE a = $1\n"),
      [
        'config.yaml:4: auth.aclQuery: the query has no parameter ? for the user name: "SELECT 1 WHERE a = $1"',
      ],
    );
  });

  it("more mistakes: a wrong scheme, a bad table name, an unknown hash code, an HMAC without its key, two JWT keys", () => {
    assert.deepEqual(problems("auth:\n  type: redis\n  url: http://127.0.0.1:6379\n"), [
      'config.yaml:3: auth.url: expected a redis:// or rediss:// URL, received "http://127.0.0.1:6379"',
    ]);
    assert.match(
      problems("auth:\n  type: postgres\n  url: postgres://h/d\n  authTable: 'x; drop'\n")[0]!,
      /authTable: expected a plain SQL name/,
    );
    assert.match(
      problems("auth:\n  type: redis\n  url: redis://h\n  passwordHash: 9\n")[0]!,
      /expected one of CoMQTT's codes 0 to 8 .* received 9/,
    );
    assert.match(
      problems("auth:\n  type: redis\n  url: redis://h\n  passwordHash: hmac-sha256\n")[0]!,
      /missing key "hashKey"/,
    );
    assert.match(problems("auth:\n  type: jwt\n  secret: s\n  jwksFile: k.json\n")[0]!, /exactly one of/);
    assert.match(
      problems("auth:\n  type: http\n  url: http://h\n  cache: { ttl: -1 }\n")[0]!,
      /auth.cache.ttl: expected a whole number/,
    );
    assert.match(
      problems("auth:\n  type: http\n  url: http://h\n  onError: retry\n")[0]!,
      /auth.onError: expected one of deny, ignore/,
    );
  });
});
