/**
 * One backend call with a deadline, and the log lines of a backend that fails and recovers.
 * @module
 */

import type { Logger } from "../../../logger.ts";

/** Thrown when a backend call takes longer than its timeout. */
export class BackendTimeoutError extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = "BackendTimeoutError";
  }
}

/**
 * Run `call` with an AbortSignal that aborts after `ms`; rejects with {@link BackendTimeoutError} then, even when
 * the call ignores its signal.
 */
export function callWithTimeout<T>(call: (signal: AbortSignal) => Promise<T>, ms: number): Promise<T> {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new BackendTimeoutError(ms);
      controller.abort(error);
      reject(error);
    }, ms);
  });
  return Promise.race([call(controller.signal), deadline]).finally(() => clearTimeout(timer));
}

/** How often a backend that keeps failing is logged again. */
const REPEAT_MS = 10_000;

/**
 * Logs a backend's first failure at once, then at most once per {@link REPEAT_MS} with the number of failures
 * in between, and one line when it answers again: a flood of CONNECTs against a dead backend stays readable.
 */
export class FailureLog {
  readonly #hook: string;
  readonly #kind: string;
  readonly #logger: () => Logger;
  readonly #now: () => number;
  #failing = false;
  #lastLogged = -Infinity;
  #suppressed = 0;

  constructor(hook: string, kind: string, logger: () => Logger, now: () => number) {
    this.#hook = hook;
    this.#kind = kind;
    this.#logger = logger;
    this.#now = now;
  }

  /** A call failed; `outcome` is what the client gets instead (for the log line). */
  failed(op: string, err: unknown, outcome: string): void {
    this.#failing = true;
    const now = this.#now();
    if (now - this.#lastLogged < REPEAT_MS) {
      this.#suppressed++;
      return;
    }
    this.#lastLogged = now;
    const message = err instanceof Error ? err.message : String(err);
    this.#logger().warn(`auth backend ${this.#kind} failed`, {
      backend: this.#hook,
      op,
      error: message,
      outcome,
      ...(this.#suppressed > 0 ? { failuresSinceLastLine: this.#suppressed } : {}),
    });
    this.#suppressed = 0;
  }

  /** A call succeeded: log the recovery once. */
  succeeded(): void {
    if (!this.#failing) return;
    this.#failing = false;
    this.#lastLogged = -Infinity;
    this.#suppressed = 0;
    this.#logger().info(`auth backend ${this.#kind} answers again`, { backend: this.#hook });
  }
}
