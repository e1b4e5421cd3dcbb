/**
 * Reconnect delays: exponential back-off with jitter, so that many edge brokers cut off by the same outage do not
 * all knock on the cloud broker in the same millisecond when it comes back.
 * @module
 */

/** Bounds of the back-off, in milliseconds. */
export interface BackoffOptions {
  /** Delay before the first retry, in milliseconds. */
  minDelayMs: number;
  /** Upper bound of the delay between retries, in milliseconds. */
  maxDelayMs: number;
}

/** Defaults: the first retry after about half a second, at most about 30 s apart. */
export const DEFAULT_BACKOFF: Readonly<BackoffOptions> = Object.freeze({
  minDelayMs: 500,
  maxDelayMs: 30_000,
});

/**
 * The delay before attempt `failures + 1` after `failures` failed attempts in a row (0 = the first retry):
 * `min * 2^failures`, capped at `max`, then "equal jitter": a uniform pick in the upper half of that.
 */
export function backoffDelay(
  failures: number,
  options: BackoffOptions,
  random: () => number = Math.random,
): number {
  const exp = Math.min(options.maxDelayMs, options.minDelayMs * 2 ** Math.min(failures, 30));
  return Math.round(exp / 2 + random() * (exp / 2));
}
