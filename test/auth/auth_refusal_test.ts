/**
 * An auth hook that throws refuses with a CONNACK carrying its MqttError's code, not a dropped socket: the way a
 * backend outage becomes "server unavailable" (5.0 0x88, 3.1.1 0x03), which clients retry.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { testBroker } from "../_helpers/broker.ts";
import { RawClient } from "../_helpers/raw_client.ts";
import { MqttError } from "../../src/errors.ts";
import type { Hook } from "../../src/hooks/hook.ts";

function throwing(error: Error, async: boolean): Hook {
  return {
    id: "thrower",
    onAuthenticate: () => {
      if (async) return Promise.reject(error);
      throw error;
    },
  };
}

describe("an auth hook that throws", () => {
  for (const async of [false, true]) {
    it(`refuses with its MqttError's code (${async ? "rejected promise" : "synchronous throw"})`, async () => {
      const broker = testBroker({ auth: throwing(new MqttError(0x88, "user store down"), async) });
      try {
        const v5 = RawClient.memory(broker, 5);
        const ack5 = await v5.connect({ username: "u", password: Buffer.from("p") });
        assert.equal(ack5.reasonCode, 0x88);
        assert.equal(ack5.properties?.reasonString, "user store down");
        assert.ok(await v5.waitClosed());
        const v4 = RawClient.memory(broker, 4);
        assert.equal((await v4.connect({ username: "u", password: Buffer.from("p") })).returnCode, 0x03);
        assert.equal(broker.stats.connectsRefused, 2);
        assert.equal(broker.stats.protocolErrors, 0, "not counted as bad input");
      } finally {
        await broker.close();
      }
    });
  }

  it("an error that is not an MqttError is a fault: logged, and the client refused as a failed login (0x86)", async () => {
    const broker = testBroker({ auth: throwing(new Error("bug"), true) });
    try {
      const c = RawClient.memory(broker, 5);
      assert.equal((await c.connect({ username: "u", password: Buffer.from("p") })).reasonCode, 0x86);
    } finally {
      await broker.close();
    }
  });
});
