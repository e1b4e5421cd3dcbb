/**
 * `/metrics` in the Prometheus text exposition format (version 0.0.4).
 * @module
 */

import type { Broker } from "../broker.ts";
import type { DropReason } from "../hooks/hook.ts";
import type { ActivityHook } from "./activity_hook.ts";
import type { StorageLatency } from "./storage_timing.ts";
import { writeAuthMetrics } from "./auth_metrics.ts";
import { MetricsWriter } from "./metrics_writer.ts";
import { writeExtensionMetrics } from "./extensions_status.ts";

/** The Content-Type Prometheus expects. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

export { MetricsWriter } from "./metrics_writer.ts";

/** What {@link renderMetrics} reads. */
export interface MetricsSource {
  broker: Broker;
  activity: ActivityHook;
  storage: StorageLatency;
  /** `deno`, `bun` or `node`, and its version, for `comqtt_info`. */
  runtime: { name: string; version: string };
}

const QOS = ["0", "1", "2"] as const;

/** Render every metric of the broker. Iterates the sessions once (queue depths), so it costs O(sessions). */
export function renderMetrics(source: MetricsSource): string {
  const { broker, activity } = source;
  const s = broker.stats;
  const w = new MetricsWriter();
  w.family("comqtt_info", "gauge", "Broker version and runtime; always 1.")
    .sample("comqtt_info", 1, {
      version: broker.version,
      runtime: source.runtime.name,
      runtime_version: source.runtime.version,
    });
  w.single(
    "comqtt_uptime_seconds",
    "gauge",
    "Seconds since the broker started.",
    Math.floor((broker.clock.now() - s.startedAt) / 1000),
  );
  w.single(
    "comqtt_start_time_seconds",
    "gauge",
    "When the broker started, in seconds since the epoch.",
    Math.floor(s.startedAt / 1000),
  );

  w.single("comqtt_clients_connected", "gauge", "Clients connected now.", s.clientsConnected);
  w.single(
    "comqtt_clients_maximum",
    "gauge",
    "Most clients connected at once since start.",
    s.clientsMaximum,
  );
  w.single("comqtt_connections_total", "counter", "Network connections accepted.", s.connectionsTotal);
  w.single("comqtt_connects_refused_total", "counter", "Connections refused at CONNECT.", s.connectsRefused);
  w.single(
    "comqtt_protocol_errors_total",
    "counter",
    "Connections closed for malformed input or a protocol violation.",
    s.protocolErrors,
  );
  w.single("comqtt_sessions", "gauge", "Sessions, connected or not.", broker.sessionCount);

  w.family(
    "comqtt_messages_in_total",
    "counter",
    "Application messages published by clients and routed, by QoS.",
  );
  QOS.forEach((q, i) => w.sample("comqtt_messages_in_total", activity.messagesInByQos[i]!, { qos: q }));
  w.family(
    "comqtt_api_messages_in_total",
    "counter",
    "Messages published through the embedding or HTTP API, by QoS.",
  );
  QOS.forEach((q, i) => w.sample("comqtt_api_messages_in_total", activity.apiMessagesByQos[i]!, { qos: q }));
  w.single(
    "comqtt_publish_received_total",
    "counter",
    "PUBLISH packets received from clients (before ACL and hooks).",
    s.messagesReceived,
  );
  w.single(
    "comqtt_publish_sent_total",
    "counter",
    "PUBLISH packets sent to clients (retries included).",
    s.messagesSent,
  );
  w.family(
    "comqtt_messages_out_total",
    "counter",
    "PUBLISH packets sent to clients, by QoS (retries included).",
  );
  QOS.forEach((q, i) => w.sample("comqtt_messages_out_total", s.messagesSentByQos[i]!, { qos: q }));
  w.single("comqtt_bytes_received_total", "counter", "Bytes received from clients.", s.bytesReceived);
  w.single("comqtt_bytes_sent_total", "counter", "Bytes sent to clients.", s.bytesSent);
  w.single("comqtt_wills_sent_total", "counter", "Will messages published.", activity.willsSent);

  w.family("comqtt_messages_dropped_total", "counter", "Messages not delivered to a session, by reason.");
  for (const [reason, n] of Object.entries(s.dropped) as [DropReason, number][]) {
    w.sample("comqtt_messages_dropped_total", n, { reason });
  }

  w.family(
    "comqtt_limit_hits_total",
    "counter",
    "Times a global bound refused or dropped something, by its config key.",
  );
  for (const [limit, n] of Object.entries(broker.limitHits.counts)) {
    w.sample("comqtt_limit_hits_total", n, { limit });
  }

  let queued = 0;
  let queueMax = 0;
  let offline = 0;
  let subscriptions = 0;
  for (const session of broker.sessions()) {
    subscriptions += session.subscriptions.size;
    const q = session.queued;
    queued += q;
    if (q > queueMax) queueMax = q;
    if (!session.connected) offline++;
  }
  w.single("comqtt_sessions_offline", "gauge", "Sessions kept without a connection.", offline);
  w.single(
    "comqtt_subscriptions",
    "gauge",
    "Subscriptions across all sessions (shared ones included).",
    subscriptions,
  );
  w.single("comqtt_retained_messages", "gauge", "Retained messages stored.", broker.retainedCount);
  w.single(
    "comqtt_retained_bytes",
    "gauge",
    "Topic and payload bytes of the retained messages.",
    broker.retainedBytes,
  );
  w.single(
    "comqtt_sessions_persistent",
    "gauge",
    "Sessions that outlive their connection.",
    broker.persistentSessionCount,
  );
  w.single(
    "comqtt_inflight_messages",
    "gauge",
    "Outbound QoS 1 and 2 messages waiting for their acknowledgement.",
    broker.inflightCount,
  );
  w.single("comqtt_queued_messages", "gauge", "Messages queued for sessions, all sessions together.", queued);
  w.single("comqtt_queue_depth_max", "gauge", "The longest queue of any one session.", queueMax);

  const storage = source.storage;
  w.family("comqtt_storage_apply_seconds", "histogram", "Time to write one batch of changes to storage.");
  w.histogram("comqtt_storage_apply_seconds", storage.apply, { backend: storage.backend });
  w.family("comqtt_storage_load_seconds", "histogram", "Time to read the stored state at start.");
  w.histogram("comqtt_storage_load_seconds", storage.load, { backend: storage.backend });
  w.family("comqtt_storage_errors_total", "counter", "Storage calls that failed.");
  w.sample("comqtt_storage_errors_total", storage.apply.errors, { backend: storage.backend, op: "apply" });
  w.sample("comqtt_storage_errors_total", storage.load.errors, { backend: storage.backend, op: "load" });
  writeAuthMetrics(w, broker.hooks.hooks);
  writeExtensionMetrics(w, broker);

  const cluster = broker.clusterStatus();
  if (cluster !== undefined) {
    w.family("comqtt_cluster_nodes", "gauge", "Live nodes of the cluster, this one included.")
      .sample("comqtt_cluster_nodes", cluster.members.length, { node: cluster.node });
    w.family(
      "comqtt_cluster_messages_total",
      "counter",
      "Messages sent to other nodes (out) and from them (in).",
    )
      .sample("comqtt_cluster_messages_total", cluster.forwarded, { direction: "out" })
      .sample("comqtt_cluster_messages_total", cluster.received, { direction: "in" });
    w.single(
      "comqtt_cluster_messages_lost_total",
      "counter",
      "Messages other nodes did not get because NATS was down (QoS 0, or beyond the held bound).",
      cluster.lost,
    );
    w.single(
      "comqtt_cluster_connected",
      "gauge",
      "1 while the node is connected to NATS.",
      cluster.connected ? 1 : 0,
    );
    if (cluster.rttMs !== undefined) {
      w.single("comqtt_cluster_nats_rtt_seconds", "gauge", "Last round trip to NATS.", cluster.rttMs / 1000);
    }
  }
  return w.toString();
}
