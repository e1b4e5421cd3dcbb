import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { checkTopicFilter, checkTopicName, parseSharedFilter, topicMatches } from "./topic_rules.ts";
import type { TopicLimits } from "./topic_rules.ts";
import { makeRandom, randomFilter, randomTopic } from "./_random_topics.ts";

const LIMITS: TopicLimits = { maxTopicLength: 65_535, maxTopicLevels: 128 };

describe("checkTopicName", () => {
  const valid: [string, string][] = [
    ["one level", "a"],
    ["several levels", "a/b/c"],
    ["empty levels between", "a//b"],
    ["leading empty level", "/x"],
    ["trailing empty level", "x/"],
    ["only a separator", "/"],
    ["$SYS topic", "$SYS/broker/uptime"],
    ["spaces", "a b/ c "],
    ["multi-byte characters", "ü/€/𝄞"],
    ["$share as a plain topic", "$share/g/a"],
  ];
  for (const [name, topic] of valid) {
    it(`accepts ${name}: ${JSON.stringify(topic)}`, () => {
      assert.equal(checkTopicName(topic, LIMITS), undefined);
    });
  }

  const invalid: [string, string, RegExp][] = [
    ["MQTT-4.7.3-1 empty topic name", "", /^Topic name must not be empty$/],
    [
      "MQTT-4.7.3-2 U+0000 in a topic name",
      "a\u0000b",
      /^Topic name "a\\u0000b" contains the null character U\+0000$/,
    ],
    [
      "MQTT-3.3.2-2 MQTT-4.7.1-1 (3.1.1) MQTT-4.7.0-1 (5.0) '+' in a topic name",
      "a/+",
      /^Topic name "a\/\+" contains the wildcard '\+'$/,
    ],
    [
      "MQTT-3.3.2-2 MQTT-4.7.1-1 (3.1.1) MQTT-4.7.0-1 (5.0) '#' in a topic name",
      "a/#",
      /^Topic name "a\/#" contains the wildcard '#'$/,
    ],
    ["MQTT-4.7.0-1 (5.0) wildcard inside a level", "a+b", /'\+'/],
    ["MQTT-4.7.0-1 (5.0) lone '#'", "#", /'#'/],
    ["MQTT-4.7.0-1 (5.0) lone '+'", "+", /'\+'/],
  ];
  for (const [name, topic, message] of invalid) {
    it(`refuses ${name}`, () => {
      const reason = checkTopicName(topic, LIMITS);
      assert.ok(reason !== undefined, `expected ${JSON.stringify(topic)} to be refused`);
      assert.match(reason, message);
    });
  }

  it("counts length in UTF-8 bytes, not UTF-16 code units", () => {
    const cases: [string, number, boolean][] = [
      ["abcde", 5, true],
      ["abcdef", 5, false],
      ["éé", 4, true], // 2 bytes each
      ["ééé", 5, false],
      ["€", 3, true], // 3 bytes
      ["€", 2, false],
      ["𝄞", 4, true], // surrogate pair, 4 bytes
      ["𝄞", 3, false],
    ];
    for (const [topic, maxTopicLength, ok] of cases) {
      const reason = checkTopicName(topic, { maxTopicLength, maxTopicLevels: 10 });
      assert.equal(
        reason === undefined,
        ok,
        `${JSON.stringify(topic)} with limit ${maxTopicLength}: ${reason}`,
      );
      if (!ok) assert.match(reason as string, new RegExp(`is longer than ${maxTopicLength} bytes$`));
    }
  });

  it("MQTT-1.5.3-1 refuses a lone surrogate, which has no UTF-8 form, and accepts a pair", () => {
    for (const topic of ["\ud800", "a\udc00b", "x/\udbff"]) {
      assert.match(
        checkTopicName(topic, { maxTopicLength: 100, maxTopicLevels: 10 }) ?? "",
        /lone UTF-16 surrogate/,
      );
      assert.match(
        checkTopicFilter(topic, { maxTopicLength: 100, maxTopicLevels: 10 }) ?? "",
        /lone UTF-16 surrogate/,
      );
    }
    assert.equal(checkTopicName("a/\ud834\udd1e", { maxTopicLength: 100, maxTopicLevels: 10 }), undefined);
  });

  it("MQTT-4.7.3-3 caps length at 65535 bytes when the limit is 0 or larger", () => {
    const atCap = "a".repeat(65_535);
    const overCap = "a".repeat(65_536);
    for (const maxTopicLength of [0, 100_000]) {
      const limits = { maxTopicLength, maxTopicLevels: 0 };
      assert.equal(checkTopicName(atCap, limits), undefined);
      assert.match(checkTopicName(overCap, limits) as string, /is longer than 65535 bytes$/);
    }
  });

  it("elides the middle of a long topic in its message", () => {
    const reason = checkTopicName(`${"x".repeat(200)}/+`, LIMITS) as string;
    assert.ok(reason.length < 120, reason);
    assert.match(reason, /^Topic name "x+…x+\/\+" contains the wildcard '\+'$/);
  });

  it("counts levels, empty ones included", () => {
    const limits = { maxTopicLength: 100, maxTopicLevels: 3 };
    assert.equal(checkTopicName("a/b/c", limits), undefined);
    assert.equal(checkTopicName("//", limits), undefined);
    assert.equal(
      checkTopicName("a/b/c/d", limits),
      'Topic name "a/b/c/d" has 4 levels, more than the limit of 3',
    );
    assert.match(checkTopicName("///", limits) as string, /has 4 levels/);
    assert.equal(checkTopicName("a/".repeat(500), { maxTopicLength: 2000, maxTopicLevels: 0 }), undefined);
  });
});

describe("checkTopicFilter", () => {
  const valid: string[] = [
    "a",
    "a/b",
    "#",
    "+",
    "a/#",
    "a/+",
    "+/+",
    "/+",
    "+/",
    "a/+/b",
    "/#",
    "+/#",
    "+/+/#",
    "a//b",
    "//",
    "$SYS/#",
    "$SYS/+/x",
    "$share/g/a/+",
    "$share/g/#",
    "$share/g/+",
    "$share/g//",
    "$share/group-1/$SYS/#",
    "$share", // no "/": an ordinary filter
    "$sharex/a",
    "a/$share/g",
  ];
  for (const filter of valid) {
    it(`accepts ${JSON.stringify(filter)}`, () => {
      assert.equal(checkTopicFilter(filter, LIMITS), undefined);
    });
  }

  const invalid: [string, string, string][] = [
    ["MQTT-4.7.3-1 empty topic filter", "", "Topic filter must not be empty"],
    [
      "MQTT-4.7.3-2 U+0000 in a filter",
      "a/\u0000",
      'Topic filter "a/\\u0000" contains the null character U+0000',
    ],
    [
      "MQTT-4.7.1-2 (3.1.1) MQTT-4.7.1-1 (5.0) '#' must be last",
      "a/#/b",
      `Topic filter "a/#/b" has '#' that is not the last level`,
    ],
    [
      "MQTT-4.7.1-2 (3.1.1) MQTT-4.7.1-1 (5.0) '#' as first of two levels",
      "#/a",
      `Topic filter "#/a" has '#' that is not the last level`,
    ],
    [
      "MQTT-4.7.1-2 (3.1.1) MQTT-4.7.1-1 (5.0) '#' after a character",
      "a#",
      `Topic filter "a#" has '#' that does not fill a whole level`,
    ],
    [
      "MQTT-4.7.1-2 (3.1.1) MQTT-4.7.1-1 (5.0) '#' after a character in a level",
      "a/b#",
      `Topic filter "a/b#" has '#' that does not fill a whole level`,
    ],
    [
      "MQTT-4.7.1-2 (3.1.1) MQTT-4.7.1-1 (5.0) '##'",
      "##",
      `Topic filter "##" has '#' that does not fill a whole level`,
    ],
    [
      "MQTT-4.7.1-2 (3.1.1) MQTT-4.7.1-1 (5.0) '#' before a character",
      "#a",
      `Topic filter "#a" has '#' that does not fill a whole level`,
    ],
    [
      "MQTT-4.7.1-3 (3.1.1) MQTT-4.7.1-2 (5.0) '+' followed by a character",
      "a/+b",
      `Topic filter "a/+b" has '+' that does not fill a whole level`,
    ],
    [
      "MQTT-4.7.1-3 (3.1.1) MQTT-4.7.1-2 (5.0) '+' after a character",
      "a+",
      `Topic filter "a+" has '+' that does not fill a whole level`,
    ],
    [
      "MQTT-4.7.1-3 (3.1.1) MQTT-4.7.1-2 (5.0) '+' inside a level",
      "a/b+c/d",
      `Topic filter "a/b+c/d" has '+' that does not fill a whole level`,
    ],
    [
      "MQTT-4.7.1-3 (3.1.1) MQTT-4.7.1-2 (5.0) '++'",
      "++",
      `Topic filter "++" has '+' that does not fill a whole level`,
    ],
    [
      "MQTT-4.7.1-3 (3.1.1) MQTT-4.7.1-2 (5.0) '+#'",
      "+#",
      `Topic filter "+#" has '+' that does not fill a whole level`,
    ],
    ["MQTT-4.8.2-1 empty share name", "$share//a", `Shared subscription "$share//a" has an empty share name`],
    [
      "MQTT-4.8.2-1 nothing after $share/",
      "$share/",
      `Shared subscription "$share/" has an empty share name`,
    ],
    [
      "MQTT-4.8.2-2 no filter after the share name",
      "$share/g",
      `Shared subscription "$share/g" has no topic filter after the share name`,
    ],
    [
      "MQTT-4.8.2-2 empty filter after the share name",
      "$share/g/",
      `Shared subscription "$share/g/" has no topic filter after the share name`,
    ],
    [
      "MQTT-4.8.2-2 '+' in the share name",
      "$share/g+/a",
      `Shared subscription "$share/g+/a" has a wildcard in its share name "g+"`,
    ],
    [
      "MQTT-4.8.2-2 '#' in the share name",
      "$share/#/a",
      `Shared subscription "$share/#/a" has a wildcard in its share name "#"`,
    ],
    [
      "MQTT-4.7.1-2 (3.1.1) MQTT-4.7.1-1 (5.0) '#' not last in a shared filter",
      "$share/g/#/a",
      `Topic filter "$share/g/#/a" has '#' that is not the last level`,
    ],
    [
      "MQTT-4.7.1-3 (3.1.1) MQTT-4.7.1-2 (5.0) bad '+' in a shared filter",
      "$share/g/a+",
      `Topic filter "$share/g/a+" has '+' that does not fill a whole level`,
    ],
  ];
  for (const [name, filter, message] of invalid) {
    it(`refuses ${name}`, () => {
      assert.equal(checkTopicFilter(filter, LIMITS), message);
    });
  }

  it("checks length over the whole filter, levels over the inner filter of a shared one", () => {
    const limits = { maxTopicLength: 12, maxTopicLevels: 2 };
    assert.equal(checkTopicFilter("$share/g/a/b", limits), undefined); // 12 bytes, 2 inner levels
    assert.match(checkTopicFilter("$share/gg/a/b", limits) as string, /is longer than 12 bytes$/);
    assert.match(
      checkTopicFilter("$share/g/a/+/", { maxTopicLength: 100, maxTopicLevels: 2 }) as string,
      /has 3 levels/,
    );
    assert.match(checkTopicFilter("a/+/#", limits) as string, /^Topic filter "a\/\+\/#" has 3 levels/);
    assert.match(checkTopicFilter("éééééé/#", limits) as string, /is longer than 12 bytes$/);
  });
});

describe("topicMatches", () => {
  // [filter, topic, expected]
  const cases: [string, string, boolean][] = [
    // Examples of section 4.7.1.2 (3.1.1) / 4.7.1.2 (5.0).
    ["sport/tennis/player1/#", "sport/tennis/player1", true],
    ["sport/tennis/player1/#", "sport/tennis/player1/ranking", true],
    ["sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true],
    ["sport/#", "sport", true],
    ["sport/tennis/#", "sport/tennis/player1", true],
    ["#", "sport", true],
    ["#", "/", true],
    ["#", "a/b/c", true],
    // Section 4.7.1.3.
    ["sport/tennis/+", "sport/tennis/player1", true],
    ["sport/tennis/+", "sport/tennis/player2", true],
    ["sport/tennis/+", "sport/tennis/player1/ranking", false],
    ["sport/+", "sport", false],
    ["sport/+", "sport/", true],
    ["+/+", "/finance", true],
    ["/+", "/finance", true],
    ["+", "/finance", false],
    ["+", "a", true],
    ["+/tennis/#", "sport/tennis/player1", true],
    ["+/tennis/#", "sport/tennis", true],
    ["+/tennis/#", "sport/golf", false],
    // Plain levels.
    ["a/b", "a/b", true],
    ["a/b", "a/b/c", false],
    ["a/b/c", "a/b", false],
    ["a/b", "a/bc", false],
    ["a/bc", "a/b", false],
    ["a/b/#", "a", false],
    ["a/#", "a/", true],
    ["a/#", "ab", false],
    ["a/+/#", "a", false],
    ["a/+/#", "a/b", true],
    ["a/+/c", "a/b/c", true],
    ["a/+/c", "a/b/d", false],
    ["a/+/c", "a//c", true],
    // Empty levels are legal.
    ["a//b", "a//b", true],
    ["a//b", "a/b", false],
    ["a/b", "a//b", false],
    ["/x", "/x", true],
    ["/x", "x", false],
    ["+/x", "/x", true],
    ["/#", "/", true],
    ["+/#", "/", true],
    ["+", "", true],
    ["x/", "x", false],
    ["x/+", "x", false],
    // MQTT-4.7.2-1: wildcards in the first level do not reach $ topics.
    ["#", "$SYS/broker/uptime", false],
    ["+/broker/uptime", "$SYS/broker/uptime", false],
    ["+", "$SYS", false],
    ["+/#", "$SYS/a", false],
    ["$SYS/#", "$SYS/broker/uptime", true],
    ["$SYS/#", "$SYS", true],
    ["$SYS/broker/+", "$SYS/broker/uptime", true],
    ["$SYS/+/uptime", "$SYS/broker/uptime", true],
    ["a/+", "a/$b", true],
    ["a/#", "a/$b/c", true],
    ["#", "a$", true],
    // MQTT-4.7.3-4: raw characters, no normalisation or case folding.
    ["ACCOUNTS", "accounts", false],
    ["Accounts payable", "Accounts payable", true],
    ["a", "a ", false],
    ["caf\u00e9", "cafe\u0301", false],
    ["caf\u00e9", "caf\u00e9", true],
    ["\ufeffa", "a", false],
    // A shared filter is matched literally (pass the inner filter to match what it receives).
    ["$share/g/a/+", "a/b", false],
    ["$share/g/a/+", "$share/g/a/b", true],
  ];
  for (const [filter, topic, expected] of cases) {
    const spec = filter.startsWith("+") || filter.startsWith("#")
      ? topic.startsWith("$") ? "MQTT-4.7.2-1 " : ""
      : "";
    it(`${spec}${JSON.stringify(filter)} ${expected ? "matches" : "does not match"} ${JSON.stringify(topic)}`, () => {
      assert.equal(topicMatches(filter, topic), expected);
    });
  }

  it("MQTT-4.7.2-1 wildcard at first level does not match $SYS, across random filters", () => {
    const random = makeRandom(7);
    for (let k = 0; k < 2_000; k++) {
      const filter = randomFilter(random);
      const topic = `$${randomTopic(random)}`;
      if (filter.startsWith("+") || filter.startsWith("#")) assert.equal(topicMatches(filter, topic), false);
    }
  });

  it("agrees with a level-by-level reference matcher on random filters and topics", () => {
    const random = makeRandom(42);
    let matches = 0;
    for (let k = 0; k < 20_000; k++) {
      const filter = randomFilter(random);
      const topic = randomTopic(random);
      assert.equal(checkTopicFilter(filter, LIMITS), undefined, filter);
      assert.equal(checkTopicName(topic, LIMITS), undefined, topic);
      const expected = referenceMatches(filter, topic);
      if (expected) matches++;
      assert.equal(
        topicMatches(filter, topic),
        expected,
        `${JSON.stringify(filter)} vs ${JSON.stringify(topic)}`,
      );
    }
    // The generator must produce both outcomes often enough for the comparison to mean something.
    assert.ok(matches > 1_000 && matches < 19_000, `matches: ${matches}`);
  });
});

describe("parseSharedFilter", () => {
  const cases: [string, { group: string; filter: string } | undefined][] = [
    ["$share/g/a/+", { group: "g", filter: "a/+" }],
    ["$share/group-1/#", { group: "group-1", filter: "#" }],
    ["$share/g/$SYS/#", { group: "g", filter: "$SYS/#" }],
    ["$share/g//", { group: "g", filter: "/" }],
    ["a/b", undefined],
    ["$share", undefined],
    ["$sharex/g/a", undefined],
    ["$SHARE/g/a", undefined],
    ["", undefined],
    // Malformed ones are split as far as they go; checkTopicFilter refuses them.
    ["$share/g", { group: "g", filter: "" }],
    ["$share/", { group: "", filter: "" }],
    ["$share//a", { group: "", filter: "a" }],
    ["$share/g/", { group: "g", filter: "" }],
  ];
  for (const [input, expected] of cases) {
    it(`${JSON.stringify(input)} gives ${JSON.stringify(expected)}`, () => {
      assert.deepEqual(parseSharedFilter(input), expected);
    });
  }
});

/** The matching rules written the obvious way, as an independent oracle. */
function referenceMatches(filter: string, topic: string): boolean {
  const f = filter.split("/");
  const t = topic.split("/");
  if (topic.startsWith("$") && (f[0] === "+" || f[0] === "#")) return false;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === "#") return true;
    if (i >= t.length) return false;
    if (f[i] !== "+" && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}
