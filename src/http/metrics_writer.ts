/**
 * Writing the Prometheus text exposition format: HELP and TYPE lines, escaped labels, histograms.
 * @module
 */

import type { LatencyHistogram } from "./storage_timing.ts";

type Labels = Readonly<Record<string, string>>;

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

/** Builds exposition text: one HELP and TYPE line per family, then its samples. */
export class MetricsWriter {
  #lines: string[] = [];

  /** Start a family. */
  family(name: string, type: "counter" | "gauge" | "histogram", help: string): this {
    this.#lines.push(`# HELP ${name} ${help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`);
    this.#lines.push(`# TYPE ${name} ${type}`);
    return this;
  }

  /** One sample of the current family. */
  sample(name: string, value: number, labels: Labels = {}): this {
    const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
    this.#lines.push(`${name}${pairs.length > 0 ? `{${pairs.join(",")}}` : ""} ${formatValue(value)}`);
    return this;
  }

  /** A family with a single unlabelled sample. */
  single(name: string, type: "counter" | "gauge", help: string, value: number): this {
    return this.family(name, type, help).sample(name, value);
  }

  /** The samples of a histogram (`_bucket`, `_sum`, `_count`) with extra labels. */
  histogram(name: string, histogram: LatencyHistogram, labels: Labels = {}): this {
    let cumulative = 0;
    histogram.buckets.forEach((bound, i) => {
      cumulative += histogram.counts[i]!;
      this.sample(`${name}_bucket`, cumulative, { ...labels, le: String(bound) });
    });
    this.sample(`${name}_bucket`, histogram.count, { ...labels, le: "+Inf" });
    this.sample(`${name}_sum`, histogram.sum, labels);
    this.sample(`${name}_count`, histogram.count, labels);
    return this;
  }

  /** The text, ending with a newline. */
  toString(): string {
    return this.#lines.join("\n") + "\n";
  }
}
