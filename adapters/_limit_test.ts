import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ConnectionLimit, resolveLimitOptions, withConnectionLimit } from "./_limit.ts";
import type { Accept, Connection, ConnectionHandler, Listener } from "../src/transport/connection.ts";
import { silentLogger } from "../src/logger.ts";

function fakeConnection(): Connection & { destroyed: number } {
  return {
    remoteAddress: "127.0.0.1:5",
    destroyed: 0,
    write: () => true,
    end() {},
    destroy() {
      this.destroyed++;
    },
  };
}

function logger() {
  const lines: Array<{ message: string; fields?: Record<string, unknown> }> = [];
  return {
    lines,
    ...silentLogger,
    warn: (message: string, fields?: Record<string, unknown>) => void lines.push({ message, fields }),
  };
}

describe("ConnectionLimit", () => {
  it("admits up to the maximum, refuses the rest, and logs the first refusal with a count", () => {
    const log = logger();
    const limit = new ConnectionLimit("tcp1", { maxConnections: 2, logger: log });
    assert.equal(limit.admit("a"), true);
    assert.equal(limit.admit("b"), true);
    assert.equal(limit.admit("c"), false);
    assert.equal(limit.admit("d"), false);
    assert.equal(limit.refused, 2);
    assert.deepEqual(log.lines, [{
      message: "listener connection limit reached: refusing connection",
      fields: { listener: "tcp1", maxConnections: 2, remote: "c", refused: 1 },
    }]);
    limit.release();
    assert.equal(limit.open, 1);
    assert.equal(limit.admit("e"), true);
  });

  it("0 means no limit", () => {
    const limit = new ConnectionLimit("x", { maxConnections: 0, logger: silentLogger });
    for (let i = 0; i < 1000; i++) assert.equal(limit.admit("a"), true);
  });

  it("wrap(): destroys a connection over the limit without calling accept, and frees a slot on closed()", () => {
    const limit = new ConnectionLimit("l", { maxConnections: 1, logger: silentLogger });
    let accepted = 0;
    const handler: ConnectionHandler = { data() {}, drain() {}, closed() {} };
    const accept = limit.wrap(() => (accepted++, handler));
    const first = accept(fakeConnection(), { listener: "l" });
    const second = fakeConnection();
    accept(second, { listener: "l" });
    assert.deepEqual([accepted, second.destroyed], [1, 1]);
    first.closed();
    first.closed(); // a second report must not free a second slot
    assert.equal(limit.open, 0);
    accept(fakeConnection(), { listener: "l" });
    assert.equal(accepted, 2);
  });

  it("withConnectionLimit() returns the listener itself without a limit, a delegating one with", async () => {
    const inner: Listener = {
      id: "i",
      protocol: "tcp",
      address: "1.2.3.4:5",
      port: 5,
      listen: (accept: Accept) => {
        accept(fakeConnection(), { listener: "i" });
        return Promise.resolve();
      },
      close: () => Promise.resolve(),
    };
    assert.equal(withConnectionLimit(inner, { maxConnections: 0, logger: silentLogger }), inner);
    const limited = withConnectionLimit(inner, { maxConnections: 3, logger: silentLogger });
    assert.deepEqual([limited.id, limited.protocol, limited.address, limited.port], [
      "i",
      "tcp",
      "1.2.3.4:5",
      5,
    ]);
    let accepted = 0;
    await limited.listen(() => (accepted++, { data() {}, drain() {}, closed() {} }));
    assert.equal(accepted, 1);
  });

  it("resolveLimitOptions() rejects a bad maximum", () => {
    assert.throws(() => resolveLimitOptions({ maxConnections: 1.5 }, 'TCP listener "t"'), {
      name: "RangeError",
      message:
        'Cannot create TCP listener "t": maxConnections must be a whole number >= 0 (0 for no limit), ' +
        "received 1.5",
    });
  });
});
