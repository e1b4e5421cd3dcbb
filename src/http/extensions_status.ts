/**
 * Bridges and rules as the HTTP side shows them (`/api/v1/bridges`, `/api/v1/rules`, the dashboard, `/metrics`).
 * They are hooks on the broker, so they are found among its hooks: nothing else needs to pass them around.
 * @module
 */

import type { Broker } from "../broker.ts";
import { Bridge, type BridgeStatus } from "../bridge/bridge.ts";
import { RuleEngine, type RuleStatus } from "../rules/rule_engine.ts";
import type { MetricsWriter } from "./metrics_writer.ts";

/** Status of every bridge on `broker`. */
export function bridgeStatuses(broker: Broker): BridgeStatus[] {
  return broker.hooks.hooks.filter((h): h is Bridge => h instanceof Bridge).map((b) => b.status());
}

/** Status (with counters) of every rule on `broker`. */
export function ruleStatuses(broker: Broker): RuleStatus[] {
  return broker.hooks.hooks.filter((h): h is RuleEngine => h instanceof RuleEngine).flatMap((e) =>
    e.status()
  );
}

/** The bridge and rule families of `/metrics`; nothing when there are neither. */
export function writeExtensionMetrics(w: MetricsWriter, broker: Broker): void {
  const bridges = bridgeStatuses(broker);
  if (bridges.length > 0) {
    const each = (
      name: string,
      type: "counter" | "gauge",
      help: string,
      value: (b: BridgeStatus) => number,
    ) => {
      w.family(name, type, help);
      for (const b of bridges) w.sample(name, value(b), { bridge: b.name });
    };
    each(
      "comqtt_bridge_connected",
      "gauge",
      "1 while the bridge is connected to its remote broker.",
      (b) => b.connected ? 1 : 0,
    );
    each(
      "comqtt_bridge_queued_messages",
      "gauge",
      "Messages waiting for the remote broker's acknowledgement.",
      (b) => b.queued,
    );
    each("comqtt_bridge_queued_bytes", "gauge", "Bytes of the queued messages.", (b) => b.queuedBytes);
    w.family("comqtt_bridge_forwarded_total", "counter", "Messages forwarded, by direction.");
    for (const b of bridges) {
      w.sample("comqtt_bridge_forwarded_total", b.forwardedOut, { bridge: b.name, direction: "out" });
      w.sample("comqtt_bridge_forwarded_total", b.forwardedIn, { bridge: b.name, direction: "in" });
    }
    each("comqtt_bridge_dropped_total", "counter", "Queued messages dropped to make room.", (b) => b.dropped);
    each(
      "comqtt_bridge_expired_total",
      "counter",
      "Queued messages whose expiry interval ran out.",
      (b) => b.expired,
    );
    each(
      "comqtt_bridge_refused_total",
      "counter",
      "Messages not queued because the queue was full.",
      (b) => b.refused,
    );
    each(
      "comqtt_bridge_connect_failures_total",
      "counter",
      "Connection attempts that failed.",
      (b) => b.failedAttempts,
    );
  }
  const rules = ruleStatuses(broker);
  if (rules.length > 0) {
    w.family(
      "comqtt_rule_total",
      "counter",
      "Rule evaluations by outcome: matched, passed, no_result, failed.",
    );
    for (const r of rules) {
      w.sample("comqtt_rule_total", r.matched, { rule: r.id, outcome: "matched" });
      w.sample("comqtt_rule_total", r.passed, { rule: r.id, outcome: "passed" });
      w.sample("comqtt_rule_total", r.noResult, { rule: r.id, outcome: "no_result" });
      w.sample("comqtt_rule_total", r.failed, { rule: r.id, outcome: "failed" });
    }
    w.family("comqtt_rule_actions_total", "counter", "Rule actions by result.");
    for (const r of rules) {
      w.sample("comqtt_rule_actions_total", r.actionSuccess, { rule: r.id, result: "success" });
      w.sample("comqtt_rule_actions_total", r.actionErrors, { rule: r.id, result: "error" });
    }
  }
}
