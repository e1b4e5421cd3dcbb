import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { AuthThrottle, FORGET_MS, FREE_FAILURES, hostOf, MAX_DELAY_MS } from "./auth_throttle.ts";
import { FakeClock } from "../clock.ts";
import { LimitHits } from "../sys/limit_hits.ts";
import { silentLogger } from "../logger.ts";

function throttle(delayMs = 100) {
  const clock = new FakeClock();
  const hits = new LimitHits(silentLogger, () => clock.now());
  return { clock, hits, throttle: new AuthThrottle({ delayMs, clock, limitHits: hits }) };
}

const flush = () => new Promise((r) => setTimeout(r, 0));

describe("AuthThrottle", () => {
  it("hostOf strips the port", () => {
    assert.equal(hostOf("127.0.0.1:5000"), "127.0.0.1");
    assert.equal(hostOf("[::1]:5000"), "[::1]");
    assert.equal(hostOf("::1"), "::1");
    assert.equal(hostOf("memory"), "memory");
  });

  it("runs checks at once until an address has failed FREE_FAILURES times, then delays it alone", async () => {
    const { clock, hits, throttle: t } = throttle(100);
    for (let i = 0; i < FREE_FAILURES; i++) assert.equal(t.run("10.0.0.1:1", () => false), false);
    assert.equal(t.failures("10.0.0.1:9"), FREE_FAILURES);
    let ran = 0;
    const next = t.run("10.0.0.1:2", () => (ran++, false));
    assert.ok(next instanceof Promise, "the next check waits");
    // Another address is not held up.
    assert.equal(t.run("10.0.0.2:1", () => true), true);
    await flush();
    assert.equal(ran, 0);
    clock.advance(99);
    await flush();
    assert.equal(ran, 0);
    clock.advance(1);
    await flush();
    assert.equal(ran, 1);
    assert.equal(await next, false);
    assert.equal(hits.counts.authFailureDelay, 1);
    // The delay doubles with each failure, up to the maximum.
    let later = false;
    const third = t.run("10.0.0.1:3", () => (later = true, true));
    await flush();
    clock.advance(199);
    await flush();
    assert.equal(later, false);
    clock.advance(1);
    assert.equal(await third, true);
    for (let i = 0; i < 20; i++) {
      const p = t.run("10.0.0.1:4", () => false);
      await flush();
      clock.advance(MAX_DELAY_MS);
      await p;
    }
    const capped = t.run("10.0.0.1:5", () => true);
    await flush();
    clock.advance(MAX_DELAY_MS);
    assert.equal(await capped, true, "never more than MAX_DELAY_MS");
  });

  it("runs FREE_FAILURES checks of one address at once; later ones queue and run one at a time", async () => {
    const { throttle: t } = throttle(100);
    const release: Array<(ok: boolean) => void> = [];
    const started: number[] = [];
    const results = Array.from(
      { length: 5 },
      (_, i) =>
        t.run("10.0.0.3:1", () =>
          new Promise<boolean>((resolve) => {
            started.push(i);
            release.push(resolve);
          })),
    );
    await flush();
    assert.deepEqual(started, [0, 1, 2, 3], "three free, then the first queued one");
    release[0](true);
    release[1](true);
    release[2](true);
    await flush();
    assert.deepEqual(started, [0, 1, 2, 3], "queued checks run one at a time");
    release[3](true);
    await flush();
    await flush();
    release[4](true);
    assert.deepEqual(await Promise.all(results), [true, true, true, true, true]);
    assert.equal(t.size, 0, "an address with no failures and nothing running is forgotten");
  });

  it("forgets failures after FORGET_MS, and skips nothing when off", () => {
    const { clock, throttle: t } = throttle(100);
    for (let i = 0; i < FREE_FAILURES; i++) t.run("10.0.0.4:1", () => false);
    assert.equal(t.failures("10.0.0.4:1"), FREE_FAILURES);
    clock.advance(FORGET_MS + 1);
    assert.equal(t.run("10.0.0.4:1", () => true), true);
    assert.equal(t.failures("10.0.0.4:1"), 0);
    const off = throttle(0).throttle;
    for (let i = 0; i < 10; i++) assert.equal(off.run("10.0.0.5:1", () => false), false);
    assert.equal(off.size, 0);
  });
});
