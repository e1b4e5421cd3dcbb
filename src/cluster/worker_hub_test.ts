import { afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { HandedSession } from "./cluster_bus.ts";
import type { ClientInfo } from "../hooks/hook.ts";
import { FrameReader, FrameWriter, StringCache } from "./worker_frames.ts";
import { addWorker, msg, settle, setUp, tearDown } from "../../test/_helpers/worker_kit.ts";

const info: ClientInfo = { id: "c1", remoteAddress: "127.0.0.1:1", listener: "tcp", protocolVersion: 5 };

describe("WorkerHub and WorkerBus", () => {
  afterEach(tearDown);

  it("settled() resolves only after every other worker routes the new interest: no settle() wait needed", async () => {
    const { workers: [a, b, c] } = await setUp(3);
    assert.equal(a!.bus.settled(), undefined, "nothing to wait for before any interest");
    a!.bus.interest("fresh/#", 1);
    const done = a!.bus.settled();
    assert.ok(done instanceof Promise);
    let resolved = false;
    void done.then(() => (resolved = true));
    await Promise.resolve();
    assert.equal(resolved, false, "not before the other workers answered");
    await done;
    // Published on b and c the moment the SUBACK would go out: both reach a.
    b!.bus.forward(msg("fresh/1", "from b"));
    c!.bus.forward(msg("fresh/2", "from c"));
    await settle();
    assert.deepEqual(a!.node.remote.map((m) => m.topic).sort(), ["fresh/1", "fresh/2"]);
    assert.equal(a!.bus.settled(), undefined, "settled until interest is added again");
  });

  it("settled() resolves when a worker it waits for dies before answering", async () => {
    const { hub, workers: [a] } = await setUp(1);
    // Worker 1 takes what the hub sends and never answers.
    const toSilent: unknown[] = [];
    hub.add(1, (data) => toSilent.push(data));
    hub.receive(1, { t: "start" });
    a!.bus.interest("x", 1);
    const done = a!.bus.settled()!;
    let resolved = false;
    void done.then(() => (resolved = true));
    const asked = () => JSON.stringify(toSilent).includes('["sync"');
    for (let i = 0; i < 50 && !asked(); i++) await new Promise((r) => setTimeout(r, 5));
    assert.ok(asked(), "the hub passed the sync on to worker 1");
    await settle();
    assert.equal(resolved, false, "waits for worker 1");
    hub.remove(1);
    await done;
  });

  it("routes a message once to each other worker with matching interest, never back", async () => {
    const { workers: [a, b, c] } = await setUp(3);
    b!.bus.interest("s/+", 1);
    b!.bus.interest("s/#", 1);
    a!.bus.interest("s/1", 1);
    await settle();
    a!.bus.forward(msg("s/1", "one"));
    a!.bus.forward(msg("t/1", "nobody"));
    a!.bus.forward(msg("$SYS/x", "never"));
    await settle();
    assert.deepEqual(b!.node.remote.map((m) => new TextDecoder().decode(m.payload)), ["one"]);
    assert.equal(a!.node.remote.length, 0);
    assert.equal(c!.node.remote.length, 0);
    b!.bus.interest("s/+", -1);
    b!.bus.interest("s/#", -1);
    await settle();
    a!.bus.forward(msg("s/1", "two"));
    await settle();
    assert.equal(b!.node.remote.length, 1);
  });

  it("gives each shared-group message to exactly one member worker, in turn, the sender included", async () => {
    const { workers: [a, b] } = await setUp(2);
    a!.bus.sharedInterest("g", "job/+", 1);
    b!.bus.sharedInterest("g", "job/+", 1);
    await settle();
    for (let i = 0; i < 10; i++) a!.bus.forward(msg(`job/${i}`));
    await settle();
    assert.equal(a!.node.shared.length + b!.node.shared.length, 10);
    assert.equal(a!.node.shared.length, 5);
    assert.deepEqual(a!.node.shared[0]!.slice(0, 2), ["g", "job/+"]);
    b!.bus.sharedInterest("g", "job/+", -1);
    await settle();
    for (let i = 0; i < 4; i++) b!.bus.forward(msg(`job/${i}`));
    await settle();
    assert.equal(a!.node.shared.length, 9);
    assert.equal(b!.node.shared.length, 5);
  });

  it("passes retained messages on and replays them to a worker that starts later", async () => {
    const { hub, workers: [a, b] } = await setUp(2);
    a!.bus.retain(msg("r/1", "kept", { retain: true }));
    a!.bus.retain(msg("r/2", "gone", { retain: true }));
    a!.bus.retain(msg("r/2", "", { retain: true }));
    await settle();
    assert.deepEqual(b!.node.retained.map((m) => m.topic), ["r/1", "r/2", "r/2"]);
    const late = await addWorker(hub, 2);
    assert.deepEqual(late.node.retained.map((m) => [m.topic, new TextDecoder().decode(m.payload)]), [
      ["r/1", "kept"],
    ]);
  });

  it("takes a session over from the worker that owns the client id", async () => {
    const { workers: [a, b] } = await setUp(2);
    assert.equal(await a!.bus.acquire("c1", false), undefined);
    const session: HandedSession = {
      expiryInterval: 60,
      subscriptions: [{ filter: "x/#", qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }],
      inflight: [],
      queued: [{ message: msg("x/1", "queued"), qos: 1, retain: false }],
    };
    a!.node.session = session;
    const handed = await b!.bus.acquire("c1", false);
    assert.deepEqual(a!.node.handOvers, ["c1"]);
    assert.equal(handed?.expiryInterval, 60);
    assert.equal(new TextDecoder().decode(handed?.queued[0]?.message.payload), "queued");
    // The same worker again: nothing to take over.
    assert.equal(await b!.bus.acquire("c1", false), undefined);
    assert.equal(a!.node.handOvers.length, 1);
  });

  it("keeps the owner when a connection taken over on its own worker ends after the new one acquired", async () => {
    const { workers: [a, b] } = await setUp(2);
    await a!.bus.acquire("c1", true);
    await a!.bus.acquire("c1", true); // a second connection on the same worker
    a!.bus.sessionChanged("c1", undefined); // the first one's session ends after that
    await settle();
    await b!.bus.acquire("c1", true);
    assert.deepEqual(a!.node.handOvers, ["c1"]);
    // Once the owner's last session ended, nobody is asked.
    b!.bus.sessionChanged("c1", undefined);
    await settle();
    await a!.bus.acquire("c1", true);
    assert.deepEqual(b!.node.handOvers, []);
  });

  it("publishes a dead worker's wills once, through a surviving worker", async () => {
    const { hub, workers: [a, b] } = await setUp(2);
    a!.bus.will(info, msg("will/c1", "bye"));
    a!.bus.will({ ...info, id: "c2" }, msg("will/c2", "bye"));
    a!.bus.will({ ...info, id: "c2" }, undefined);
    a!.bus.interest("x", 1);
    await settle();
    hub.remove(0);
    await settle();
    assert.deepEqual(b!.node.wills.map(([i, m]) => [i.id, m.topic]), [["c1", "will/c1"]]);
    b!.bus.forward(msg("x"));
    await settle();
    assert.equal(a!.node.remote.length, 0);
    assert.deepEqual(hub.members().map(([name]) => name), ["worker-1"]);
  });
});

describe("worker frames", () => {
  it("round-trips messages with and without properties and origin", () => {
    const w = new FrameWriter();
    const plain = msg("a/ü", "payload", { qos: 2, retain: true, origin: "pub-1" });
    const withProps = msg("b", "p", {
      properties: { contentType: "text/plain", correlationData: new Uint8Array([1]) },
    });
    w.write(plain);
    w.write(withProps);
    const r = new FrameReader(w.take());
    assert.deepEqual(r.next(), plain);
    assert.deepEqual(r.next(), withProps);
    assert.equal(r.more, false);
  });

  it("reads the same topics and client ids from a string cache across batches", () => {
    const strings = new StringCache();
    const topics = ["a/b", "a/c", "a/ü", "a/b", "b/a", "a/c", ""];
    for (let round = 0; round < 3; round++) {
      const w = new FrameWriter();
      for (const t of topics) w.write(msg(t, "p", { origin: `${t}-origin` }));
      const r = new FrameReader(w.take(), strings);
      for (const t of topics) {
        const m = r.next();
        assert.equal(m.topic, t);
        assert.equal(m.origin, `${t}-origin`);
      }
    }
  });

  it("refuses a truncated buffer", () => {
    const w = new FrameWriter();
    w.write(msg("a"));
    const bytes = w.take();
    assert.throws(() => new FrameReader(bytes.subarray(0, bytes.length - 1)).next(), /fewer left/);
  });
});
