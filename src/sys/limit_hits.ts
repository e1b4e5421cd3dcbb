/**
 * Counts of the global bounds that were hit, for /metrics, with one log line per bound at most every few seconds
 * (a client hammering a bound must not flood the log).
 * @module
 */

import type { Logger } from "../logger.ts";

/** The bounds counted in `comqtt_limit_hits_total{limit=...}`, named after their config keys. */
export type LimitName =
  | "maxSubscribeEntries"
  | "maxPersistentSessions"
  | "maxRetainedMessages"
  | "maxRetainedBytes"
  | "maxQueuedBytes"
  | "authFailureDelay";

/** The limits, in the order /metrics lists them. */
export const LIMIT_NAMES: readonly LimitName[] = [
  "maxSubscribeEntries",
  "maxPersistentSessions",
  "maxRetainedMessages",
  "maxRetainedBytes",
  "maxQueuedBytes",
  "authFailureDelay",
];

/** Milliseconds between two log lines about the same bound. */
const LOG_EVERY_MS = 10_000;

/** Counters of bounds hit, and the log line that goes with them. */
export class LimitHits {
  /** Times each bound refused or dropped something. */
  readonly counts: Record<LimitName, number> = {
    maxSubscribeEntries: 0,
    maxPersistentSessions: 0,
    maxRetainedMessages: 0,
    maxRetainedBytes: 0,
    maxQueuedBytes: 0,
    authFailureDelay: 0,
  };
  #loggedAt: Partial<Record<LimitName, number>> = {};
  #logger: Logger;
  #now: () => number;

  constructor(logger: Logger, now: () => number) {
    this.#logger = logger;
    this.#now = now;
  }

  /** Count a hit of `limit`; log it (with the count so far) unless it was logged within the last seconds. */
  hit(limit: LimitName, fields: Record<string, unknown>): void {
    const n = ++this.counts[limit];
    const now = this.#now();
    const last = this.#loggedAt[limit];
    if (last !== undefined && now - last < LOG_EVERY_MS) return;
    this.#loggedAt[limit] = now;
    this.#logger.warn("limit reached", { limit, hits: n, ...fields });
  }
}
