/**
 * Global bounds: persistent sessions in total, retained messages (count and bytes), queued bytes per session and
 * the expiry of 3.1.1 persistent sessions; each is counted in /metrics and logged when hit. A disconnected session
 * keeps a small snapshot of its owner. Real TCP sockets through the running runtime's adapter.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { RawClient } from "../_helpers/raw_client.ts";
import { tcpBroker, until } from "../_helpers/broker.ts";
import type { Broker } from "../../src/broker.ts";
import type { BrokerOptions } from "../../src/options.ts";
import { FakeClock } from "../../src/clock.ts";
import { Client } from "../../src/client/client.ts";
import { renderMetrics } from "../../src/http/prometheus.ts";
import { ActivityHook } from "../../src/http/activity_hook.ts";
import { storageLatency } from "../../src/http/storage_timing.ts";

/** A TCP broker whose warnings are recorded. */
async function boundedBroker(options: BrokerOptions) {
  const warnings: Array<Record<string, unknown>> = [];
  const logger = {
    debug() {},
    info() {},
    error() {},
    warn: (message: string, fields?: Record<string, unknown>) => void warnings.push({ message, ...fields }),
  };
  const { broker, port } = await tcpBroker({ ...options, logger });
  const clients: RawClient[] = [];
  return {
    broker,
    warnings,
    async client(version: 4 | 5): Promise<RawClient> {
      const c = await RawClient.tcp(port, version);
      clients.push(c);
      return c;
    },
    async close() {
      for (const c of clients) c.destroy();
      await broker.close();
    },
  };
}

function metric(broker: Broker, line: string): boolean {
  const text = renderMetrics({
    broker,
    activity: new ActivityHook(),
    storage: storageLatency(),
    runtime: { name: "test", version: "0" },
  });
  return text.split("\n").includes(line);
}

const code = (connack: Record<string, unknown>): unknown => connack.returnCode ?? connack.reasonCode;

describe("global bounds", () => {
  it("maxPersistentSessions: one persistent session too many is refused (0x97; 3.1.1 0x03)", async () => {
    const b = await boundedBroker({ limits: { maxPersistentSessions: 2 } });
    try {
      const p1 = await b.client(4);
      assert.equal(code(await p1.connect({ clientId: "p1", clean: false })), 0);
      const p2 = await b.client(5);
      assert.equal(code(await p2.connect({ clientId: "p2", properties: { sessionExpiryInterval: 60 } })), 0);
      const p3 = await b.client(5);
      assert.equal(
        code(await p3.connect({ clientId: "p3", properties: { sessionExpiryInterval: 60 } })),
        0x97,
      );
      const p4 = await b.client(4);
      assert.equal(code(await p4.connect({ clientId: "p4", clean: false })), 3);
      // Clean sessions are not counted, and an existing persistent session may come back.
      const c1 = await b.client(4);
      assert.equal(code(await c1.connect({ clientId: "c1", clean: true })), 0);
      p1.disconnect();
      await until(() => b.broker.getClient("p1") === undefined, 2000, "p1 gone");
      const again = await b.client(4);
      const connack = await again.connect({ clientId: "p1", clean: false });
      assert.equal(code(connack), 0);
      assert.equal(connack.sessionPresent, true);
      assert.equal(b.broker.persistentSessionCount, 2);
      assert.equal(b.broker.limitHits.counts.maxPersistentSessions, 2);
      assert.ok(metric(b.broker, 'comqtt_limit_hits_total{limit="maxPersistentSessions"} 2'));
      assert.ok(b.warnings.some((w) => w.message === "limit reached" && w.limit === "maxPersistentSessions"));
    } finally {
      await b.close();
    }
  });

  it("maxRetainedMessages: a retained message on a new topic past the bound is delivered but not kept", async () => {
    const b = await boundedBroker({ limits: { maxRetainedMessages: 2 } });
    try {
      const pub = await b.client(4);
      await pub.connect({ clientId: "pub" });
      const sub = await b.client(4);
      await sub.connect({ clientId: "sub" });
      await sub.subscribe("r/#", 0);
      for (const t of ["r/1", "r/2", "r/3"]) pub.publish(t, "x", { retain: true });
      for (let i = 0; i < 3; i++) await sub.expect("publish");
      assert.equal(b.broker.retainedCount, 2);
      assert.equal(b.broker.getRetained("r/3"), undefined);
      pub.publish("r/1", "replaced", { retain: true }); // replacing is not a new one
      await sub.expect("publish");
      assert.equal(Buffer.from(b.broker.getRetained("r/1")!.payload).toString(), "replaced");
      assert.equal(b.broker.limitHits.counts.maxRetainedMessages, 1);
      assert.ok(metric(b.broker, 'comqtt_limit_hits_total{limit="maxRetainedMessages"} 1'));
      assert.ok(metric(b.broker, "comqtt_retained_messages 2"));
      assert.ok(b.warnings.some((w) => w.limit === "maxRetainedMessages"));
    } finally {
      await b.close();
    }
  });

  it("maxRetainedBytes: topics and payloads together stay within the bound", async () => {
    const b = await boundedBroker({ limits: { maxRetainedBytes: 100 } });
    try {
      const pub = await b.client(5);
      await pub.connect({ clientId: "pub" });
      pub.publish("a", "x".repeat(80), { retain: true, qos: 1, messageId: 1 }); // 81 bytes
      await pub.expect("puback");
      pub.publish("b", "y".repeat(30), { retain: true, qos: 1, messageId: 2 }); // 31 more: refused
      await pub.expect("puback");
      assert.equal(b.broker.getRetained("b"), undefined);
      assert.equal(b.broker.retainedBytes, 81);
      pub.publish("a", "z".repeat(10), { retain: true, qos: 1, messageId: 3 }); // shrinks to 11
      await pub.expect("puback");
      pub.publish("b", "y".repeat(30), { retain: true, qos: 1, messageId: 4 }); // now fits
      await pub.expect("puback");
      assert.equal(b.broker.retainedBytes, 11 + 31);
      pub.publish("a", "", { retain: true, qos: 1, messageId: 5 }); // cleared
      await pub.expect("puback");
      assert.equal(b.broker.retainedBytes, 31);
      assert.equal(b.broker.limitHits.counts.maxRetainedBytes, 1);
      assert.ok(metric(b.broker, "comqtt_retained_bytes 31"));
      assert.ok(b.warnings.some((w) => w.limit === "maxRetainedBytes"));
    } finally {
      await b.close();
    }
  });

  it("maxQueuedBytes: an offline session queues payload bytes up to the bound, not only a count", async () => {
    const b = await boundedBroker({ limits: { maxQueuedBytes: 2500 } });
    try {
      const sub = await b.client(4);
      await sub.connect({ clientId: "q", clean: false });
      await sub.subscribe("q/t", 1);
      sub.disconnect();
      await until(() => b.broker.getClient("q") === undefined, 2000, "q gone");
      const pub = await b.client(4);
      await pub.connect({ clientId: "qp" });
      for (let i = 1; i <= 5; i++) {
        pub.publish("q/t", Buffer.alloc(1000, i), { qos: 1, messageId: i });
        await pub.expect("puback");
      }
      const session = b.broker.getSession("q")!;
      assert.equal(session.queued, 2);
      assert.equal(session.queuedBytes, 2000);
      assert.equal(b.broker.limitHits.counts.maxQueuedBytes, 3);
      assert.ok(metric(b.broker, 'comqtt_limit_hits_total{limit="maxQueuedBytes"} 3'));
      const back = await b.client(4);
      await back.connect({ clientId: "q", clean: false });
      const first = await back.expect("publish");
      const second = await back.expect("publish");
      assert.deepEqual([first.payload[0], second.payload[0]], [1, 2]);
      assert.equal(session.queuedBytes, 0);
    } finally {
      await b.close();
    }
  });

  it("v3SessionExpiryInterval: a 3.1.1 persistent session expires; its owner is kept as a small snapshot", async () => {
    const clock = new FakeClock(Date.now());
    const b = await boundedBroker({ clock, sweepInterval: 1000, limits: { v3SessionExpiryInterval: 60 } });
    try {
      const c = await b.client(4);
      await c.connect({ clientId: "v3", clean: false, username: "someone" });
      await c.subscribe("x", 1);
      c.disconnect();
      await until(() => b.broker.getClient("v3") === undefined, 2000, "v3 gone");
      const session = b.broker.getSession("v3")!;
      assert.equal(session.expiryInterval, 60);
      const owner = session.owner!;
      assert.equal(owner instanceof Client, false, "not the whole client with its decoder and alias maps");
      assert.deepEqual(Object.keys(owner).sort(), [
        "id",
        "listener",
        "protocolVersion",
        "remoteAddress",
        "username",
      ]);
      assert.equal(owner.username, "someone");
      clock.advance(59_000);
      assert.notEqual(b.broker.getSession("v3"), undefined);
      clock.advance(2_000);
      assert.equal(b.broker.getSession("v3"), undefined, "expired after 60 s");
      const again = await b.client(4);
      const connack = await again.connect({ clientId: "v3", clean: false, username: "someone" });
      assert.equal(connack.sessionPresent, false);
    } finally {
      await b.close();
    }
  });
});
