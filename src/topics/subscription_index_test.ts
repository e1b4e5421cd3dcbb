import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { SubscriptionIndex } from "./subscription_index.ts";
import { topicMatches } from "./topic_rules.ts";
import { makeRandom, randomFilter, randomTopic } from "./_random_topics.ts";

/** The (clientId, filter, value) triples `match` visits, sorted, as strings for easy comparison. */
function matched<T>(index: SubscriptionIndex<T>, topic: string): string[] {
  const out: string[] = [];
  index.match(topic, (clientId, value, filter) => out.push(`${clientId} ${filter} ${String(value)}`));
  return out.sort();
}

function sortedEntries<T>(index: SubscriptionIndex<T>): string[] {
  return [...index.entries()].map((e) => `${e.clientId} ${e.filter} ${String(e.value)}`).sort();
}

describe("SubscriptionIndex add, remove, size, entries", () => {
  it("add returns true for a new subscription and false for a replacement", () => {
    const index = new SubscriptionIndex<number>();
    assert.equal(index.add("a/b", "c1", 0), true);
    assert.equal(index.add("a/b", "c2", 1), true);
    assert.equal(index.add("a/b", "c1", 2), false);
    assert.equal(index.add("a/+", "c1", 1), true);
    assert.equal(index.add("a/+", "c1", 1), false);
    assert.equal(index.size, 3);
    assert.deepEqual(sortedEntries(index), ["c1 a/+ 1", "c1 a/b 2", "c2 a/b 1"]);
  });

  it("a replacement changes the value that match reports", () => {
    const index = new SubscriptionIndex<string>();
    index.add("a", "c1", "old");
    index.add("a", "c1", "new");
    assert.deepEqual(matched(index, "a"), ["c1 a new"]);
    // Same with several subscribers on the filter (the Map form of a node).
    index.add("a", "c2", "x");
    index.add("a", "c2", "y");
    assert.deepEqual(matched(index, "a"), ["c1 a new", "c2 a y"]);
  });

  it("remove returns true only when the subscription existed", () => {
    const index = new SubscriptionIndex<number>();
    index.add("a/b", "c1", 0);
    index.add("a/b", "c2", 0);
    assert.equal(index.remove("a/b", "c3"), false);
    assert.equal(index.remove("a/c", "c1"), false);
    assert.equal(index.remove("a", "c1"), false);
    assert.equal(index.remove("a/b/c", "c1"), false);
    assert.equal(index.remove("a/+", "c1"), false);
    assert.equal(index.remove("a/#", "c1"), false);
    assert.equal(index.remove("a/b", "c1"), true);
    assert.equal(index.remove("a/b", "c1"), false);
    assert.equal(index.size, 1);
    assert.deepEqual(matched(index, "a/b"), ["c2 a/b 0"]);
    assert.equal(index.remove("a/b", "c2"), true);
    assert.equal(index.size, 0);
    assert.deepEqual(matched(index, "a/b"), []);
    assert.deepEqual([...index.entries()], []);
  });

  it("removing a leaf keeps its siblings, parents and wildcard children matching", () => {
    const index = new SubscriptionIndex<number>();
    const filters = ["a", "a/b", "a/c", "a/d", "a/+", "a/#", "a/b/c", "a/+/c", "+/b"];
    for (const f of filters) index.add(f, "c", 0);
    assert.equal(index.remove("a/b/c", "c"), true);
    assert.deepEqual(matched(index, "a/b").map((s) => s.split(" ")[1]), ["+/b", "a/#", "a/+", "a/b"]);
    assert.equal(index.remove("a/b", "c"), true);
    assert.equal(index.remove("a/c", "c"), true);
    assert.deepEqual(matched(index, "a/d").map((s) => s.split(" ")[1]), ["a/#", "a/+", "a/d"]);
    assert.deepEqual(matched(index, "a/x/c").map((s) => s.split(" ")[1]), ["a/#", "a/+/c"]);
    for (const f of ["a", "a/d", "a/+", "a/#", "a/+/c", "+/b"]) assert.equal(index.remove(f, "c"), true, f);
    assert.equal(index.size, 0);
    // The emptied trie takes new subscriptions as before.
    for (const f of filters) assert.equal(index.add(f, "c", 1), true);
    assert.equal(index.size, filters.length);
    assert.deepEqual(
      matched(index, "a/b").map((s) => s.split(" ")[1]),
      ["+/b", "a/#", "a/+", "a/b"],
    );
  });

  it("keeps the empty-string level and client id apart from 'absent'", () => {
    const index = new SubscriptionIndex<number>();
    assert.equal(index.add("/a", "", 1), true);
    assert.equal(index.add("/a", "", 2), false);
    assert.equal(index.add("a//", "c", 3), true);
    assert.deepEqual(matched(index, "/a"), [" /a 2"]);
    assert.deepEqual(matched(index, "a//"), ["c a// 3"]);
    assert.deepEqual(matched(index, "a/"), []);
    assert.equal(index.remove("/a", ""), true);
    assert.equal(index.remove("/a", ""), false);
  });
});

describe("SubscriptionIndex match", () => {
  const filters = [
    "sport/tennis/player1/#",
    "sport/tennis/+",
    "sport/#",
    "sport/+",
    "#",
    "+",
    "+/+",
    "/+",
    "+/tennis/#",
    "a//b",
    "a/+/b",
    "$SYS/#",
    "$SYS/broker/+",
    "+/broker/uptime",
    "$share/g/sport/+",
    "ACCOUNTS",
  ];
  const index = new SubscriptionIndex<number>();
  filters.forEach((f, i) => index.add(f, `c${i % 3}`, i));

  const cases: [string, string, string[]][] = [
    ["filters of section 4.7.1", "sport/tennis/player1", [
      "sport/tennis/player1/#",
      "sport/tennis/+",
      "sport/#",
      "#",
      "+/tennis/#",
    ]],
    ["'#' matching the parent level", "sport", ["sport/#", "#", "+"]],
    ["'+' matching an empty level", "sport/", ["sport/#", "sport/+", "#", "+/+"]],
    ["a leading empty level", "/finance", ["#", "+/+", "/+"]],
    ["empty levels in the middle", "a//b", ["#", "a//b", "a/+/b"]],
    ["MQTT-4.7.2-1 wildcard at first level does not match $SYS", "$SYS/broker/uptime", [
      "$SYS/#",
      "$SYS/broker/+",
    ]],
    ["MQTT-4.7.2-1 '#' and '+' do not match a one-level $ topic", "$SYS", ["$SYS/#"]],
    ["MQTT-4.7.2-1 a $ topic with no subscriber", "$other/x", []],
    ["a $ below the first level is ordinary", "x/$SYS", ["#", "+/+"]],
    ["MQTT-4.7.3-4 no case folding", "accounts", ["#", "+"]],
    ["MQTT-4.7.3-4 exact case", "ACCOUNTS", ["#", "+", "ACCOUNTS"]],
    ["a shared filter does not match its inner topic", "sport/x", ["sport/#", "sport/+", "#", "+/+"]],
    ["a shared filter is matched as a $share topic (documented)", "$share/g/sport/x", ["$share/g/sport/+"]],
  ];
  for (const [name, topic, expected] of cases) {
    it(`${name}: ${JSON.stringify(topic)}`, () => {
      const want = expected.map((f) => {
        const i = filters.indexOf(f);
        return `c${i % 3} ${f} ${i}`;
      }).sort();
      assert.deepEqual(matched(index, topic), want);
    });
  }

  it("visits a client once per matching filter, and each client of a filter", () => {
    const idx = new SubscriptionIndex<string>();
    idx.add("a/b", "x", "1");
    idx.add("a/+", "x", "2");
    idx.add("a/#", "x", "3");
    idx.add("a/+", "y", "4");
    idx.add("a/+", "z", "5");
    assert.deepEqual(matched(idx, "a/b"), ["x a/# 3", "x a/+ 2", "x a/b 1", "y a/+ 4", "z a/+ 5"]);
  });

  it("passes the filter string as given to add", () => {
    const idx = new SubscriptionIndex<null>();
    idx.add("$share/g/a/+", "x", null);
    idx.add("a/+", "x", null);
    const seen: string[] = [];
    idx.match("a/b", (_c, _v, filter) => seen.push(filter));
    assert.deepEqual(seen, ["a/+"]);
    assert.deepEqual([...idx.entries()].map((e) => e.filter).sort(), ["$share/g/a/+", "a/+"]);
  });

  it("lets visit add and remove subscriptions during a match without breaking the walk", () => {
    const idx = new SubscriptionIndex<number>();
    idx.add("a/+", "x", 1);
    idx.add("a/b", "y", 2);
    const seen: string[] = [];
    idx.match("a/b", (clientId, _value, filter) => {
      seen.push(clientId);
      idx.match("a/b", () => {}); // re-entrant match
      idx.remove(filter, clientId);
    });
    assert.deepEqual(seen.sort(), ["x", "y"]);
    assert.equal(idx.size, 0);
  });

  it("handles deep topics without recursion limits", () => {
    const idx = new SubscriptionIndex<number>();
    const deep = Array.from({ length: 20_000 }, (_, i) => `l${i % 7}`).join("/");
    idx.add(deep, "c", 1);
    idx.add(`${deep}/#`, "c", 2);
    idx.add("+/#", "c", 3);
    assert.deepEqual(matched(idx, deep), [`c ${deep} 1`, `c ${deep}/# 2`, `c +/# 3`].sort());
    assert.equal(idx.remove(deep, "c"), true);
  });
});

describe("SubscriptionIndex randomized cross-check with topicMatches", () => {
  for (const seed of [1, 2, 3]) {
    it(`seed ${seed}: match agrees with topicMatches over every subscription, across adds and removes`, () => {
      const random = makeRandom(seed);
      const index = new SubscriptionIndex<number>();
      const model = new Map<string, number>(); // `${clientId}\u0001${filter}` -> value
      const clients = ["c0", "c1", "c2", "c3"];
      let visits = 0;
      for (let round = 0; round < 300; round++) {
        // Mutate: mostly adds, some removes (of present and absent subscriptions).
        for (let k = 0; k < 5; k++) {
          const filter = randomFilter(random);
          const clientId = clients[Math.floor(random() * clients.length)];
          const key = `${clientId}\u0001${filter}`;
          if (random() < 0.7) {
            assert.equal(index.add(filter, clientId, round), !model.has(key));
            model.set(key, round);
          } else {
            assert.equal(index.remove(filter, clientId), model.delete(key));
          }
        }
        assert.equal(index.size, model.size);
        for (let k = 0; k < 10; k++) {
          const topic = randomTopic(random);
          const want: string[] = [];
          for (const [key, value] of model) {
            const [clientId, filter] = key.split("\u0001");
            if (topicMatches(filter, topic)) want.push(`${clientId} ${filter} ${value}`);
          }
          const got = matched(index, topic);
          visits += got.length;
          assert.deepEqual(got, want.sort(), `topic ${JSON.stringify(topic)}`);
        }
      }
      const entries = sortedEntries(index);
      const want = [...model].map(([key, value]) => `${key.replace("\u0001", " ")} ${value}`).sort();
      assert.deepEqual(entries, want);
      assert.ok(visits > 1_000, `visits: ${visits}`);
    });
  }
});
