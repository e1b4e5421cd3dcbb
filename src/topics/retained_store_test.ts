import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { RetainedStore } from "./retained_store.ts";
import { topicMatches } from "./topic_rules.ts";
import { makeRandom, randomFilter, randomTopic } from "./_random_topics.ts";

function matched<M>(store: RetainedStore<M>, filter: string): string[] {
  const out: string[] = [];
  store.match(filter, (topic, message) => out.push(`${topic}=${String(message)}`));
  return out.sort();
}

describe("RetainedStore set, get, delete, size, entries", () => {
  it("set replaces, get reads, delete forgets", () => {
    const store = new RetainedStore<string>();
    assert.equal(store.get("a/b"), undefined);
    store.set("a/b", "1");
    store.set("a/b", "2");
    store.set("a", "3");
    assert.equal(store.size, 2);
    assert.equal(store.get("a/b"), "2");
    assert.equal(store.get("a"), "3");
    assert.equal(store.get("a/b/c"), undefined);
    assert.equal(store.get("a/c"), undefined);
    assert.equal(store.delete("a/c"), false);
    assert.equal(store.delete("a/b/c"), false);
    assert.equal(store.delete("a/b"), true);
    assert.equal(store.delete("a/b"), false);
    assert.equal(store.get("a/b"), undefined);
    assert.equal(store.get("a"), "3");
    assert.equal(store.size, 1);
    assert.deepEqual([...store.entries()], [["a", "3"]]);
  });

  it("a topic with no message of its own is not retained even when topics sit below it", () => {
    const store = new RetainedStore<number>();
    store.set("a/b/c", 1);
    assert.equal(store.get("a/b"), undefined);
    assert.equal(store.delete("a/b"), false);
    assert.deepEqual(matched(store, "a/+"), []);
    assert.deepEqual(matched(store, "a/#"), ["a/b/c=1"]);
  });

  it("deleting keeps siblings and parents, and the emptied store takes new topics", () => {
    const store = new RetainedStore<number>();
    const topics = ["a", "a/b", "a/c", "a/d", "a/b/c", "/", "", "x//y"];
    topics.forEach((t, i) => store.set(t, i));
    assert.equal(store.size, topics.length);
    assert.equal(store.delete("a/b/c"), true);
    assert.deepEqual(matched(store, "a/+"), ["a/b=1", "a/c=2", "a/d=3"]);
    assert.equal(store.delete("a/b"), true);
    assert.equal(store.delete("a/c"), true);
    assert.deepEqual(matched(store, "a/+"), ["a/d=3"]);
    assert.deepEqual(matched(store, "#"), ["=6", "/=5", "a/d=3", "a=0", "x//y=7"].sort());
    for (const t of ["a", "a/d", "/", "", "x//y"]) assert.equal(store.delete(t), true, t);
    assert.equal(store.size, 0);
    assert.deepEqual([...store.entries()], []);
    topics.forEach((t, i) => store.set(t, i * 10));
    assert.equal(store.size, topics.length);
    assert.deepEqual(matched(store, "a/+/c"), ["a/b/c=40"]);
  });

  it("keeps a retained message that is itself undefined", () => {
    const store = new RetainedStore<string | undefined>();
    store.set("a", undefined);
    assert.equal(store.size, 1);
    assert.deepEqual([...store.entries()], [["a", undefined]]);
    assert.equal(store.delete("a"), true);
  });
});

describe("RetainedStore match", () => {
  const topics = [
    "sport",
    "sport/",
    "sport/tennis",
    "sport/tennis/player1",
    "sport/tennis/player1/ranking",
    "sport/tennis/player2",
    "/finance",
    "a//b",
    "a/x/b",
    "$SYS",
    "$SYS/broker/uptime",
    "$SYS/broker/load",
    "x/$SYS",
    "ACCOUNTS",
    "caf\u00e9",
  ];
  const store = new RetainedStore<number>();
  topics.forEach((t, i) => store.set(t, i));

  const cases: [string, string, string[]][] = [
    ["'#' walks the subtree including its parent level", "sport/tennis/player1/#", [
      "sport/tennis/player1",
      "sport/tennis/player1/ranking",
    ]],
    ["'+' one level", "sport/tennis/+", ["sport/tennis/player1", "sport/tennis/player2"]],
    ["'+' matches an empty level", "sport/+", ["sport/", "sport/tennis"]],
    ["'+' at the end does not match the parent", "sport/tennis/player1/+", ["sport/tennis/player1/ranking"]],
    ["leading empty level", "/+", ["/finance"]],
    ["'+/+'", "+/+", ["sport/", "sport/tennis", "/finance", "x/$SYS"]],
    ["empty levels in the middle", "a/+/b", ["a//b", "a/x/b"]],
    ["exact topic", "sport/tennis", ["sport/tennis"]],
    ["absent topic", "sport/golf", []],
    ["MQTT-4.7.2-1 '#' alone does not match $SYS topics", "#", topics.filter((t) => !t.startsWith("$"))],
    ["MQTT-4.7.2-1 '+' alone does not match $SYS", "+", ["sport", "ACCOUNTS", "caf\u00e9"]],
    ["MQTT-4.7.2-1 wildcard at first level does not match $SYS", "+/broker/+", []],
    ["MQTT-4.7.2-1 $SYS/# reaches $SYS topics", "$SYS/#", ["$SYS", "$SYS/broker/uptime", "$SYS/broker/load"]],
    ["MQTT-4.7.2-1 $SYS/+/+", "$SYS/+/+", ["$SYS/broker/uptime", "$SYS/broker/load"]],
    ["a $ below the first level is ordinary", "+/+", ["sport/", "sport/tennis", "/finance", "x/$SYS"]],
    ["MQTT-4.7.3-4 no case folding", "accounts", []],
    ["MQTT-4.7.3-4 no normalisation", "cafe\u0301", []],
  ];
  for (const [name, filter, expected] of cases) {
    it(`${name}: ${JSON.stringify(filter)}`, () => {
      assert.deepEqual(matched(store, filter), expected.map((t) => `${t}=${topics.indexOf(t)}`).sort());
    });
  }

  it("handles deep topics and '#' over them without recursion limits", () => {
    const deepStore = new RetainedStore<number>();
    const deep = Array.from({ length: 20_000 }, (_, i) => `l${i % 5}`).join("/");
    deepStore.set(deep, 1);
    deepStore.set(`${deep}/x`, 2);
    assert.equal(matched(deepStore, "#").length, 2);
    assert.equal(matched(deepStore, `${deep}/+`).length, 1);
    assert.equal(deepStore.delete(deep), true);
    assert.equal(deepStore.delete(`${deep}/x`), true);
    assert.equal(deepStore.size, 0);
  });
});

describe("RetainedStore randomized cross-check with topicMatches", () => {
  for (const seed of [11, 12, 13]) {
    it(`seed ${seed}: match agrees with topicMatches over every retained topic, across sets and deletes`, () => {
      const random = makeRandom(seed);
      const store = new RetainedStore<number>();
      const model = new Map<string, number>();
      let visits = 0;
      for (let round = 0; round < 300; round++) {
        for (let k = 0; k < 5; k++) {
          const topic = randomTopic(random);
          if (random() < 0.7) {
            store.set(topic, round);
            model.set(topic, round);
          } else {
            assert.equal(store.delete(topic), model.delete(topic));
          }
          assert.equal(store.get(topic), model.get(topic));
        }
        assert.equal(store.size, model.size);
        for (let k = 0; k < 10; k++) {
          const filter = randomFilter(random);
          const want: string[] = [];
          for (const [topic, value] of model) if (topicMatches(filter, topic)) want.push(`${topic}=${value}`);
          const got = matched(store, filter);
          visits += got.length;
          assert.deepEqual(got, want.sort(), `filter ${JSON.stringify(filter)}`);
        }
      }
      assert.deepEqual(
        [...store.entries()].map(([t, v]) => `${t}=${v}`).sort(),
        [...model].map(([t, v]) => `${t}=${v}`).sort(),
      );
      assert.ok(visits > 1_000, `visits: ${visits}`);
    });
  }
});
