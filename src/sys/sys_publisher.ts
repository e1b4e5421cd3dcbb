/**
 * `$SYS/broker/...` topics: retained QoS 0 messages with the broker's counters, published at an interval
 * (only the values that changed). Clients cannot publish to `$SYS` (see the publish handler).
 * @module
 */

import type { Clock, TimerHandle } from "../clock.ts";
import type { BrokerStats } from "./stats.ts";
import type { ClusterStatus } from "../cluster/cluster_bus.ts";

/** What the $SYS publisher reads from the broker. */
export interface SysSource {
  readonly clock: Clock;
  readonly stats: BrokerStats;
  readonly version: string;
  readonly sessionCount: number;
  readonly subscriptionCount: number;
  readonly retainedCount: number;
  readonly inflightCount: number;
  connectedCount(): number;
  publishSys(topic: string, value: string): void;
  /** The cluster this broker is a node of, if any. */
  clusterStatus?(): ClusterStatus | undefined;
}

/** Publishes `$SYS/broker/...` every `interval` seconds; 0 turns it off. */
export class SysPublisher {
  #source: SysSource;
  #interval: number;
  #timer: TimerHandle | undefined;
  #last = new Map<string, string>();

  constructor(source: SysSource, interval: number) {
    if (!Number.isFinite(interval) || interval < 0) {
      throw new RangeError(`Cannot publish $SYS every ${interval} s: expected a number >= 0`);
    }
    this.#source = source;
    this.#interval = interval;
  }

  /** Publish once now, then at the interval. */
  start(): void {
    if (this.#interval === 0 || this.#timer) return;
    this.publish();
    this.#timer = this.#source.clock.every(this.#interval * 1000, () => this.publish());
  }

  stop(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  /** The current values by topic. */
  snapshot(): Map<string, string> {
    const src = this.#source;
    const s = src.stats;
    const connected = src.connectedCount();
    const values = new Map<string, string>([
      ["$SYS/broker/version", `comqtt-ts ${src.version}`],
      ["$SYS/broker/uptime", `${Math.floor((src.clock.now() - s.startedAt) / 1000)} seconds`],
      ["$SYS/broker/clients/connected", String(connected)],
      ["$SYS/broker/clients/disconnected", String(Math.max(0, src.sessionCount - connected))],
      ["$SYS/broker/clients/total", String(Math.max(src.sessionCount, connected))],
      ["$SYS/broker/clients/maximum", String(s.clientsMaximum)],
      ["$SYS/broker/connections/total", String(s.connectionsTotal)],
      ["$SYS/broker/messages/received", String(s.messagesReceived)],
      ["$SYS/broker/messages/sent", String(s.messagesSent)],
      ["$SYS/broker/messages/inflight", String(src.inflightCount)],
      ["$SYS/broker/messages/dropped", String(s.droppedTotal)],
      ["$SYS/broker/bytes/received", String(s.bytesReceived)],
      ["$SYS/broker/bytes/sent", String(s.bytesSent)],
      ["$SYS/broker/subscriptions/count", String(src.subscriptionCount)],
      ["$SYS/broker/retained messages/count", String(src.retainedCount)],
      ["$SYS/broker/protocol errors", String(s.protocolErrors)],
    ]);
    const cluster = src.clusterStatus?.();
    if (cluster !== undefined) {
      // This node's own values above; the cluster's below (the other nodes' counts come with their beats).
      values.set("$SYS/broker/cluster/node", cluster.node);
      values.set("$SYS/broker/cluster/nodes", String(cluster.members.length));
      values.set(
        "$SYS/broker/cluster/clients/connected",
        String(cluster.members.reduce((n, m) => n + (m.self ? connected : m.clients), 0)),
      );
      values.set("$SYS/broker/cluster/messages/forwarded", String(cluster.forwarded));
      values.set("$SYS/broker/cluster/messages/received", String(cluster.received));
      values.set("$SYS/broker/cluster/messages/lost", String(cluster.lost));
    }
    return values;
  }

  /** Publish the values that changed since the last time. */
  publish(): void {
    for (const [topic, value] of this.snapshot()) {
      if (this.#last.get(topic) === value) continue;
      this.#last.set(topic, value);
      this.#source.publishSys(topic, value);
    }
  }
}
