/**
 * Slows down repeated authentication failures from one remote address, so that guessing passwords (and making
 * the broker hash each guess) gets slower with every wrong one while other addresses are not held up.
 *
 * An address may have {@link FREE_FAILURES} checks running or failed; past that its checks run one at a time,
 * each after a delay that doubles with every further failure (from `delayMs` up to {@link MAX_DELAY_MS}). An
 * address with no failure for {@link FORGET_MS} starts afresh. The table of addresses is bounded; the oldest entry
 * goes first.
 * @module
 */

import type { Clock } from "../clock.ts";
import type { LimitHits } from "../sys/limit_hits.ts";
import { isPromise } from "../hooks/hook_chain.ts";

/** Failures an address may have before its attempts are delayed. */
export const FREE_FAILURES = 3;
/** Longest delay before one attempt. */
export const MAX_DELAY_MS = 5_000;
/** Failures older than this are forgotten. */
export const FORGET_MS = 60_000;
/** Addresses remembered at most. */
const MAX_ADDRESSES = 10_000;

interface Entry {
  failures: number;
  lastFailure: number;
  /** Checks running now. */
  inFlight: number;
  /** Checks waiting for their turn. */
  waiting: number;
  /** Settles when the address's queued checks are done. */
  tail: Promise<unknown>;
}

/** Options of {@link AuthThrottle}. */
export interface AuthThrottleOptions {
  /** First delay in ms; 0 turns the throttle off. */
  readonly delayMs: number;
  readonly clock: Clock;
  readonly limitHits: LimitHits;
}

type Answer = boolean | undefined;

/** See the module documentation. */
export class AuthThrottle {
  readonly #delayMs: number;
  readonly #clock: Clock;
  readonly #hits: LimitHits;
  readonly #entries = new Map<string, Entry>();

  constructor(options: AuthThrottleOptions) {
    this.#delayMs = options.delayMs;
    this.#clock = options.clock;
    this.#hits = options.limitHits;
  }

  /** Addresses on record (with failures, or checks running or waiting). */
  get size(): number {
    return this.#entries.size;
  }

  /** Failures on record for the host of `remoteAddress`. */
  failures(remoteAddress: string): number {
    return this.#current(hostOf(remoteAddress))?.failures ?? 0;
  }

  /**
   * Run `check` for a client of `remoteAddress` (host and port) and record its answer. An address runs up to
   * {@link FREE_FAILURES} checks at once while it has fewer failures than that; beyond, its checks run one at a
   * time, each after the address's delay. `check` returns undefined when it did not run (the client left).
   */
  run(remoteAddress: string, check: () => Answer | Promise<Answer>): Answer | Promise<Answer> {
    if (this.#delayMs === 0) return check();
    const host = hostOf(remoteAddress);
    let entry = this.#current(host);
    if (entry === undefined) {
      if (this.#entries.size >= MAX_ADDRESSES) this.#entries.delete(this.#entries.keys().next().value!);
      entry = { failures: 0, lastFailure: 0, inFlight: 0, waiting: 0, tail: Promise.resolve() };
      this.#entries.set(host, entry);
    }
    const e = entry;
    if (e.failures + e.inFlight + e.waiting < FREE_FAILURES) return this.#start(host, e, check);
    e.waiting++;
    const turn = e.tail
      .then(() => {
        const delay = this.#delayOf(e.failures);
        if (delay === 0) return;
        this.#hits.hit("authFailureDelay", { remote: host, failures: e.failures, delayMs: delay });
        return new Promise<void>((resolve) => this.#clock.after(delay, resolve));
      })
      .then(() => {
        e.waiting--;
        return this.#start(host, e, check);
      });
    e.tail = turn.catch(() => {});
    return turn;
  }

  #delayOf(failures: number): number {
    if (failures < FREE_FAILURES) return 0;
    return Math.min(this.#delayMs * 2 ** (failures - FREE_FAILURES), MAX_DELAY_MS);
  }

  #start(host: string, e: Entry, check: () => Answer | Promise<Answer>): Answer | Promise<Answer> {
    e.inFlight++;
    let answer: Answer | Promise<Answer>;
    try {
      answer = check();
    } catch (err) {
      this.#done(host, e, undefined);
      throw err;
    }
    if (!isPromise(answer)) return this.#done(host, e, answer);
    return answer.then((ok) => this.#done(host, e, ok), (err) => {
      this.#done(host, e, undefined);
      throw err;
    });
  }

  #done(host: string, e: Entry, ok: Answer): Answer {
    e.inFlight--;
    if (ok === false) {
      e.failures++;
      e.lastFailure = this.#clock.now();
    }
    if (e.failures === 0 && e.inFlight === 0 && e.waiting === 0 && this.#entries.get(host) === e) {
      this.#entries.delete(host);
    }
    return ok;
  }

  #current(host: string): Entry | undefined {
    const entry = this.#entries.get(host);
    if (entry !== undefined && entry.failures > 0 && this.#clock.now() - entry.lastFailure > FORGET_MS) {
      entry.failures = 0;
    }
    return entry;
  }
}

/** `127.0.0.1:5000` -> `127.0.0.1`, `[::1]:5000` -> `[::1]`; anything else as it is. */
export function hostOf(remoteAddress: string): string {
  const colon = remoteAddress.lastIndexOf(":");
  if (colon <= 0) return remoteAddress;
  const host = remoteAddress.slice(0, colon);
  // A bare IPv6 address without a port has colons but no brackets.
  return host.includes(":") && !host.startsWith("[") ? remoteAddress : host;
}
