import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { aclFilter, covers, ruleTopicError, substitute } from "./acl_topic.ts";

// Topic names of 1..3 levels over {a, b, $s, ""}, and filters of up to 3 levels, for brute-force checks.
// On topic names covers() is plain matching (checked by the table below), so it serves as the matcher.
const LEVELS = ["a", "b", "$s", ""];
const TOPICS: string[] = LEVELS.flatMap((
  x,
) => [x, ...LEVELS.flatMap((y) => [`${x}/${y}`, ...LEVELS.map((z) => `${x}/${y}/${z}`)])]);
const FILTERS = [
  "a",
  "a/b",
  "+",
  "#",
  "a/+",
  "a/#",
  "+/b",
  "+/#",
  "+/+",
  "a/+/b",
  "$s/#",
  "$s/+",
  "b/#",
  "+/+/+",
  "+/+/#",
  "a/+/#",
  "/",
  "/#",
  "+//+",
  "$s",
  "a/b/#",
];

describe("covers(rule, requested)", () => {
  const cases: [string, string, boolean][] = [
    // topic names: plain matching
    ["a/b", "a/b", true],
    ["a/b", "a/c", false],
    ["a/+", "a/b", true],
    ["a/+", "a/b/c", false],
    ["a/#", "a", true], // "#" also matches the parent level
    ["a/#", "a/b/c", true],
    ["#", "a/b", true],
    ["+/+", "a/b", true],
    ["a/b", "a/b/c", false],
    ["a/b/c", "a/b", false],
    ["a//b", "a//b", true],
    ["a/+/b", "a//b", true], // an empty level is a level
    // subscription filters: every topic the request matches must be matched by the rule
    ["a/b", "a/#", false],
    ["a/b", "a/+", false],
    ["a/+", "a/#", false],
    ["a/+", "a/+", true],
    ["a/#", "a/+", true],
    ["a/#", "a/#", true],
    ["a/#", "a/b/#", true],
    ["a/#", "#", false],
    ["a/b/#", "a/#", false],
    ["a/b/#", "a/b", true],
    ["a/b/#", "a", false],
    ["+/b", "+/b", true],
    ["+/b", "+/+", false],
    ["+/#", "x/+/y", true],
    ["#", "#", true],
    ["#", "+/#", true],
    ["a/+/c", "a/+/c", true],
    ["a/+/c", "a/+/#", false],
    ["+/#", "#", true], // "+/#" matches every topic of one level or more, as "#" does
    ["a/+/#", "a/#", false], // "a/#" matches "a", which "a/+/#" does not
  ];
  for (const [rule, requested, want] of cases) {
    it(`${JSON.stringify(rule)} ${want ? "covers" : "does not cover"} ${JSON.stringify(requested)}`, () => {
      assert.equal(covers(rule, requested), want);
    });
  }

  it("MQTT-4.7.2-1: a first-level wildcard in a rule does not grant $ topics", () => {
    assert.equal(covers("#", "$SYS/broker/uptime"), false);
    assert.equal(covers("#", "$SYS/#"), false);
    assert.equal(covers("+/broker", "$SYS/broker"), false);
    assert.equal(covers("$SYS/#", "$SYS/broker/uptime"), true);
    assert.equal(covers("$SYS/#", "$SYS/#"), true);
    assert.equal(covers("$SYS/+", "$SYS/broker"), true);
    // a first-level wildcard in the request never matches $ topics either, so "#" covers "+/x" and "#"
    assert.equal(covers("#", "+/x"), true);
  });

  it("agrees with brute force over a small topic universe", () => {
    // rule covers request ⇔ every topic matched by request is matched by rule.
    for (const rule of FILTERS) {
      for (const request of FILTERS) {
        const truth = TOPICS.filter((t) => covers(request, t)).every((t) => covers(rule, t));
        assert.equal(covers(rule, request), truth, `${rule} vs ${request}`);
      }
    }
  });
});

describe("substitute", () => {
  it("replaces %u and %c", () => {
    assert.equal(
      substitute("users/%u/%c/#", { username: "alice", clientId: "phone" }),
      "users/alice/phone/#",
    );
    assert.equal(substitute("plain/#", { clientId: "x" }), "plain/#");
    assert.equal(substitute("x/%c-data", { clientId: "c1" }), "x/c1-data");
  });

  it("skips the rule when a value could widen it or is missing", () => {
    for (const bad of ["+", "#", "a/b", "", "$SYS", "a\u0000b", "a+b"]) {
      assert.equal(
        substitute("users/%u/#", { username: bad, clientId: "c" }),
        undefined,
        JSON.stringify(bad),
      );
      assert.equal(
        substitute("clients/%c", { username: "u", clientId: bad }),
        undefined,
        JSON.stringify(bad),
      );
    }
    assert.equal(substitute("users/%u", { clientId: "c" }), undefined);
    // a bad value not used by the rule does not matter
    assert.equal(substitute("clients/%c", { username: "#", clientId: "c" }), "clients/c");
  });

  it("substitutes in one pass (a user name containing %c is not expanded again)", () => {
    assert.equal(substitute("u/%u", { username: "x%cy", clientId: "c" }), "u/x%cy");
  });
});

describe("ruleTopicError", () => {
  it("accepts valid filters and placeholders", () => {
    for (const ok of ["a", "a/b", "#", "+", "a/+/b", "a/#", "$SYS/#", "users/%u/#", "/", "a//b"]) {
      assert.equal(ruleTopicError(ok), undefined, ok);
    }
  });
  it("names what is wrong", () => {
    assert.match(ruleTopicError("a/#/b")!, /"#" must be a whole level and the last one in "a\/#\/b"/);
    assert.match(ruleTopicError("a#")!, /"#" must be/);
    assert.match(ruleTopicError("a/b+")!, /"\+" must be a whole level/);
    assert.match(ruleTopicError("")!, /empty/);
    assert.match(ruleTopicError("a\u0000")!, /null character/);
  });
});

describe("aclFilter", () => {
  it("strips the $share group for shared subscriptions", () => {
    assert.equal(aclFilter("$share/g1/sensors/#"), "sensors/#");
    assert.equal(aclFilter("sensors/#"), "sensors/#");
    assert.equal(aclFilter("$share/g1"), undefined);
    assert.equal(aclFilter("$share/g1/"), undefined);
  });
});
