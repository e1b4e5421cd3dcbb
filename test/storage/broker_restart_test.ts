/**
 * A broker with storage restarted in the same process: sessions, subscriptions, queued and inflight messages,
 * inbound QoS 2 state, retained messages and delayed wills come back; expired ones do not. Runs against the
 * in-memory storage and against Deno KV and SQLite through the running runtime's openers.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Broker } from "../../src/broker.ts";
import { AllowHook } from "../../src/hooks/auth/allow_hook.ts";
import { FakeClock } from "../../src/clock.ts";
import { MemoryStorage } from "../../src/storage/memory_storage.ts";
import type { Storage } from "../../src/storage/storage.ts";
import { openKvStorage, openSqliteStorage } from "../../adapters/mod.ts";
import { RawClient } from "../_helpers/raw_client.ts";
import { until } from "../_helpers/broker.ts";
import { tempDir } from "./_kv_files.ts";

interface Backend {
  name: string;
  /** Storage for one broker life; the same underlying data each time. */
  open(): Promise<Storage>;
  cleanup(): void;
}

function memoryBackend(): Backend {
  // MemoryStorage lives as long as the object: reuse it, but hand each broker a view whose close() is a no-op.
  const storage = new MemoryStorage();
  return {
    name: "memory",
    open: () =>
      Promise.resolve({
        name: storage.name,
        apply: (ops) => storage.apply(ops),
        load: () => storage.load(),
        close: () => Promise.resolve(),
      }),
    cleanup() {},
  };
}

function kvBackend(): Backend {
  const dir = tempDir();
  const file = dir.file("restart.kv");
  return { name: "denokv", open: () => openKvStorage(file), cleanup: () => dir.remove() };
}

function sqliteBackend(): Backend {
  const dir = tempDir();
  const file = dir.file("restart.sqlite");
  return { name: "sqlite", open: () => openSqliteStorage(file), cleanup: () => dir.remove() };
}

async function start(storage: Storage, clock?: FakeClock): Promise<Broker> {
  const broker = new Broker({ hooks: [new AllowHook()], storage, sysInterval: 0, sweepInterval: 50, clock });
  await broker.restore();
  return broker;
}

for (const make of [memoryBackend, kvBackend, sqliteBackend]) {
  describe(`broker restart with ${make().name} storage`, () => {
    it("restores a persistent session with its subscriptions and the QoS 1/2 messages queued for it", async () => {
      const backend = make();
      try {
        let broker = await start(await backend.open());
        const sub = RawClient.memory(broker);
        await sub.connect({ clientId: "keeper", clean: false });
        await sub.subscribe([["keep/#", 2], ["other", 1]]);
        sub.disconnect();
        await sub.waitClosed();
        const pub = RawClient.memory(broker);
        await pub.connect();
        for (let i = 1; i <= 5; i++) {
          pub.publish(`keep/${i}`, `m${i}`, { qos: (i % 2) + 1, messageId: i });
          await pub.expect(i % 2 === 0 ? "puback" : "pubrec");
        }
        pub.publish("keep/r", "retained", { qos: 1, retain: true, messageId: 9 });
        await pub.expect("puback");
        await broker.close();

        broker = await start(await backend.open());
        assert.deepEqual([...broker.getSession("keeper")!.subscriptions.keys()].sort(), ["keep/#", "other"]);
        assert.equal(broker.getRetained("keep/r")?.payload.length, 8);
        const back = RawClient.memory(broker);
        const ack = await back.connect({ clientId: "keeper", clean: false });
        assert.equal(ack.sessionPresent, true);
        const got: string[] = [];
        let completed = 0;
        while (got.length < 6 || completed < 3) {
          const p = await back.next();
          if (p.cmd === "publish") {
            got.push(p.payload.toString());
            if (p.qos === 1) back.send({ cmd: "puback", messageId: p.messageId });
            if (p.qos === 2) back.send({ cmd: "pubrec", messageId: p.messageId });
          } else if (p.cmd === "pubrel") {
            back.send({ cmd: "pubcomp", messageId: p.messageId });
            completed++;
          } else throw new Error(`Unexpected ${p.cmd}`);
        }
        assert.deepEqual(got, ["m1", "m2", "m3", "m4", "m5", "retained"]);
        await broker.close();
      } finally {
        backend.cleanup();
      }
    });

    it("keeps retained messages on $-topics other than $SYS; $SYS values are not stored", async () => {
      const backend = make();
      try {
        let broker = await start(await backend.open());
        const pub = RawClient.memory(broker);
        await pub.connect();
        pub.publish("$app/config", "dollar", { qos: 1, retain: true, messageId: 1 });
        await pub.expect("puback");
        broker.publishSys("$SYS/broker/test", "fresh at every start");
        await broker.close();

        broker = await start(await backend.open());
        assert.equal(broker.getRetained("$app/config")?.payload.length, 6);
        assert.equal(broker.getRetained("$SYS/broker/test"), undefined);
        const late = RawClient.memory(broker);
        await late.connect();
        await late.subscribe("$app/#", 1);
        const p = await late.expect("publish");
        assert.deepEqual([p.topic, p.payload.toString(), p.retain], ["$app/config", "dollar", true]);
        await broker.close();
      } finally {
        backend.cleanup();
      }
    });

    it("re-sends an unacknowledged message with DUP and keeps an inbound QoS 2 id across the restart", async () => {
      const backend = make();
      try {
        let broker = await start(await backend.open());
        const sub = RawClient.memory(broker);
        await sub.connect({ clientId: "slow", clean: false });
        await sub.subscribe("slow/#", 1);
        const pub = RawClient.memory(broker);
        await pub.connect({ clientId: "pub2", clean: false });
        pub.publish("slow/a", "unacked", { qos: 1, messageId: 1 });
        await pub.expect("puback");
        const first = await sub.expect("publish");
        assert.equal(first.dup, false);
        // A QoS 2 message from pub2 that got PUBREC but no PUBREL yet.
        pub.publish("slow/b", "exactly-once", { qos: 2, messageId: 77 });
        await pub.expect("pubrec");
        await sub.expect("publish");
        await broker.close();

        broker = await start(await backend.open());
        const again = RawClient.memory(broker);
        await again.connect({ clientId: "slow", clean: false });
        const redelivered = await again.expect("publish");
        assert.equal(redelivered.payload.toString(), "unacked");
        assert.equal(redelivered.dup, true);
        assert.equal(redelivered.messageId, first.messageId);
        const pub2 = RawClient.memory(broker);
        await pub2.connect({ clientId: "pub2", clean: false });
        // The publisher re-sends the QoS 2 PUBLISH: the broker still knows the id and does not deliver it twice.
        pub2.publish("slow/b", "exactly-once", { qos: 2, messageId: 77, dup: true });
        await pub2.expect("pubrec");
        pub2.send({ cmd: "pubrel", messageId: 77 });
        await pub2.expect("pubcomp");
        const rest = await again.collect(100);
        assert.deepEqual(
          rest.filter((p) => p.cmd === "publish").map((p) => p.payload.toString()),
          ["exactly-once"],
          "the QoS 2 message was delivered once before the restart and re-sent once as unacknowledged",
        );
        await broker.close();
      } finally {
        backend.cleanup();
      }
    });

    it("drops sessions and messages that expired while the broker was down", async () => {
      const backend = make();
      try {
        const clock = new FakeClock();
        let broker = await start(await backend.open(), clock);
        const c = RawClient.memory(broker, 5);
        await c.connect({ clientId: "short", clean: true, properties: { sessionExpiryInterval: 10 } });
        c.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "x", qos: 1 }] });
        await c.expect("suback");
        c.disconnect();
        await c.waitClosed();
        const p = RawClient.memory(broker, 5);
        await p.connect({ clientId: "p" });
        p.publish("gone/soon", "x", {
          qos: 1,
          messageId: 1,
          retain: true,
          properties: { messageExpiryInterval: 5 },
        });
        // The write-behind batches on the broker's (fake) clock: move it until the durable PUBACK comes.
        const ack = p.expect("puback");
        const ticking = setInterval(() => clock.advance(5), 5);
        await ack.finally(() => clearInterval(ticking));
        await broker.close();

        clock.advance(11_000);
        broker = await start(await backend.open(), clock);
        assert.equal(broker.getSession("short"), undefined);
        assert.equal(broker.getRetained("gone/soon"), undefined);
        await broker.close();
      } finally {
        backend.cleanup();
      }
    });

    it("publishes a delayed will that came due while the broker was down", async () => {
      const backend = make();
      try {
        const clock = new FakeClock();
        let broker = await start(await backend.open(), clock);
        const c = RawClient.memory(broker, 5);
        await c.connect({
          clientId: "willer",
          properties: { sessionExpiryInterval: 3600 },
          will: {
            topic: "wills/willer",
            payload: "late",
            qos: 1,
            retain: true,
            properties: { willDelayInterval: 30 },
          },
        });
        c.destroy();
        await until(() => broker.connectedCount() === 0, 1000, "the drop");
        await broker.close();

        clock.advance(60_000);
        broker = await start(await backend.open(), clock);
        await broker.listen();
        clock.advance(100);
        await until(() => broker.getRetained("wills/willer") !== undefined, 1000, "the will after restart");
        await broker.close();
      } finally {
        backend.cleanup();
      }
    });
  });
}

describe("broker restart: ACL identity of a restored offline session", () => {
  it("checks deliveries to a restored session against the user that owned it", async () => {
    const backend = memoryBackend();
    const seen: Array<[string, string | undefined, string]> = [];
    const acl = {
      id: "acl",
      onAuthenticate: () => "allow" as const,
      onAclCheck(client: { id: string; username?: string }, topic: string, access: string) {
        if (access === "read") seen.push([client.id, client.username, topic]);
        return topic === "secret/x" ? "deny" as const : "allow" as const;
      },
    };
    let broker = new Broker({ hooks: [acl], storage: await backend.open(), sysInterval: 0 });
    await broker.restore();
    const sub = RawClient.memory(broker);
    await sub.connect({ clientId: "owner", clean: false, username: "alice" });
    await sub.subscribe("#", 1);
    sub.disconnect();
    await sub.waitClosed();
    await broker.close();

    broker = new Broker({ hooks: [acl], storage: await backend.open(), sysInterval: 0 });
    await broker.restore();
    seen.length = 0;
    await broker.publish("secret/x", "no", { qos: 1 });
    await broker.publish("open/x", "yes", { qos: 1 });
    assert.deepEqual(seen, [["owner", "alice", "secret/x"], ["owner", "alice", "open/x"]]);
    assert.equal(broker.getSession("owner")?.queued, 1, "only the allowed message was queued");
    await broker.close();
  });
});
