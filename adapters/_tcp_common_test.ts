import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { hostPort, listenError, resolveTcpOptions } from "./_tcp_common.ts";

describe("resolveTcpOptions", () => {
  it("fills in the library defaults", () => {
    assert.deepEqual(resolveTcpOptions(), {
      id: "tcp",
      host: "0.0.0.0",
      port: 1883,
      highWaterMark: 1024 * 1024,
    });
  });

  it("names the bad option and quotes the value", () => {
    assert.throws(() => resolveTcpOptions({ port: 70_000 }), {
      name: "RangeError",
      message:
        'Cannot create TCP listener "tcp": port must be a whole number from 0 to 65535, received 70000',
    });
    assert.throws(() => resolveTcpOptions({ id: "" }), TypeError);
    assert.throws(() => resolveTcpOptions({ highWaterMark: -1 }), RangeError);
  });
});

describe("hostPort", () => {
  it("brackets IPv6 hosts", () => {
    assert.equal(hostPort("127.0.0.1", 1883), "127.0.0.1:1883");
    assert.equal(hostPort("::1", 1883), "[::1]:1883");
  });
});

describe("listenError", () => {
  it("words the errno code the same on every runtime and keeps the cause", () => {
    const cause = Object.assign(new Error("Address already in use (os error 98)"), { code: "EADDRINUSE" });
    const error = listenError("0.0.0.0", 1883, cause);
    assert.equal(error.message, "Cannot listen on 0.0.0.0:1883: address already in use");
    assert.equal(error.cause, cause);
    assert.equal(listenError("::", 80, new Error("boom")).message, "Cannot listen on [::]:80: boom");
  });
});
