/**
 * `/metrics` families of the auth backends (HTTP, Redis, SQL, JWT): calls, errors, cache hits and misses,
 * answers served from an expired cache entry, and call latency, each labelled with the backend's hook id.
 * @module
 */

import type { Hook } from "../hooks/hook.ts";
import { collectAuthStats } from "../hooks/auth/backends/backend_stats.ts";
import type { MetricsWriter } from "./metrics_writer.ts";
import { LatencyHistogram } from "./storage_timing.ts";

/** Write the auth backend families; nothing when no backend is configured. */
export function writeAuthMetrics(w: MetricsWriter, hooks: readonly Hook[]): void {
  const all = collectAuthStats(hooks);
  if (all.length === 0) return;
  w.family("comqtt_auth_backend_calls_total", "counter", "Calls to an auth backend, by operation.");
  for (const s of all) {
    for (const op of ["auth", "acl"] as const) {
      w.sample("comqtt_auth_backend_calls_total", s.calls[op], { backend: s.name, kind: s.kind, op });
    }
  }
  w.family(
    "comqtt_auth_backend_errors_total",
    "counter",
    "Auth backend calls that failed (down, timeout, garbage).",
  );
  for (const s of all) {
    for (const op of ["auth", "acl"] as const) {
      w.sample("comqtt_auth_backend_errors_total", s.errors[op], { backend: s.name, kind: s.kind, op });
    }
  }
  w.family("comqtt_auth_cache_hits_total", "counter", "Auth and ACL decisions answered from the cache.");
  for (const s of all) {
    w.sample("comqtt_auth_cache_hits_total", s.cacheHits, { backend: s.name, kind: s.kind });
  }
  w.family("comqtt_auth_cache_misses_total", "counter", "Auth and ACL decisions the cache could not answer.");
  for (const s of all) {
    w.sample("comqtt_auth_cache_misses_total", s.cacheMisses, { backend: s.name, kind: s.kind });
  }
  w.family(
    "comqtt_auth_stale_answers_total",
    "counter",
    "ACL answers taken from an expired cache entry because the backend failed.",
  );
  for (const s of all) {
    w.sample("comqtt_auth_stale_answers_total", s.staleAnswers, { backend: s.name, kind: s.kind });
  }
  w.family("comqtt_auth_backend_latency_seconds", "histogram", "Time of one auth backend call.");
  for (const s of all) {
    const h = new LatencyHistogram(s.buckets);
    s.counts.forEach((n, i) => (h.counts[i] = n));
    h.count = s.count;
    h.sum = s.sum;
    w.histogram("comqtt_auth_backend_latency_seconds", h, { backend: s.name, kind: s.kind });
  }
}
