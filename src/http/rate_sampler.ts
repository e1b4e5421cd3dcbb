/**
 * Message, byte and connection rates for the dashboard: the broker's counters sampled on its clock, turned into
 * per-second rates, with a short history for the charts.
 * @module
 */

import type { Clock, TimerHandle } from "../clock.ts";
import type { BrokerStats } from "../sys/stats.ts";

/** One point of the history: rates per second over the interval that ended at `t`, and gauges at `t`. */
export interface RateSample {
  /** When the sample was taken (ms since the epoch). */
  t: number;
  /** PUBLISH packets received from clients per second. */
  messagesIn: number;
  /** PUBLISH packets sent to clients per second. */
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
  /** Messages dropped per second (any reason). */
  dropped: number;
  /** Clients connected at `t`. */
  connections: number;
}

/** Options of {@link RateSampler}. */
export interface RateSamplerOptions {
  clock: Clock;
  stats: BrokerStats;
  /** Milliseconds between samples. Default 1000. */
  intervalMs?: number;
  /** Samples kept for the charts. Default 120 (two minutes at one a second). */
  historySize?: number;
}

interface Counters {
  t: number;
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
  dropped: number;
}

/**
 * Samples {@link BrokerStats} every `intervalMs` on the broker's clock (so tests drive it with a FakeClock).
 *
 * @example
 * ```ts
 * const sampler = new RateSampler({ clock: broker.clock, stats: broker.stats });
 * sampler.onSample((s) => console.log(s.messagesIn));
 * sampler.start();
 * ```
 */
export class RateSampler {
  readonly intervalMs: number;
  readonly historySize: number;
  #clock: Clock;
  #stats: BrokerStats;
  #last: Counters;
  #history: RateSample[] = [];
  #timer: TimerHandle | undefined;
  #listeners = new Set<(sample: RateSample) => void>();

  constructor(options: RateSamplerOptions) {
    const { intervalMs = 1000, historySize = 120 } = options;
    if (!Number.isFinite(intervalMs) || intervalMs < 10) {
      throw new RangeError(`Cannot sample rates every ${intervalMs} ms: expected 10 ms or more`);
    }
    if (!Number.isInteger(historySize) || historySize < 1) {
      throw new RangeError(`Cannot keep ${historySize} rate samples: expected a whole number >= 1`);
    }
    this.intervalMs = intervalMs;
    this.historySize = historySize;
    this.#clock = options.clock;
    this.#stats = options.stats;
    this.#last = this.#read();
  }

  /** Start sampling (idempotent). */
  start(): void {
    if (this.#timer) return;
    this.#last = this.#read();
    this.#timer = this.#clock.every(this.intervalMs, () => this.sample());
  }

  /** Stop sampling; the history stays. */
  stop(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  /** Call `listener` with every new sample; returns a function that removes it. */
  onSample(listener: (sample: RateSample) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The samples kept, oldest first. */
  get history(): readonly RateSample[] {
    return this.#history;
  }

  /** The newest sample, or zero rates before the first one. */
  get latest(): RateSample {
    return this.#history.at(-1) ??
      {
        t: this.#last.t,
        messagesIn: 0,
        messagesOut: 0,
        bytesIn: 0,
        bytesOut: 0,
        dropped: 0,
        connections: this.#stats.clientsConnected,
      };
  }

  /** Take a sample now (the timer calls this; tests may too). */
  sample(): RateSample {
    const now = this.#read();
    const last = this.#last;
    this.#last = now;
    const seconds = (now.t - last.t) / 1000;
    const rate = (a: number, b: number) => (seconds > 0 ? Math.max(0, a - b) / seconds : 0);
    const sample: RateSample = {
      t: now.t,
      messagesIn: round(rate(now.messagesIn, last.messagesIn)),
      messagesOut: round(rate(now.messagesOut, last.messagesOut)),
      bytesIn: round(rate(now.bytesIn, last.bytesIn)),
      bytesOut: round(rate(now.bytesOut, last.bytesOut)),
      dropped: round(rate(now.dropped, last.dropped)),
      connections: this.#stats.clientsConnected,
    };
    this.#history.push(sample);
    if (this.#history.length > this.historySize) {
      this.#history.splice(0, this.#history.length - this.historySize);
    }
    for (const listener of this.#listeners) {
      try {
        listener(sample);
      } catch {
        // A listener (an event stream) that fails must not stop the others or the timer.
      }
    }
    return sample;
  }

  #read(): Counters {
    const s = this.#stats;
    return {
      t: this.#clock.now(),
      messagesIn: s.messagesReceived,
      messagesOut: s.messagesSent,
      bytesIn: s.bytesReceived,
      bytesOut: s.bytesSent,
      dropped: s.droppedTotal,
    };
  }
}

/** Two decimals are plenty for a chart and keep the JSON short. */
function round(n: number): number {
  return Math.round(n * 100) / 100;
}
