import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../clock.ts";
import { BrokerStats } from "../sys/stats.ts";
import { RateSampler } from "./rate_sampler.ts";
import type { RateSample } from "./rate_sampler.ts";

describe("RateSampler", () => {
  it("turns counter deltas into per-second rates on the broker's clock", () => {
    const clock = new FakeClock();
    const stats = new BrokerStats(clock.now());
    const sampler = new RateSampler({ clock, stats, intervalMs: 500 });
    const seen: RateSample[] = [];
    sampler.onSample((s) => seen.push(s));
    sampler.start();
    stats.messagesReceived += 10;
    stats.messagesSent += 30;
    stats.bytesReceived += 1000;
    stats.bytesSent += 2000;
    stats.dropped["queue-full"] += 2;
    stats.clientsConnected = 3;
    clock.advance(500);
    assert.deepEqual(seen, [{
      t: clock.now(),
      messagesIn: 20,
      messagesOut: 60,
      bytesIn: 2000,
      bytesOut: 4000,
      dropped: 4,
      connections: 3,
    }]);
    clock.advance(500);
    assert.equal(seen.length, 2);
    assert.equal(seen[1]!.messagesIn, 0, "no new messages: the rate falls to 0");
    assert.deepEqual(sampler.latest, seen[1]);
    sampler.stop();
    clock.advance(5000);
    assert.equal(seen.length, 2, "stop() ends sampling");
  });

  it("keeps only historySize samples, oldest first", () => {
    const clock = new FakeClock();
    const stats = new BrokerStats(clock.now());
    const sampler = new RateSampler({ clock, stats, intervalMs: 100, historySize: 3 });
    sampler.start();
    for (let i = 1; i <= 5; i++) {
      stats.messagesReceived += i;
      clock.advance(100);
    }
    assert.deepEqual(sampler.history.map((s) => s.messagesIn), [30, 40, 50]);
    sampler.stop();
  });

  it("reports zero rates before the first sample, and a listener that throws stops nothing", () => {
    const clock = new FakeClock();
    const stats = new BrokerStats(clock.now());
    stats.clientsConnected = 2;
    const sampler = new RateSampler({ clock, stats });
    assert.equal(sampler.latest.messagesIn, 0);
    assert.equal(sampler.latest.connections, 2);
    let calls = 0;
    sampler.onSample(() => {
      throw new Error("boom");
    });
    const off = sampler.onSample(() => calls++);
    sampler.start();
    clock.advance(2000);
    assert.equal(calls, 2);
    off();
    clock.advance(1000);
    assert.equal(calls, 2, "a removed listener is not called");
    sampler.stop();
  });

  it("refuses a nonsense interval or history size", () => {
    const clock = new FakeClock();
    const stats = new BrokerStats(clock.now());
    assert.throws(() => new RateSampler({ clock, stats, intervalMs: 0 }), /Cannot sample rates every 0 ms/);
    assert.throws(() => new RateSampler({ clock, stats, historySize: 0 }), /Cannot keep 0 rate samples/);
  });
});
