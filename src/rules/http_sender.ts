/**
 * The `http` rule action's sender: POST JSON with `fetch`, retry a bounded number of times with growing delays,
 * and never make the publisher wait (nothing here is awaited by the publish path).
 * @module
 */

import type { Clock } from "../clock.ts";

/** Limits of the sender. */
export interface HttpSenderOptions {
  /** Time source for retry delays and timeouts. */
  clock: Clock;
  /** Attempts after the first one. Default 2. */
  retries?: number;
  /** Delay before the first retry (ms), doubled for each next one. Default 200. */
  retryDelayMs?: number;
  /** One request's time limit (ms). Default 5000. */
  timeoutMs?: number;
  /** Requests pending (sending or waiting to retry) at most; beyond it a new one fails at once. Default 1000. */
  maxPending?: number;
  /** The fetch to use (tests may pass their own). Default the global one. */
  fetch?: FetchLike;
}

/** The part of `fetch` the sender uses. */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

/** One request. */
export interface HttpRequestSpec {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string;
}

/** Sends requests in the background; reports each one's final outcome through `done`. */
export class HttpSender {
  #o: Required<HttpSenderOptions>;
  #pending = 0;
  #timers = new Set<{ cancel(): void }>();
  #closed = false;

  constructor(options: HttpSenderOptions) {
    this.#o = {
      clock: options.clock,
      retries: options.retries ?? 2,
      retryDelayMs: options.retryDelayMs ?? 200,
      timeoutMs: options.timeoutMs ?? 5000,
      maxPending: options.maxPending ?? 1000,
      fetch: options.fetch ?? ((url, init) => fetch(url, init)),
    };
  }

  /** Requests not finished yet. */
  get pending(): number {
    return this.#pending;
  }

  /** Stop: retries not yet due are abandoned (a request already sent finishes on its own). */
  close(): void {
    this.#closed = true;
    for (const t of this.#timers) t.cancel();
    this.#timers.clear();
  }

  /** Start sending; `done(error?)` is called once with the final outcome. */
  send(request: HttpRequestSpec, done: (error?: Error) => void): void {
    if (this.#closed) {
      done(new Error(`request to ${request.url} not sent: the rule engine is stopped`));
      return;
    }
    if (this.#pending >= this.#o.maxPending) {
      done(
        new Error(
          `too many HTTP requests pending (${this.#o.maxPending}): request to ${request.url} dropped`,
        ),
      );
      return;
    }
    this.#pending++;
    const finish = (error?: Error) => {
      this.#pending--;
      done(error);
    };
    this.#attempt(request, 0, finish);
  }

  #attempt(request: HttpRequestSpec, attempt: number, finish: (error?: Error) => void): void {
    const retry = (error: Error) => {
      if (attempt >= this.#o.retries) return finish(error);
      this.#o.clock.after(
        this.#o.retryDelayMs * 2 ** attempt,
        () => this.#attempt(request, attempt + 1, finish),
      );
    };
    let response: Promise<Response>;
    try {
      response = this.#o.fetch(request.url, {
        method: request.method,
        headers: { "content-type": "application/json", ...request.headers },
        body: request.body,
        signal: AbortSignal.timeout(this.#o.timeoutMs),
      });
    } catch (err) {
      return retry(err instanceof Error ? err : new Error(String(err)));
    }
    response.then(async (res) => {
      // Read the body so the connection can be reused.
      await res.arrayBuffer().catch(() => {});
      if (res.ok) return finish();
      retry(new Error(`HTTP ${res.status} from ${request.url}`));
    }, (err) => retry(err instanceof Error ? err : new Error(String(err))));
  }
}
