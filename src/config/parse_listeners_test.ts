import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "./parse_config.ts";
import { applyOverrides } from "./cli_overrides.ts";
import { ConfigError } from "./config_error.ts";

function problems(text: string): string[] {
  try {
    parseConfig(text, "config.yaml");
  } catch (err) {
    if (err instanceof ConfigError) {
      return err.problems.map((p) => `${p.source}:${p.line}: ${p.path}: ${p.message}`);
    }
    throw err;
  }
  return [];
}

describe("listeners: tls, maxConnections and auth", () => {
  it("reads TLS, WSS, a per-listener limit and a per-listener auth; ids count per kind", () => {
    const config = parseConfig(
      `listeners:
  - { type: tcp, address: ":1883" }
  - type: tcp
    address: ":8883"
    maxConnections: 100
    tls: { cert: certs/server.crt, key: certs/server.key }
  - type: tcp
    address: ":8885"
    tls: { cert: s.crt, key: s.key, clientCa: ca.crt, useIdentityAsUsername: true }
    auth: { type: allow }
  - type: ws
    address: ":8884"
    tls: { cert: s.crt, key: s.key }
    auth: { type: file, file: ./devices.yaml }
`,
      "config.yaml",
    );
    assert.deepEqual(config.listeners, [
      { type: "tcp", id: "tcp1", host: "0.0.0.0", port: 1883 },
      {
        type: "tcp",
        id: "tls1",
        host: "0.0.0.0",
        port: 8883,
        maxConnections: 100,
        tls: { cert: "certs/server.crt", key: "certs/server.key", useIdentityAsUsername: false },
      },
      {
        type: "tcp",
        id: "tls2",
        host: "0.0.0.0",
        port: 8885,
        tls: { cert: "s.crt", key: "s.key", clientCa: "ca.crt", useIdentityAsUsername: true },
        auth: { type: "allow" },
      },
      {
        type: "ws",
        id: "wss1",
        host: "0.0.0.0",
        port: 8884,
        path: "/mqtt",
        tls: { cert: "s.crt", key: "s.key", useIdentityAsUsername: false },
        auth: { type: "file", file: "./devices.yaml" },
      },
    ]);
  });

  it("names every problem with its line and key", () => {
    assert.deepEqual(
      problems(`listeners:
  - type: tcp
    address: ":8883"
    tls: { cert: s.crt, useIdentityAsUsername: true, ca: x }
    maxConnections: -1
    auth: { type: ldap }
`),
      [
        "config.yaml:4: listeners[0].tls.ca: unknown key; expected one of cert, key, clientCa, useIdentityAsUsername",
        'config.yaml:4: listeners[0].tls: missing key "key" (a PEM file, e.g. "./certs/server.key")',
        'config.yaml:4: listeners[0].tls.useIdentityAsUsername: needs "clientCa": the user name comes from a client ' +
        "certificate, which only a client CA asks for",
        "config.yaml:5: listeners[0].maxConnections: expected a whole number from 0 to 10000000, received -1",
        'config.yaml:6: listeners[0].auth.type: expected one of allow, deny, file, http, redis, postgres, mysql, jwt, received "ldap"',
      ],
    );
    assert.deepEqual(problems("listeners:\n  - { type: tcp, tls: { cert: a, key: b } }"), [
      'config.yaml:2: listeners[0]: missing key "address" (e.g. "0.0.0.0:8883")',
    ]);
    assert.deepEqual(
      problems("listeners:\n  - { type: ws, address: ':1', tls: { cert: a, key: b, clientCa: 7 } }"),
      [
        "config.yaml:2: listeners[0].tls.clientCa: expected a non-empty string, received 7",
      ],
    );
  });

  it("auth type certificate: only on a listener with clientCa and useIdentityAsUsername, always with a file", () => {
    const config = parseConfig(
      `listeners:
  - type: tcp
    address: ":8885"
    tls: { cert: s.crt, key: s.key, clientCa: ca.crt, useIdentityAsUsername: true }
    auth: { type: certificate, file: ./devices.yaml }
`,
      "config.yaml",
    );
    assert.deepEqual(config.listeners[0].auth, { type: "certificate", file: "./devices.yaml" });
    assert.deepEqual(
      problems(`listeners:
  - type: tcp
    address: ":8885"
    tls: { cert: s.crt, key: s.key, clientCa: ca.crt }
    auth: { type: certificate, file: ./devices.yaml }
  - type: tcp
    address: ":8886"
    tls: { cert: s.crt, key: s.key, clientCa: ca.crt, useIdentityAsUsername: true }
    auth: { type: certificate }
auth: { type: certificate, file: x.yaml }
`),
      [
        'config.yaml:5: listeners[0].auth.type: "certificate" needs this listener\'s tls.clientCa and ' +
        "tls.useIdentityAsUsername: true (the certificate is the credential, and its common name the user name " +
        "the ACL rules see)",
        'config.yaml:9: listeners[1].auth: missing key "file" (the ACL rules for certificate users, e.g. ' +
        '"./devices.yaml")',
        `config.yaml:10: auth.type: "certificate" is a listener's auth only (one with tls.clientCa)`,
      ],
    );
  });

  it("--tcp and --ws replace the plain listeners and keep the TLS ones", () => {
    const config = parseConfig(
      `listeners:
  - { type: tcp, address: ":1883" }
  - { type: tcp, address: ":8883", tls: { cert: a, key: b } }
  - { type: ws, address: ":8884", tls: { cert: a, key: b } }
`,
      "config.yaml",
    );
    const out = applyOverrides(config, { tcp: ["127.0.0.1:1884"], ws: ["127.0.0.1:1882"] });
    assert.deepEqual(out.listeners.map((l) => `${l.id} ${l.host}:${l.port}`), [
      "tls1 0.0.0.0:8883",
      "wss1 0.0.0.0:8884",
      "tcp1 127.0.0.1:1884",
      "ws1 127.0.0.1:1882",
    ]);
  });
});

describe("listeners: unix sockets and WebSocket origins", () => {
  it("reads a unix listener's socket file and mode, and a ws listener's allowedOrigins", () => {
    const config = parseConfig(
      `listeners:
  - { type: unix, path: /run/comqtt.sock, mode: "0660", maxConnections: 10 }
  - { type: ws, address: ":1882", allowedOrigins: ["https://app.example.com", "*"] }
`,
      "config.yaml",
    );
    assert.deepEqual(config.listeners, [
      {
        type: "unix",
        id: "unix1",
        host: "localhost",
        port: 0,
        path: "/run/comqtt.sock",
        mode: 0o660,
        maxConnections: 10,
      },
      {
        type: "ws",
        id: "ws1",
        host: "0.0.0.0",
        port: 1882,
        path: "/mqtt",
        allowedOrigins: ["https://app.example.com", "*"],
      },
    ]);
  });

  it("names the key of every mistake", () => {
    assert.deepEqual(
      problems(`listeners:
  - { type: unix }
  - { type: unix, path: /a.sock, mode: "rw-rw----", address: ":1" }
  - { type: tcp, address: ":1883", mode: "0600", allowedOrigins: ["*"] }
  - { type: ws, address: ":1882", allowedOrigins: ["app.example.com"] }
`),
      [
        'config.yaml:2: listeners[0]: missing key "path" (the socket file, e.g. "/run/comqtt.sock")',
        "config.yaml:3: listeners[1].address: a unix listener takes no address",
        'config.yaml:3: listeners[1].mode: expected permission bits such as "0660", received "rw-rw----"',
        "config.yaml:4: listeners[2].mode: only unix listeners take a mode",
        "config.yaml:4: listeners[2].allowedOrigins: only ws listeners take allowedOrigins (browsers use WebSocket)",
        'config.yaml:5: listeners[3].allowedOrigins[0]: expected an origin such as "https://app.example.com" or "*", received "app.example.com"',
      ],
    );
  });
});
