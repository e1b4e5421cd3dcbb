import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "./parse_config.ts";
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

describe("listeners: type coap", () => {
  it("reads a coap listener with its own auth; it may share a port number with a tcp listener", () => {
    const config = parseConfig(
      `listeners:
  - { type: tcp, address: "0.0.0.0:5683" }
  - { type: coap, address: "0.0.0.0:5683", maxConnections: 50, auth: { type: allow } }
`,
      "config.yaml",
    );
    assert.deepEqual(config.listeners[1], {
      type: "coap",
      id: "coap1",
      host: "0.0.0.0",
      port: 5683,
      maxConnections: 50,
      auth: { type: "allow" },
    });
  });

  it("names file, line and key for tls, path, a missing address and a reused UDP port", () => {
    assert.deepEqual(
      problems(`listeners:
  - { type: coap, address: ":5683", tls: { cert: a, key: b }, path: /x }
  - { type: coap }
  - { type: coap, address: ":5683" }
  - { type: udp, address: ":5684" }
`),
      [
        "config.yaml:2: listeners[0].tls: coap listeners take no tls (no DTLS)",
        "config.yaml:2: listeners[0].path: only ws listeners take a path",
        'config.yaml:3: listeners[1]: missing key "address" (e.g. "0.0.0.0:5683")',
        "config.yaml:4: listeners[2].address: address 0.0.0.0:5683 is already used by listeners[0]",
        'config.yaml:5: listeners[3].type: expected one of tcp, ws, unix, coap, received "udp"',
      ],
    );
  });
});
