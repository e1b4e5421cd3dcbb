/**
 * Bridges and rules on the HTTP side: `/api/v1/bridges`, `/api/v1/rules`, the live update the dashboard draws,
 * and `/metrics` (the dashboard served on a real port, a second broker as the remote).
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { tcpBroker, until } from "../_helpers/broker.ts";
import { type Dashboard, json, startDashboard } from "../http/_dashboard.ts";
import type { Broker } from "../../src/broker.ts";
import type { Bridge } from "../../src/bridge/bridge.ts";
import { compileRule } from "../../src/rules/rule.ts";
import { RuleEngine } from "../../src/rules/rule_engine.ts";
import { liveUpdate } from "../../src/http/overview.ts";
import { bridgeConfig, startBridge } from "./_bridge_setup.ts";

describe("bridge and rule status over HTTP", () => {
  let d: Dashboard;
  let remote: { broker: Broker; port: number };
  let bridge: Bridge;

  before(async () => {
    remote = await tcpBroker();
    d = await startDashboard();
    bridge = await startBridge(
      d.broker,
      bridgeConfig("cloud", `mqtt://127.0.0.1:${remote.port}`, {
        out: [{ from: "sensors/#", to: "site1/sensors/#", qos: 1 }],
        reconnect: { minDelay: 5000, maxDelay: 5000 },
      }),
    );
    d.broker.addHook(
      new RuleEngine({
        rules: [
          compileRule({ id: "hot", sql: 'SELECT * FROM "sensors/#" WHERE payload.t > 1', actions: [] }),
        ],
        host: d.broker,
      }),
    );
  });

  after(async () => {
    await d.close();
    await remote.broker.close();
  });

  it("lists each bridge and rule with its counters, and /metrics carries them", async () => {
    await d.broker.publish("sensors/a", '{"t": 5}', { qos: 1 });
    await d.broker.publish("sensors/b", '{"t": 0}', { qos: 1 });
    await until(() => bridge.status().forwardedOut === 2, 3000, "two messages forwarded");
    // The remote goes away: the bridge says so and queues.
    await remote.broker.close();
    await until(() => !bridge.connected, 5000, "the bridge to notice");
    await d.broker.publish("sensors/c", "x", { qos: 1 });

    const bridges = (await json(d.fetch("/api/v1/bridges"))).items;
    assert.equal(bridges.length, 1);
    assert.equal(bridges[0].name, "cloud");
    assert.equal(bridges[0].connected, false);
    assert.equal(bridges[0].queued, 1);
    assert.equal(bridges[0].forwardedOut, 2);
    assert.equal(typeof bridges[0].lastError, "string");

    const rules = (await json(d.fetch("/api/v1/rules"))).items;
    assert.deepEqual(
      { id: rules[0].id, matched: rules[0].matched, passed: rules[0].passed, noResult: rules[0].noResult },
      { id: "hot", matched: 3, passed: 1, noResult: 2 },
    );

    const update = liveUpdate(d.broker, { changes: {} } as never, {} as never);
    assert.equal(update.bridges?.[0]?.queued, 1);
    assert.equal(update.rules?.[0]?.matched, 3);

    const metrics = await (await d.fetch("/metrics")).text();
    assert.match(metrics, /^comqtt_bridge_connected\{bridge="cloud"\} 0$/m);
    assert.match(metrics, /^comqtt_bridge_queued_messages\{bridge="cloud"\} 1$/m);
    assert.match(metrics, /^comqtt_bridge_forwarded_total\{bridge="cloud",direction="out"\} 2$/m);
    assert.match(metrics, /^comqtt_rule_total\{rule="hot",outcome="passed"\} 1$/m);
  });
});
