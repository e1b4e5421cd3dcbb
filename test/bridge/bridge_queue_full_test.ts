/**
 * A full bridge queue while the remote is unreachable: `refuse-new` answers a v5 publisher's QoS 1 message with
 * Quota exceeded (0x97); `drop-oldest` keeps the newest messages and counts the dropped ones.
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import mqtt from "mqtt";
import { tcpBroker } from "../_helpers/broker.ts";
import { freePort } from "../_helpers/mosquitto.ts";
import { createBridge } from "../../adapters/bridge/from_config.ts";
import type { Broker } from "../../src/broker.ts";
import type { Bridge } from "../../src/bridge/bridge.ts";
import { bridgeConfig } from "./_bridge_setup.ts";

describe("bridge queue full", () => {
  let broker: Broker;
  let port: number;
  let refuse: Bridge;
  let drop: Bridge;

  before(async () => {
    ({ broker, port } = await tcpBroker());
    const nowhere = `mqtt://127.0.0.1:${await freePort()}`;
    const reconnect = { minDelay: 60_000, maxDelay: 60_000 };
    refuse = await createBridge(
      broker,
      bridgeConfig("refuse", nowhere, {
        out: [{ from: "r/#", to: "r/#", qos: 1 }],
        queue: { maxMessages: 3, maxBytes: 1_000_000, policy: "refuse-new" },
        reconnect,
      }),
      "node-a",
    );
    drop = await createBridge(
      broker,
      bridgeConfig("drop", nowhere, {
        out: [{ from: "d/#", to: "d/#", qos: 1 }],
        queue: { maxMessages: 3, maxBytes: 1_000_000, policy: "drop-oldest" },
        reconnect,
      }),
      "node-a",
    );
    for (const b of [refuse, drop]) {
      broker.addHook(b);
      b.start();
    }
  });

  after(() => broker.close());

  it("refuse-new: the fourth QoS 1 message gets 0x97, nothing already queued goes", async () => {
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { protocolVersion: 5, reconnectPeriod: 0 });
    try {
      for (let i = 0; i < 3; i++) await c.publishAsync(`r/${i}`, "x", { qos: 1 });
      await assert.rejects(c.publishAsync("r/3", "x", { qos: 1 }), (err: Error & { code?: number }) => {
        return err.code === 0x97 || /quota/i.test(err.message);
      });
      // Topics the bridge does not carry are not affected.
      await c.publishAsync("other/1", "x", { qos: 1 });
    } finally {
      await c.endAsync(true);
    }
    const s = refuse.status();
    assert.equal(s.queued, 3);
    assert.equal(s.refused, 1);
    assert.equal(s.dropped, 0);
  });

  it("drop-oldest: keeps the newest three, counts two dropped", async () => {
    for (let i = 0; i < 5; i++) await broker.publish(`d/${i}`, String(i), { qos: 1 });
    const s = drop.status();
    assert.equal(s.queued, 3);
    assert.equal(s.dropped, 2);
    assert.equal(s.refused, 0);
  });
});
