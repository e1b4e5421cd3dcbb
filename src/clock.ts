/**
 * Time, passed in so keep-alive, expiry and will-delay tests run on a fake clock.
 * @module
 */

/** A cancellable timer handle. */
export interface TimerHandle {
  /** Stop the timer; calling it again does nothing. */
  cancel(): void;
}

/** The clock the broker reads and schedules with. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Run `fn` every `ms` milliseconds until cancelled. */
  every(ms: number, fn: () => void): TimerHandle;
  /** Run `fn` once after `ms` milliseconds unless cancelled. */
  after(ms: number, fn: () => void): TimerHandle;
}

/** The real clock over `Date.now` and the global timers. Timers do not keep a process alive where the runtime allows. */
export const systemClock: Clock = {
  now: () => Date.now(),
  every(ms, fn) {
    const id = setInterval(fn, ms);
    unref(id);
    return { cancel: () => clearInterval(id) };
  },
  after(ms, fn) {
    const id = setTimeout(fn, ms);
    unref(id);
    return { cancel: () => clearTimeout(id) };
  },
};

function unref(id: unknown): void {
  // Node and Bun return objects with unref(); Deno returns a number, whose unref would need its runtime API.
  const t = id as { unref?: () => void };
  if (typeof t === "object" && t !== null && typeof t.unref === "function") t.unref();
}

/** A clock that moves only when told to, for tests. */
export class FakeClock implements Clock {
  #now: number;
  #timers = new Set<{ at: number; every: number; fn: () => void }>();

  /** A fake clock reading `start` (milliseconds since the epoch) until advanced. */
  constructor(start = 1_700_000_000_000) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  every(ms: number, fn: () => void): TimerHandle {
    const t = { at: this.#now + ms, every: ms, fn };
    this.#timers.add(t);
    return { cancel: () => this.#timers.delete(t) };
  }

  after(ms: number, fn: () => void): TimerHandle {
    const t = { at: this.#now + ms, every: 0, fn };
    this.#timers.add(t);
    return { cancel: () => this.#timers.delete(t) };
  }

  /** Move time forward, firing due timers in order. */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let next: { at: number; every: number; fn: () => void } | undefined;
      for (const t of this.#timers) if (t.at <= end && (!next || t.at < next.at)) next = t;
      if (!next) break;
      this.#now = next.at;
      if (next.every > 0) next.at += next.every;
      else this.#timers.delete(next);
      next.fn();
    }
    this.#now = end;
  }
}
