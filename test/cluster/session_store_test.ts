/**
 * The broker's side of the cluster's session store and of other nodes' confirmations, without NATS: a bus that
 * offers a store gets persistent sessions' queue changes in it (a session handed in from another node too), a
 * QoS 1 PUBACK waits for that store and for the promise `forward` returns, and a broker given both its own
 * storage and a cluster store refuses to start. In memory, on every runtime.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { ClientInfo } from "../../src/hooks/hook.ts";
import type { Message } from "../../src/message.ts";
import type { ClusterBus, ClusterNode, HandedSession } from "../../src/cluster/cluster_bus.ts";
import type { Storage, StorageOp, StoredState } from "../../src/storage/storage.ts";
import { MemoryStorage } from "../../src/storage/memory_storage.ts";
import { Broker } from "../../src/broker.ts";
import { testBroker, until } from "../_helpers/broker.ts";
import { RawClient } from "../_helpers/raw_client.ts";

/** A store that records what it is given and holds each write until `release()`. */
class HeldStore implements Storage {
  readonly name = "held";
  ops: StorageOp[] = [];
  #held: Array<() => void> = [];
  hold = false;
  apply(ops: readonly StorageOp[]): Promise<void> {
    this.ops.push(...ops);
    if (!this.hold) return Promise.resolve();
    return new Promise((resolve) => this.#held.push(resolve));
  }
  release(): void {
    for (const r of this.#held.splice(0)) r();
  }
  load(): Promise<StoredState> {
    return Promise.resolve({ sessions: [], retained: [], wills: [] });
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

class StoreBus implements ClusterBus {
  readonly node = "test";
  readonly sessionStore = new HeldStore();
  local: ClusterNode | undefined;
  handing = new Map<string, HandedSession>();
  /** When set, `forward` returns this (other nodes storing the message). */
  confirmation: Promise<void> | undefined;
  start(local: ClusterNode): Promise<void> {
    this.local = local;
    return Promise.resolve();
  }
  forward(message: Message): void | Promise<void> {
    return message.qos > 0 ? this.confirmation : undefined;
  }
  interest(): void {}
  sharedInterest(): void {}
  retain(): void {}
  acquire(clientId: string): Promise<HandedSession | undefined> {
    return Promise.resolve(this.handing.get(clientId));
  }
  sessionChanged(): void {}
  will(_info: ClientInfo, _will: Message | undefined): void {}
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const persistent = { clean: false, properties: { sessionExpiryInterval: 60 } };

describe("cluster session store: the broker's side", () => {
  it("refuses its own storage next to a cluster store, naming both", () => {
    assert.throws(
      () => new Broker({ storage: new MemoryStorage(), cluster: new StoreBus() }),
      /Cannot use memory storage in a cluster: the cluster keeps sessions.*remove the storage option/,
    );
  });

  it("keeps an offline session's queue in the cluster store before the publisher's PUBACK", async () => {
    const bus = new StoreBus();
    const broker = testBroker({ cluster: bus });
    await broker.listen();
    const sub = RawClient.memory(broker, 5);
    await sub.connect({ clientId: "away", ...persistent });
    await sub.subscribe("s/#", 1);
    sub.disconnect();
    await until(() => broker.getClient("away") === undefined, 2000, "the subscriber gone");
    bus.sessionStore.hold = true;
    const pub = RawClient.memory(broker, 5);
    await pub.connect({ clientId: "pub" });
    pub.publish("s/1", "kept", { qos: 1, messageId: 1 });
    await until(() => bus.sessionStore.ops.some((op) => op.type === "queued"), 2000, "the queued write");
    await assert.rejects(pub.expect("puback", 150), "no PUBACK while the store has not answered");
    bus.sessionStore.release();
    await pub.expect("puback");
    const queued = bus.sessionStore.ops.find((op) => op.type === "queued");
    assert.equal(queued?.type === "queued" && queued.clientId, "away");
    await broker.close();
  });

  it("waits for other nodes' confirmation of a QoS 1 message, and writes a session handed in", async () => {
    const bus = new StoreBus();
    const message: Message = {
      topic: "h/1",
      payload: new TextEncoder().encode("moved"),
      qos: 1,
      retain: false,
      receivedAt: Date.now(),
    };
    bus.handing.set("mover", {
      expiryInterval: 60,
      subscriptions: [{ filter: "h/+", qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }],
      inflight: [],
      queued: [{ message, qos: 1, retain: false }],
    });
    const broker = testBroker({ cluster: bus });
    await broker.listen();
    const mover = RawClient.memory(broker, 5);
    await mover.connect({ clientId: "mover", ...persistent });
    await mover.expect("publish");
    // Queued, then sent at once: the write-behind nets that to an inflight record in this node's store.
    await until(
      () => bus.sessionStore.ops.some((op) => op.type === "inflight" && op.clientId === "mover"),
      2000,
      "the handed message written to this node's store",
    );

    let confirm!: () => void;
    bus.confirmation = new Promise((r) => (confirm = r));
    const pub = RawClient.memory(broker, 5);
    await pub.connect({ clientId: "pub2" });
    pub.publish("elsewhere/1", "x", { qos: 1, messageId: 3 });
    await assert.rejects(pub.expect("puback", 150), "no PUBACK before other nodes confirm");
    confirm();
    await pub.expect("puback");
    await broker.close();
  });
});
