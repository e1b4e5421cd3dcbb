/**
 * The rule engine's `bridge` action: a rule's result goes to another broker over a named bridge (a second
 * instance of this broker as the remote), with a topic and payload from templates.
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { tcpBroker, until } from "../_helpers/broker.ts";
import type { Broker } from "../../src/broker.ts";
import { compileRule } from "../../src/rules/rule.ts";
import { RuleEngine } from "../../src/rules/rule_engine.ts";
import type { Bridge } from "../../src/bridge/bridge.ts";
import { bridgeConfig, collector, startBridge } from "../bridge/_bridge_setup.ts";

describe("rules: the bridge action", () => {
  let local: Broker;
  let remote: { broker: Broker; port: number };
  let bridge: Bridge;
  let engine: RuleEngine;

  before(async () => {
    local = (await tcpBroker()).broker;
    remote = await tcpBroker();
    // The bridge itself forwards nothing on its own (its only mapping is for other topics).
    bridge = await startBridge(
      local,
      bridgeConfig("cloud", `mqtt://127.0.0.1:${remote.port}`, {
        out: [{ from: "unused/#", to: "unused/#", qos: 1 }],
      }),
    );
    engine = new RuleEngine({
      rules: [
        compileRule({
          id: "alarm",
          sql: 'SELECT payload.level AS level, topic(2) AS machine FROM "alarms/+" WHERE payload.level >= 3',
          actions: [{
            type: "bridge",
            bridge: "cloud",
            topic: "site1/alarms/${machine}",
            payload: "L${level}",
            qos: 1,
          }],
        }),
        compileRule({
          id: "raw",
          sql: 'SELECT * FROM "raw/#"',
          actions: [{ type: "bridge", bridge: "cloud" }],
        }),
      ],
      host: local,
      bridges: new Map([["cloud", bridge]]),
    });
    local.addHook(engine);
  });

  after(async () => {
    await local.close();
    await remote.broker.close();
  });

  it("forwards the selected result with templates, and the message itself without them", async () => {
    const far = await collector(remote.port, { "site1/#": { qos: 1 }, "raw/#": { qos: 1 } });
    try {
      await local.publish("alarms/press-7", '{"level": 4}', { qos: 1 });
      await local.publish("alarms/press-8", '{"level": 1}', { qos: 1 });
      await local.publish("raw/x", "as is", { qos: 1 });
      await until(() => far.got.length >= 2, 5000, "two forwarded messages");
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(far.got.sort((a, b) => a.topic.localeCompare(b.topic)), [
        { topic: "raw/x", payload: "as is", qos: 1, retain: false },
        { topic: "site1/alarms/press-7", payload: "L4", qos: 1, retain: false },
      ]);
      const alarm = engine.status().find((r) => r.id === "alarm")!;
      assert.deepEqual([alarm.matched, alarm.passed, alarm.actionSuccess], [2, 1, 1]);
    } finally {
      await far.client.endAsync(true);
    }
  });
});

describe("rules: republishing rules that feed each other", () => {
  it("stop after a bounded number of rounds", async () => {
    const { broker } = await tcpBroker();
    try {
      const engine = new RuleEngine({
        rules: [
          compileRule({
            id: "ping",
            sql: 'SELECT * FROM "ping/#"',
            actions: [{ type: "republish", topic: "pong/x", qos: 0, retain: false }],
          }),
          compileRule({
            id: "pong",
            sql: 'SELECT * FROM "pong/#"',
            actions: [{ type: "republish", topic: "ping/x", qos: 0, retain: false }],
          }),
        ],
        host: broker,
      });
      broker.addHook(engine);
      await broker.publish("ping/start", "go");
      const total = () => engine.status().reduce((n, r) => n + r.matched, 0);
      await until(() => total() >= 8, 5000, "eight rounds");
      await new Promise((r) => setTimeout(r, 300));
      const settled = total();
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(total(), settled, "no more rounds");
      assert.equal(settled, 8, "depths 0 to 7 trigger a rule, depth 8 does not");
    } finally {
      await broker.close();
    }
  });
});
