import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Broker } from "../broker.ts";
import { FakeClock } from "../clock.ts";
import { AllowHook } from "../hooks/auth/allow_hook.ts";
import { Bridge, type BridgeOptions } from "./bridge.ts";
import type { BridgeLink, LinkHandlers, LinkMessage } from "./bridge_link.ts";

/** A remote that the test drives: connect attempts fail until `up`, publishes wait for `answer`. */
class FakeRemote {
  up = false;
  attempts: number[] = [];
  sent: LinkMessage[] = [];
  sentAt: number[] = [];
  pending: Array<{ m: LinkMessage; resolve: (code: number) => void; reject: (e: Error) => void }> = [];
  handlers: LinkHandlers | undefined;
  #clock: FakeClock;

  constructor(clock: FakeClock) {
    this.#clock = clock;
  }

  connector = (handlers: LinkHandlers): Promise<BridgeLink> => {
    this.attempts.push(this.#clock.now());
    if (!this.up) return Promise.reject(new Error("connect ECONNREFUSED"));
    this.handlers = handlers;
    return Promise.resolve({
      publish: (m) =>
        new Promise<number>((resolve, reject) => {
          this.sent.push(m);
          this.sentAt.push(this.#clock.now());
          this.pending.push({ m, resolve, reject });
        }),
      subscribe: () => Promise.resolve(),
      close: () => Promise.resolve(),
    });
  };

  /** Answer every pending publish with `code`. */
  answer(code = 0): void {
    for (const p of this.pending.splice(0)) p.resolve(code);
  }

  /** The connection drops: pending publishes fail. */
  drop(): void {
    for (const p of this.pending.splice(0)) p.reject(new Error("Connection closed"));
    this.handlers?.closed(new Error("connection lost"));
  }
}

const tick = () => new Promise((r) => setTimeout(r, 0));

/** Move the fake clock by `ms` in 10 ms steps, letting promises settle between steps (connects are async). */
async function pass(clock: FakeClock, ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 10) {
    clock.advance(10);
    await tick();
  }
}

function setup(extra: Partial<BridgeOptions> = {}) {
  const clock = new FakeClock();
  const broker = new Broker({ clock, hooks: [new AllowHook()], sysInterval: 0 });
  const remote = new FakeRemote(clock);
  const bridge = new Bridge({
    name: "cloud",
    host: broker,
    connector: remote.connector,
    protocolVersion: 5,
    remote: "mqtt://fake",
    out: [{ from: "s/#", to: "r/s/#", qos: 1 }],
    in: [],
    queue: { maxMessages: 100, maxBytes: 100_000, policy: "drop-oldest" },
    reconnect: { minDelayMs: 100, maxDelayMs: 1000 },
    nodeId: "me",
    random: () => 1,
    ...extra,
  });
  broker.addHook(bridge);
  return { clock, broker, remote, bridge };
}

describe("Bridge (fake remote, fake clock)", () => {
  it("backs off 100, 200, 400, 800, 1000 ms after failed attempts, from the very first one", async () => {
    const { clock, remote, bridge } = setup();
    bridge.start();
    await tick();
    await pass(clock, 2500);
    const gaps = remote.attempts.slice(1).map((t, i) => t - remote.attempts[i]!);
    assert.deepEqual(gaps.slice(0, 5), [100, 200, 400, 800, 1000]);
    assert.equal(bridge.status().failedAttempts, remote.attempts.length);
    await bridge.stop();
  });

  it("resends what was in flight when the link dropped, in order, and removes only on acknowledgement", async () => {
    const { clock, broker, remote, bridge } = setup();
    remote.up = true;
    bridge.start();
    await tick();
    for (let i = 0; i < 3; i++) await broker.publish(`s/${i}`, String(i), { qos: 1 });
    assert.deepEqual(remote.sent.map((m) => m.topic), ["r/s/0", "r/s/1", "r/s/2"]);
    remote.pending[0]!.resolve(0);
    await tick();
    assert.equal(bridge.status().queued, 2);
    remote.drop();
    await pass(clock, 100);
    assert.deepEqual(remote.sent.map((m) => m.topic), ["r/s/0", "r/s/1", "r/s/2", "r/s/1", "r/s/2"]);
    remote.answer();
    await tick();
    assert.equal(bridge.status().queued, 0);
    assert.equal(bridge.status().forwardedOut, 3);
    await bridge.stop();
  });

  it("sends what is left of a message expiry interval, and drops a message that waited it out", async () => {
    const { clock, broker, remote, bridge } = setup();
    bridge.start();
    await tick();
    const t0 = clock.now();
    await broker.publish("s/long", "a", { qos: 1, properties: { messageExpiryInterval: 10 } });
    await broker.publish("s/short", "b", { qos: 1, properties: { messageExpiryInterval: 2 } });
    await pass(clock, 3000);
    remote.up = true;
    await pass(clock, 1000);
    const waited = Math.floor((remote.sentAt[0]! - t0) / 1000);
    assert.ok(waited >= 3, `waited ${waited} s`);
    assert.deepEqual(remote.sent.map((m) => [m.topic, m.properties?.messageExpiryInterval]), [[
      "r/s/long",
      10 - waited,
    ]]);
    assert.equal(bridge.status().expired, 1);
    await bridge.stop();
  });

  it("a message the remote refuses (0x87) is dropped, not resent forever", async () => {
    const { broker, remote, bridge } = setup();
    remote.up = true;
    bridge.start();
    await tick();
    await broker.publish("s/x", "no", { qos: 1 });
    remote.answer(0x87);
    await tick();
    const s = bridge.status();
    assert.deepEqual([s.queued, s.dropped, s.forwardedOut], [0, 1, 0]);
    assert.match(s.lastError ?? "", /0x87/);
    await bridge.stop();
  });

  it("forwarded v5 messages carry this broker in their path; a message that passed it already is dropped", async () => {
    const { broker, remote, bridge } = setup();
    remote.up = true;
    bridge.start();
    await tick();
    await broker.publish("s/p", "1", { qos: 1 });
    assert.deepEqual(remote.sent[0]!.properties?.userProperties, [["comqtt-bridge-path", "me"]]);
    await broker.publish("s/p", "2", {
      qos: 1,
      properties: { userProperties: [["comqtt-bridge-path", "x,me"]] },
    });
    assert.equal(remote.sent.length, 1);
    await bridge.stop();
  });
});
