/**
 * Storage latency for `/metrics`: a {@link Storage} wrapper that times every batch write into a histogram.
 * The broker takes storage as an option, so whoever builds it wraps the backend first:
 * `new Broker({ storage: timeStorage(backend, latency) })`.
 * @module
 */

import type { Storage, StorageOp, StoredState } from "../storage/storage.ts";

/** Upper bounds (seconds) of the histogram buckets: a memory write sits in the first, a slow disk in the last. */
export const LATENCY_BUCKETS: readonly number[] = [
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  1,
];

/** A Prometheus-style histogram of durations in seconds. */
export class LatencyHistogram {
  /** Upper bounds of the buckets, in seconds, increasing. */
  readonly buckets: readonly number[];
  /** Observations at or below each bucket bound (not cumulative; the renderer adds them up). */
  readonly counts: number[];
  /** Number of observations. */
  count = 0;
  /** Sum of the observed durations, in seconds. */
  sum = 0;
  /** Calls that threw. */
  errors = 0;

  /** An empty histogram with the given bucket bounds (seconds). Default 0.5 ms to 1 s. */
  constructor(buckets: readonly number[] = LATENCY_BUCKETS) {
    this.buckets = buckets;
    this.counts = buckets.map(() => 0);
  }

  /** Record one duration in seconds. */
  observe(seconds: number): void {
    this.count++;
    this.sum += seconds;
    const i = this.buckets.findIndex((b) => seconds <= b);
    if (i >= 0) this.counts[i]!++;
  }
}

/** Histograms of one storage backend's calls. */
export interface StorageLatency {
  /** The backend's name, for the metric label. */
  backend: string;
  /** `apply` (batch writes) durations. */
  readonly apply: LatencyHistogram;
  /** `load` (the restore at start) durations. */
  readonly load: LatencyHistogram;
}

/** Empty histograms for a backend. */
export function storageLatency(backend = "none"): StorageLatency {
  return { backend, apply: new LatencyHistogram(), load: new LatencyHistogram() };
}

/**
 * Wrap `storage` so that every `apply` and `load` is timed into `latency` (failures are timed and counted too).
 * `now` is a millisecond clock with sub-millisecond precision; `performance.now` by default.
 */
export function timeStorage(
  storage: Storage,
  latency: StorageLatency,
  now: () => number = () => performance.now(),
): Storage {
  latency.backend = storage.name;
  async function timed<T>(histogram: LatencyHistogram, run: () => Promise<T>): Promise<T> {
    const start = now();
    try {
      return await run();
    } catch (err) {
      histogram.errors++;
      throw err;
    } finally {
      histogram.observe((now() - start) / 1000);
    }
  }
  return {
    name: storage.name,
    apply: (ops: readonly StorageOp[]) => timed(latency.apply, () => storage.apply(ops)),
    load: (): Promise<StoredState> => timed(latency.load, () => storage.load()),
    close: () => storage.close(),
  };
}
