import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { escapeLevel, filterSubjects, fromKvKey, kvKey, topicSubject } from "./subjects.ts";
import { bootBytes, decodeWire, encodeWire } from "./wire_codec.ts";
import { decodeHanded, encodeHanded } from "./handed_codec.ts";
import type { Message } from "../message.ts";

describe("cluster subjects", () => {
  it("maps plain topics level by level", () => {
    assert.equal(topicSubject("m", "a/b/c"), "m.a.b.c");
    assert.equal(topicSubject("m", "sensor-1/temp_c"), "m.sensor-1.temp_c");
  });

  it("escapes what NATS reserves and empty levels, one-to-one", () => {
    assert.equal(topicSubject("m", "a.b/*/>/ x"), "m.a~2eb.~2a.~3e.~20x");
    assert.equal(topicSubject("m", "/a//"), "m.~.a.~.~");
    assert.equal(topicSubject("m", "$SYS/x"), "m.~24SYS.x");
    assert.equal(escapeLevel("~"), "~7e");
    assert.equal(escapeLevel("é"), "~c3~a9");
    // "~" is escaped too, so an escaped level never collides with a literal one.
    assert.notEqual(topicSubject("m", "~2e"), topicSubject("m", "."));
  });

  it("maps + to * and # to >, with a/# also matching a", () => {
    assert.deepEqual(filterSubjects("m", "a/+/c"), ["m.a.*.c"]);
    assert.deepEqual(filterSubjects("m", "a/#"), ["m.a", "m.a.>"]);
    assert.deepEqual(filterSubjects("m", "#"), ["m.>"]);
    assert.deepEqual(filterSubjects("m", "+/x.y"), ["m.*.x~2ey"]);
  });

  it("turns any string into a KV key and back", () => {
    for (const s of ["", "a/b", "client id with spaces", "ünïcode/…", "x".repeat(300)]) {
      const key = kvKey(s);
      assert.match(key, /^[-_A-Za-z0-9]+$/);
      assert.equal(fromKvKey(key), s);
    }
  });
});

describe("cluster wire codec", () => {
  it("round-trips a message with properties, its sender and its age", () => {
    const message: Message = {
      topic: "a/b",
      payload: new Uint8Array([1, 2, 3]),
      qos: 2,
      retain: true,
      origin: "c1",
      properties: { contentType: "x", correlationData: new Uint8Array([9]), userProperties: [["k", "v"]] },
      receivedAt: 1000,
    };
    const bytes = encodeWire(bootBytes("n1-abc"), 7, message, 1250);
    const wire = decodeWire(bytes, 5000);
    assert.equal(wire.boot, "n1-abc");
    assert.equal(wire.seq, 7);
    assert.equal(wire.message.receivedAt, 4750);
    assert.deepEqual({ ...wire.message, receivedAt: 0 }, { ...message, receivedAt: 0 });
    assert.throws(() => decodeWire(new Uint8Array([9, 0]), 0), /Cannot decode a cluster message/);
  });

  it("round-trips a handed session", () => {
    const m = (topic: string): Message => ({
      topic,
      payload: new Uint8Array([1]),
      qos: 1,
      retain: false,
      receivedAt: 5,
    });
    const inflightMessage = m("i");
    const bytes = encodeHanded({
      expiryInterval: 60,
      subscriptions: [{ filter: "a/#", qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }],
      inflight: [{ message: inflightMessage, qos: 1, retain: false, packetId: 4, state: "publish" }],
      queued: [{ message: m("q1"), qos: 1, retain: false }, { message: m("q2"), qos: 0, retain: true }],
    }, (x) => (x === inflightMessage ? "b:1" : undefined));
    const { handed, ids } = decodeHanded(bytes);
    assert.equal(handed.expiryInterval, 60);
    assert.equal(handed.subscriptions[0]!.filter, "a/#");
    assert.deepEqual(handed.inflight.map((e) => [e.message.topic, e.packetId, e.state]), [[
      "i",
      4,
      "publish",
    ]]);
    assert.deepEqual(handed.queued.map((e) => [e.message.topic, e.qos, e.retain]), [["q1", 1, false], [
      "q2",
      0,
      true,
    ]]);
    assert.deepEqual([...ids], ["b:1"]);
  });
});
