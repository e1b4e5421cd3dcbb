import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { formatAddress, isLoopback, parseAddress } from "./address.ts";

describe("parseAddress", () => {
  it("parses host:port, [ipv6]:port, :port and a bare port", () => {
    assert.deepEqual(parseAddress("127.0.0.1:1883"), { host: "127.0.0.1", port: 1883 });
    assert.deepEqual(parseAddress("localhost:0"), { host: "localhost", port: 0 });
    assert.deepEqual(parseAddress("broker.example.com:8883"), { host: "broker.example.com", port: 8883 });
    assert.deepEqual(parseAddress("[::1]:1883"), { host: "::1", port: 1883 });
    assert.deepEqual(parseAddress("[::]:1883"), { host: "::", port: 1883 });
    assert.deepEqual(parseAddress(":1884"), { host: "0.0.0.0", port: 1884 });
    assert.deepEqual(parseAddress("1885"), { host: "0.0.0.0", port: 1885 });
    assert.deepEqual(parseAddress("0.0.0.0:65535"), { host: "0.0.0.0", port: 65535 });
  });

  it("explains what is wrong", () => {
    const error = (s: string) => {
      const r = parseAddress(s);
      assert.ok("error" in r, s);
      return r.error;
    };
    assert.match(error("nope"), /expected "host:port" such as "127.0.0.1:1883", received "nope"/);
    assert.match(error("host:65536"), /expected a port from 0 to 65535 in "host:65536"/);
    assert.match(error("host:"), /expected a port/);
    assert.match(error("host:-1"), /expected a port/);
    assert.match(error("host:1e3"), /expected a port/);
    assert.match(error("::1:1883"), /write an IPv6 address in brackets/);
    assert.match(error("[::1]1883"), /expected "host:port"/);
    assert.match(error("[nothex]:1883"), /expected "host:port"/);
    assert.match(error("bad host:1883"), /expected "host:port"/);
    assert.match(error(""), /expected "host:port"/);
  });
});

describe("formatAddress / isLoopback", () => {
  it("formats with brackets for IPv6", () => {
    assert.equal(formatAddress({ host: "::1", port: 1 }), "[::1]:1");
    assert.equal(formatAddress({ host: "127.0.0.1", port: 1883 }), "127.0.0.1:1883");
  });
  it("knows loopback hosts", () => {
    for (const h of ["127.0.0.1", "127.1.2.3", "::1", "localhost"]) assert.equal(isLoopback(h), true, h);
    for (const h of ["0.0.0.0", "::", "10.0.0.1", "example.com", "127.0.0.1.example.com"]) {
      assert.equal(isLoopback(h), false, h);
    }
  });
});
