/**
 * Per-backend counters for `/metrics` and the dashboard: calls, errors, latency, cache hits.
 * @module
 */

import type { Hook } from "../../hook.ts";

/** Upper bounds (seconds) of the latency buckets: a local Redis sits in the first, a slow HTTP service last. */
export const AUTH_LATENCY_BUCKETS: readonly number[] = [
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  1,
  5,
];

/** Counters of one backend. */
export class AuthBackendStats {
  /** Label for metrics: the hook id, e.g. `auth-http`. */
  readonly name: string;
  /** `http`, `redis`, `postgres`, `mysql`, `jwt`. */
  readonly kind: string;
  /** Calls made to the backend, by operation. */
  readonly calls = { auth: 0, acl: 0 };
  /** Calls that failed (down, timed out, garbage), by operation. */
  readonly errors = { auth: 0, acl: 0 };
  /** Decisions answered from the cache. */
  cacheHits = 0;
  /** Decisions that had to ask the backend. */
  cacheMisses = 0;
  /** Answers given from an expired cache entry because the backend failed. */
  staleAnswers = 0;
  /** Latency histogram: observations per bucket (not cumulative), count and sum in seconds. */
  readonly buckets: readonly number[] = AUTH_LATENCY_BUCKETS;
  /** Observations per latency bucket (same order as `buckets`). */
  readonly counts: number[] = AUTH_LATENCY_BUCKETS.map(() => 0);
  /** Number of observations. */
  count = 0;
  /** Sum of the observed durations, in seconds. */
  sum = 0;

  /** Zeroed counters for the backend labelled `name`, of kind `kind` (e.g. `http`). */
  constructor(name: string, kind: string) {
    this.name = name;
    this.kind = kind;
  }

  /** Record one call's duration in seconds. */
  observe(seconds: number): void {
    this.count++;
    this.sum += seconds;
    const i = this.buckets.findIndex((b) => seconds <= b);
    if (i >= 0) this.counts[i]!++;
  }

  /** A plain snapshot for JSON. */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      kind: this.kind,
      calls: { ...this.calls },
      errors: { ...this.errors },
      cacheHits: this.cacheHits,
      cacheMisses: this.cacheMisses,
      staleAnswers: this.staleAnswers,
      latencySeconds: { count: this.count, sum: this.sum },
    };
  }
}

/** A hook that reports backend statistics (the backend hook, and containers of hooks). */
interface StatsSource {
  authStats?(): AuthBackendStats[];
  hooks?: Hook[];
}

/**
 * Every backend's stats among `hooks`, looking inside hooks that hold others (an auth chain, per-listener auth),
 * each once.
 */
export function collectAuthStats(hooks: readonly Hook[]): AuthBackendStats[] {
  const out = new Set<AuthBackendStats>();
  const seen = new Set<Hook>();
  const visit = (hook: Hook): void => {
    if (seen.has(hook)) return;
    seen.add(hook);
    const source = hook as Hook & StatsSource;
    if (typeof source.authStats === "function") { for (const s of source.authStats()) out.add(s); }
    if (Array.isArray(source.hooks)) { for (const h of source.hooks) visit(h); }
  };
  for (const hook of hooks) visit(hook);
  return [...out];
}
