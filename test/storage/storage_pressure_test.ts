/**
 * Storage that falls behind or fails must neither lose an acknowledged message nor let memory grow: a fast QoS 1
 * publisher over a real TCP socket is stopped after a bounded number of packets while the write-behind is stalled
 * (by its chain of waiting acknowledgements, or by the broker-wide pending bound when acknowledgements do not
 * wait), and resumes once storage catches up; writes that fail part-way are retried until every acknowledged
 * message is stored. The kill -9 part is in crash_test.ts.
 */

import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import mqtt from "mqtt-packet";
import type { Broker } from "../../src/broker.ts";
import { MemoryStorage } from "../../src/storage/memory_storage.ts";
import type { Storage, StorageOp, StoredState } from "../../src/storage/storage.ts";
import type { BrokerOptions } from "../../src/options.ts";
import { connectMemory } from "../../src/transport/memory.ts";
import { RawClient } from "../_helpers/raw_client.ts";
import { tcpBroker, testBroker, until } from "../_helpers/broker.ts";

/** A memory storage whose writes can be held (a stalled disk) or fail on some operations part-way. */
class FaultyStorage implements Storage {
  readonly name = "faulty";
  readonly inner = new MemoryStorage();
  stalled = false;
  /** Fail the nth operation applied (1-based count over all applies) when it returns true. */
  failAt: (n: number) => boolean = () => false;
  applied = 0;
  failures = 0;
  #gate: Array<() => void> = [];

  async apply(ops: readonly StorageOp[]): Promise<void> {
    while (this.stalled) await new Promise<void>((resolve) => this.#gate.push(resolve));
    for (const op of ops) {
      // Operations before the failing one are applied: a partial write, as a multi-commit backend can leave.
      if (this.failAt(++this.applied)) {
        this.failures++;
        throw new Error(`transient failure at operation ${this.applied}`);
      }
      await this.inner.apply([op]);
    }
  }

  release(): void {
    this.stalled = false;
    for (const r of this.#gate.splice(0)) r();
  }

  load(): Promise<StoredState> {
    return this.inner.load();
  }

  close(): Promise<void> {
    this.release();
    return this.inner.close();
  }
}

const brokers: Broker[] = [];
const storages: FaultyStorage[] = [];
after(async () => {
  // A test that failed while its storage was stalled would leave close() waiting for the writes.
  for (const s of storages) {
    s.failAt = () => false;
    s.release();
  }
  for (const b of brokers) await b.close().catch(() => {});
});

async function start(
  storage: FaultyStorage,
  options: BrokerOptions = {},
): Promise<{ broker: Broker; port: number }> {
  // The sink's queue holds every message of these tests (the default 1000 would drop the rest as queue-full).
  storages.push(storage);
  const started = await tcpBroker({
    storage,
    storageMaxDelay: 1,
    limits: { maxQueuedMessages: 0 },
    ...options,
  });
  brokers.push(started.broker);
  return started;
}

/** A persistent subscriber to load/# that goes offline, so every message is queued (and stored) for it. */
async function parkSink(port: number): Promise<void> {
  const sink = await RawClient.tcp(port);
  await sink.connect({ clientId: "sink", clean: false });
  await sink.subscribe("load/#", 1);
  sink.disconnect();
  await sink.waitClosed();
}

/** Write `count` QoS 1 PUBLISHes in one go, as a fast publisher does, without waiting for any PUBACK. */
function firehose(pub: RawClient, count: number): void {
  const parts: Buffer[] = [];
  for (let n = 1; n <= count; n++) {
    parts.push(mqtt.generate({
      cmd: "publish",
      topic: "load/x",
      payload: Buffer.from(`m${n}`),
      qos: 1,
      messageId: n,
      retain: false,
      dup: false,
    }));
  }
  pub.sendBytes(Buffer.concat(parts));
}

/** Payloads stored for the sink (queued or in flight). */
async function storedForSink(storage: FaultyStorage): Promise<Set<string>> {
  const state = await storage.load();
  const sink = state.sessions.find((s) => s.clientId === "sink");
  assert.ok(sink, "the sink's session is stored");
  return new Set([
    ...sink.queued.map((q) => new TextDecoder().decode(q.message.payload)),
    ...sink.inflight.map((q) => new TextDecoder().decode(q.message.payload)),
  ]);
}

describe("storage back-pressure and partial failures", () => {
  it("a stalled storage stops a fast QoS 1 publisher after maxPendingAcks packets; nothing is acked early", async () => {
    const storage = new FaultyStorage();
    const { broker, port } = await start(storage, { storageMaxPendingAcks: 16 });
    await parkSink(port);
    const pub = await RawClient.tcp(port);
    await pub.connect({ clientId: "fast", clean: true });
    const before = broker.stats.messagesReceived;
    storage.stalled = true;
    firehose(pub, 2000);
    await until(() => broker.stats.messagesReceived - before >= 16, 5000, "the first packets");
    await new Promise((r) => setTimeout(r, 300));
    const taken = broker.stats.messagesReceived - before;
    assert.ok(taken <= 18, `the broker stopped reading after about 16 packets, not ${taken}`);
    assert.deepEqual(pub.packets.filter((p) => p.cmd === "puback"), [], "no PUBACK before the write");

    storage.release();
    const acked = new Set<number>();
    while (acked.size < 2000) {
      const p = await pub.next(5000);
      if (p.cmd === "puback") acked.add(p.messageId);
    }
    assert.equal(broker.stats.messagesReceived - before, 2000);
    const stored = await storedForSink(storage);
    const missing = [...acked].filter((n) => !stored.has(`m${n}`));
    assert.deepEqual(missing, [], "every acknowledged message is stored");
    pub.destroy();
  });

  it("without durable acks, maxPending bounds what waits for storage and pauses every publisher", async () => {
    const storage = new FaultyStorage();
    const { broker, port } = await start(storage, { durableAcks: false, storageMaxPending: 50 });
    await parkSink(port);
    const pub = await RawClient.tcp(port);
    await pub.connect({ clientId: "fast", clean: true });
    const before = broker.stats.messagesReceived;
    storage.stalled = true;
    firehose(pub, 2000);
    // The sink's own records may still wait to be written too: the pause may come a few messages before 50.
    await until(() => broker.stats.messagesReceived - before >= 40, 5000, "the first packets").catch(
      (err) => {
        throw new Error(
          `${err.message}: ${broker.stats.messagesReceived - before} taken, ${storage.applied} applied`,
        );
      },
    );
    await new Promise((r) => setTimeout(r, 300));
    const taken = broker.stats.messagesReceived - before;
    assert.ok(taken <= 60, `the broker stopped reading at about 50 pending operations, not ${taken}`);
    storage.release();
    await until(() => broker.stats.messagesReceived - before === 2000, 10_000, "all 2000 messages");
    await until(() => pub.packets.filter((p) => p.cmd === "puback").length === 2000, 5000, "2000 PUBACKs");
    pub.destroy();
  });

  it("writes that fail part-way are retried, never dropped: every acknowledged message is stored", async () => {
    const storage = new FaultyStorage();
    let seed = 7;
    // About one operation in eight fails (deterministic), in the middle of batches.
    storage.failAt = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % 8 === 0;
    };
    const { port } = await start(storage, { storageMaxPendingAcks: 32 });
    await parkSink(port);
    const pub = await RawClient.tcp(port);
    await pub.connect({ clientId: "flaky", clean: true });
    firehose(pub, 500);
    const acked = new Set<number>();
    while (acked.size < 500) {
      const p = await pub.next(10_000);
      if (p.cmd === "puback") acked.add(p.messageId);
    }
    assert.ok(storage.failures >= 10, `writes did fail (${storage.failures} times)`);
    storage.failAt = () => false;
    const stored = await storedForSink(storage);
    assert.deepEqual(
      [...acked].filter((n) => !stored.has(`m${n}`)),
      [],
      "no acknowledged message was dropped",
    );
    assert.equal(stored.size, 500);
    pub.destroy();
  });

  it("pauses the connection itself (Connection.pause) so the transport holds the bytes, and resumes it", async () => {
    const storage = new FaultyStorage();
    storages.push(storage);
    const broker = testBroker({ storage, storageMaxPendingAcks: 4, limits: { maxQueuedMessages: 0 } });
    brokers.push(broker);
    await broker.listen();
    const peer = connectMemory(broker.accept);
    const got: Uint8Array[] = [];
    peer.onData = (b) => got.push(b);
    const send = (p: object) => peer.write(mqtt.generate(p as mqtt.Packet));
    send({
      cmd: "connect",
      protocolId: "MQTT",
      protocolVersion: 4,
      clientId: "sink",
      clean: false,
      keepalive: 0,
    });
    send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "load/#", qos: 1 }] });
    await until(() => got.length >= 2, 2000, "CONNACK and SUBACK");
    storage.stalled = true;
    const publish = (n: number) =>
      send({ cmd: "publish", topic: "load/x", payload: Buffer.from(`m${n}`), qos: 1, messageId: n });
    for (let n = 1; n <= 10; n++) publish(n);
    await until(() => peer.paused, 2000, "the pause");
    for (let n = 11; n <= 50; n++) publish(n);
    assert.ok(peer.heldBytes > 0, "the transport holds what the broker does not read");
    storage.release();
    await until(() => !peer.paused && peer.heldBytes === 0, 5000, "the resume");
    const pubacks = () => got.filter((b) => b[0] === 0x40).length;
    await until(() => pubacks() === 50, 5000, "50 PUBACKs");
    peer.close();
  });
});
