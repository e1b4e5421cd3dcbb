/**
 * The broker overview (`GET /api/v1/overview`) and the live counters each Server-Sent Event carries.
 * @module
 */

import { collectAuthStats } from "../hooks/auth/backends/backend_stats.ts";
import type { Broker } from "../broker.ts";
import type { DropReason } from "../hooks/hook.ts";
import type { ActivityHook, ChangeCounters } from "./activity_hook.ts";
import type { RateSample, RateSampler } from "./rate_sampler.ts";
import { bridgeStatuses, ruleStatuses } from "./extensions_status.ts";
import type { BridgeStatus } from "../bridge/bridge.ts";
import type { RuleStatus } from "../rules/rule_engine.ts";

/** The broker's counters and gauges now. */
export interface Counters {
  clientsConnected: number;
  clientsMaximum: number;
  connectionsTotal: number;
  connectsRefused: number;
  protocolErrors: number;
  sessions: number;
  subscriptions: number;
  retained: number;
  inflight: number;
  /** Messages queued across all sessions. */
  queued: number;
  messagesReceived: number;
  messagesSent: number;
  bytesReceived: number;
  bytesSent: number;
  dropped: Record<DropReason, number>;
  droppedTotal: number;
}

/** Read every counter (iterates the sessions once, for `queued` and `subscriptions`). */
export function counters(broker: Broker): Counters {
  const s = broker.stats;
  let queued = 0;
  // Counted per session: broker.subscriptionCount leaves shared subscriptions out, the lists include them.
  let subscriptions = 0;
  for (const session of broker.sessions()) {
    queued += session.queued;
    subscriptions += session.subscriptions.size;
  }
  return {
    clientsConnected: s.clientsConnected,
    clientsMaximum: s.clientsMaximum,
    connectionsTotal: s.connectionsTotal,
    connectsRefused: s.connectsRefused,
    protocolErrors: s.protocolErrors,
    sessions: broker.sessionCount,
    subscriptions,
    retained: broker.retainedCount,
    inflight: broker.inflightCount,
    queued,
    messagesReceived: s.messagesReceived,
    messagesSent: s.messagesSent,
    bytesReceived: s.bytesReceived,
    bytesSent: s.bytesSent,
    dropped: { ...s.dropped },
    droppedTotal: s.droppedTotal,
  };
}

/** What one live update (an SSE `tick`) carries. */
export interface LiveUpdate {
  /** Seconds since the broker started. */
  uptime: number;
  rates: RateSample;
  counters: Counters;
  /** Move when the clients, subscriptions or retained panels would show something else. */
  changes: ChangeCounters;
  /** Per auth backend: calls, errors, cache hits and misses, latency (absent without backends). */
  authBackends?: Record<string, unknown>[];
  /** Bridges and rules with their counters; absent when there are none. */
  bridges?: BridgeStatus[];
  rules?: RuleStatus[];
}

/** The live update for `sample`. */
export function liveUpdate(broker: Broker, activity: ActivityHook, sample: RateSample): LiveUpdate {
  const auth = collectAuthStats(broker.hooks.hooks);
  const bridges = bridgeStatuses(broker);
  const rules = ruleStatuses(broker);
  return {
    uptime: Math.floor((broker.clock.now() - broker.stats.startedAt) / 1000),
    rates: sample,
    counters: counters(broker),
    changes: { ...activity.changes },
    ...(auth.length === 0 ? {} : { authBackends: auth.map((s) => s.toJSON()) }),
    ...(bridges.length > 0 ? { bridges } : {}),
    ...(rules.length > 0 ? { rules } : {}),
  };
}

/** What {@link brokerOverview} reads. */
export interface OverviewSource {
  broker: Broker;
  activity: ActivityHook;
  sampler: RateSampler;
  runtime: { name: string; version: string };
}

/** Everything the overview panel shows, plus the chart history. */
export function brokerOverview(source: OverviewSource): LiveUpdate & Record<string, unknown> {
  const { broker, sampler } = source;
  return {
    version: broker.version,
    runtime: source.runtime,
    startedAt: new Date(broker.stats.startedAt).toISOString(),
    listeners: broker.listeners.map((l) => ({ id: l.id, protocol: l.protocol, address: l.address })),
    capabilities: broker.capabilities,
    limits: broker.limits,
    sys: Object.fromEntries(broker.sysValues()),
    cluster: broker.clusterStatus() ?? null,
    ...liveUpdate(broker, source.activity, sampler.latest),
    history: { intervalMs: sampler.intervalMs, samples: sampler.history },
  };
}
