import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { matchMostSpecific, parseAccess } from "./acl_match.ts";
import type { AclRule } from "../acl_rules.ts";

const subject = { username: "alice", clientId: "dev1" };

describe("matchMostSpecific", () => {
  const rules: AclRule[] = [
    { topic: "a/#", access: "readwrite" },
    { topic: "a/+/c", access: "read" },
    { topic: "a/b/c", access: "deny" },
    { topic: "x/#", access: "deny" },
    { topic: "x/open", access: "write" },
    { topic: "u/%u/#", access: "readwrite" },
  ];

  it("the most specific covering filter decides, whatever the order or the string length", () => {
    assert.equal(matchMostSpecific(rules, subject, "a/z", "write"), "allow");
    assert.equal(matchMostSpecific(rules, subject, "a/z/c", "write"), "deny", "a/+/c is read only");
    assert.equal(matchMostSpecific(rules, subject, "a/z/c", "read"), "allow");
    assert.equal(matchMostSpecific(rules, subject, "a/b/c", "read"), "deny");
    assert.equal(
      matchMostSpecific(rules, subject, "x/open", "write"),
      "allow",
      "a narrower allow inside a deny",
    );
    assert.equal(matchMostSpecific(rules, subject, "x/other", "write"), "deny");
  });

  it("a literal level beats + which beats #, and `a/b` beats `a/b/#`", () => {
    const r: AclRule[] = [{ topic: "a/b/#", access: "deny" }, { topic: "a/b", access: "write" }];
    assert.equal(matchMostSpecific(r, subject, "a/b", "write"), "allow");
    const s: AclRule[] = [{ topic: "a/+/c", access: "deny" }, { topic: "a/b/#", access: "write" }];
    assert.equal(matchMostSpecific(s, subject, "a/b/c", "write"), "allow", "b (literal) beats + at level 2");
  });

  it("a tie goes to deny; no covering rule is no opinion; %u is substituted", () => {
    const r: AclRule[] = [{ topic: "t", access: "readwrite" }, { topic: "t", access: "deny" }];
    assert.equal(matchMostSpecific(r, subject, "t", "read"), "deny");
    assert.equal(matchMostSpecific(rules, subject, "nothing/here", "read"), undefined);
    assert.equal(matchMostSpecific(rules, subject, "u/alice/x", "write"), "allow");
    assert.equal(matchMostSpecific(rules, subject, "u/bob/x", "write"), undefined);
  });

  it("subscriptions: a wildcard filter must be covered entirely", () => {
    assert.equal(matchMostSpecific(rules, subject, "a/#", "read"), "allow");
    assert.equal(matchMostSpecific([{ topic: "a/b", access: "read" }], subject, "a/#", "read"), undefined);
  });
});

describe("parseAccess", () => {
  it("reads CoMQTT's 0-3 (numbers or strings) and our words", () => {
    assert.deepEqual([0, 1, 2, 3, "3", "read", "publish", "pubsub"].map(parseAccess), [
      "deny",
      "read",
      "write",
      "readwrite",
      "readwrite",
      "read",
      "write",
      "readwrite",
    ]);
    assert.equal(parseAccess(4), undefined);
    assert.equal(parseAccess("all of it"), undefined);
  });
});
