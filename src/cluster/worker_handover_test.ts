import { afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { HandedSession } from "./cluster_bus.ts";
import type { Message } from "../message.ts";
import { gate, type KitWorker, msg, settle, setUp, tearDown } from "../../test/_helpers/worker_kit.ts";

const text = (m: Message) => new TextDecoder().decode(m.payload);
const payloads = (handed: HandedSession | undefined) => handed?.queued.map((d) => text(d.message));

/** Worker `a` owns client "dev", subscribed to `t/#` at QoS 1 with nothing queued; its broker lets go as one does. */
async function owned(a: KitWorker): Promise<void> {
  a.bus.interest("t/#", 1);
  assert.equal(await a.bus.acquire("dev", false), undefined);
  a.node.session = {
    expiryInterval: 60,
    subscriptions: [{ filter: "t/#", qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }],
    inflight: [],
    queued: [],
  };
  a.node.onHandOver = () => a.bus.interest("t/#", -1);
  await settle();
}

describe("WorkerBus: a session moving between workers", () => {
  afterEach(tearDown);

  it("gets the messages still on their way to the old worker, and those sent after, each once", async () => {
    // Worker 2's messages to worker 0 (the old owner) are held back: they are on their way during the takeover.
    const toOld = gate(2, 0);
    const { workers: [a, b, c] } = await setUp(3);
    await owned(a!);
    toOld.close();
    c!.bus.forward(msg("t/1", "on its way"));
    await settle();
    assert.equal(toOld.held, 1);
    const acquiring = b!.bus.acquire("dev", false);
    await settle();
    // Worker 2 has marked the round: what it publishes now goes to the new owner.
    c!.bus.forward(msg("t/2", "after the switch"));
    b!.bus.forward(msg("t/3", "the new owner's own client"));
    a!.bus.forward(msg("t/4", "the old owner's own client, after its switch"));
    await settle();
    toOld.open();
    const handed = await acquiring;
    const got = payloads(handed)!;
    // The old owner's part comes first; the new owner's catch follows, in the order it arrived.
    assert.equal(got[0], "on its way");
    assert.deepEqual([...got].sort(), [
      "after the switch",
      "on its way",
      "the new owner's own client",
      "the old owner's own client, after its switch",
    ]);
  });

  it("keeps catching for the session until the broker adopts it, then lets the round's interest go", async () => {
    const { workers: [a, b, c] } = await setUp(3);
    await owned(a!);
    const handed = await b!.bus.acquire("dev", false);
    assert.deepEqual(payloads(handed), []);
    c!.bus.forward(msg("t/5", "before the broker adopted it"));
    await settle();
    assert.deepEqual(payloads(handed), ["before the broker adopted it"]);
    b!.bus.adopted("dev");
    c!.bus.forward(msg("t/6", "routed by the broker"));
    await settle();
    assert.deepEqual(payloads(handed), ["before the broker adopted it"]);
    assert.deepEqual(b!.node.remote.map(text), ["before the broker adopted it", "routed by the broker"]);
    // The broker here subscribed nothing (a fake): once the round is released, nobody here wants t/#.
    c!.bus.forward(msg("t/7", "to nobody"));
    await settle();
    assert.equal(b!.node.remote.length, 2);
    assert.ok(
      !a!.node.remote.map(text).includes("to nobody"),
      "the old owner let go of the session's interest",
    );
  });

  it("does not wait for a worker that dies during the round", async () => {
    const toOld = gate(2, 0);
    const { hub, workers: [a, b, c] } = await setUp(3);
    await owned(a!);
    toOld.close();
    c!.bus.forward(msg("t/1", "lost with its worker"));
    await settle();
    const started = Date.now();
    const acquiring = b!.bus.acquire("dev", false);
    await settle();
    hub.remove(2);
    a!.bus.removePeer(2);
    b!.bus.removePeer(2);
    const handed = await acquiring;
    assert.ok(Date.now() - started < 1000, "answered at once, not after the hold's bound");
    assert.deepEqual(payloads(handed), []);
    void c;
  });

  it("a clean start takes the client over without a round", async () => {
    const { workers: [a, b, c] } = await setUp(3);
    await owned(a!);
    const handed = await b!.bus.acquire("dev", true);
    assert.deepEqual(a!.node.handOvers, ["dev"]);
    assert.equal(
      handed?.expiryInterval,
      60,
      "the state still comes (the broker discards it on a clean start)",
    );
    await settle();
    c!.bus.forward(msg("t/1", "to nobody"));
    await settle();
    assert.equal(b!.node.remote.length + a!.node.remote.length, 0, "no interest was added or kept for it");
  });
});
