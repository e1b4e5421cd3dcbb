import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Broker } from "../broker.ts";
import { FakeClock } from "../clock.ts";
import type { Storage, StorageOp } from "../storage/storage.ts";
import { ActivityHook } from "./activity_hook.ts";
import { MetricsWriter, renderMetrics } from "./prometheus.ts";
import { LatencyHistogram, storageLatency, timeStorage } from "./storage_timing.ts";

const EMPTY = { sessions: [], retained: [], wills: [] };

describe("/metrics rendering", () => {
  it("MetricsWriter writes HELP, TYPE, escaped labels and cumulative histogram buckets", () => {
    const h = new LatencyHistogram([0.01, 0.1]);
    h.observe(0.005);
    h.observe(0.05);
    h.observe(3);
    const text = new MetricsWriter()
      .family("x_total", "counter", "Help with \\ and\nnewline.")
      .sample("x_total", 2, { label: 'a "b" \\ c' })
      .family("lat_seconds", "histogram", "Latency.")
      .histogram("lat_seconds", h, { backend: "m" })
      .toString();
    assert.equal(
      text,
      [
        "# HELP x_total Help with \\\\ and\\nnewline.",
        "# TYPE x_total counter",
        'x_total{label="a \\"b\\" \\\\ c"} 2',
        "# HELP lat_seconds Latency.",
        "# TYPE lat_seconds histogram",
        'lat_seconds_bucket{backend="m",le="0.01"} 1',
        'lat_seconds_bucket{backend="m",le="0.1"} 2',
        'lat_seconds_bucket{backend="m",le="+Inf"} 3',
        'lat_seconds_sum{backend="m"} 3.055',
        'lat_seconds_count{backend="m"} 3',
        "",
      ].join("\n"),
    );
  });

  it("renders connections, messages by QoS, drops by reason, gauges and storage latency", async () => {
    const clock = new FakeClock();
    const broker = new Broker({ clock, sysInterval: 0, version: "9.9.9" });
    const activity = new ActivityHook();
    const client = { id: "c1", remoteAddress: "127.0.0.1:1", listener: "tcp", protocolVersion: 5 as const };
    const msg = (qos: 0 | 1 | 2) => ({
      topic: "t",
      payload: new Uint8Array(3),
      qos,
      retain: false,
      receivedAt: 0,
    });
    activity.onPublished(client, msg(0));
    activity.onPublished(client, msg(1));
    activity.onPublished(client, msg(1));
    activity.onPublished(undefined, msg(2));
    broker.stats.dropped["queue-full"] = 4;
    broker.stats.messagesReceived = 3;
    clock.advance(61_000);

    let t = 0;
    const backend: Storage = {
      name: "memory",
      apply: (_ops: readonly StorageOp[]) => {
        t += 2; // each write takes 2 ms on the fake clock
        return Promise.resolve();
      },
      load: () => Promise.resolve(EMPTY),
      close: () => Promise.resolve(),
    };
    const latency = storageLatency();
    const storage = timeStorage(backend, latency, () => t);
    await storage.apply([]);
    await storage.apply([]);
    await storage.load();

    const text = renderMetrics({
      broker,
      activity,
      storage: latency,
      runtime: { name: "node", version: "26" },
    });
    const lines = new Set(text.split("\n"));
    for (
      const expected of [
        'comqtt_info{version="9.9.9",runtime="node",runtime_version="26"} 1',
        "comqtt_uptime_seconds 61",
        "comqtt_clients_connected 0",
        'comqtt_messages_in_total{qos="0"} 1',
        'comqtt_messages_in_total{qos="1"} 2',
        'comqtt_messages_in_total{qos="2"} 0',
        'comqtt_api_messages_in_total{qos="2"} 1',
        "comqtt_publish_received_total 3",
        'comqtt_messages_dropped_total{reason="queue-full"} 4',
        'comqtt_messages_dropped_total{reason="expired"} 0',
        "comqtt_retained_messages 0",
        "comqtt_subscriptions 0",
        "comqtt_inflight_messages 0",
        "comqtt_queued_messages 0",
        "comqtt_queue_depth_max 0",
        'comqtt_storage_apply_seconds_bucket{backend="memory",le="0.001"} 0',
        'comqtt_storage_apply_seconds_bucket{backend="memory",le="0.0025"} 2',
        'comqtt_storage_apply_seconds_count{backend="memory"} 2',
        'comqtt_storage_load_seconds_count{backend="memory"} 1',
        'comqtt_storage_errors_total{backend="memory",op="apply"} 0',
      ]
    ) assert.ok(lines.has(expected), `missing line: ${expected}\n${text}`);
    // Every sample belongs to a family announced by a TYPE line.
    const families = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
    for (const line of text.split("\n")) {
      if (line === "" || line.startsWith("#")) continue;
      const name = line.split(/[{ ]/)[0]!;
      const family = name.replace(/_(bucket|sum|count)$/, "");
      assert.ok(families.has(name) || families.has(family), `no TYPE for ${name}`);
    }
    await broker.close();
  });

  it("a failing storage call is timed and counted, and the error goes through", async () => {
    const latency = storageLatency();
    const failing: Storage = {
      name: "broken",
      apply: () => Promise.reject(new Error("disk full")),
      load: () => Promise.resolve(EMPTY),
      close: () => Promise.resolve(),
    };
    await assert.rejects(timeStorage(failing, latency).apply([]), /disk full/);
    assert.equal(latency.apply.errors, 1);
    assert.equal(latency.apply.count, 1);
    assert.equal(latency.backend, "broken");
  });
});
