import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { EchoFilter, hasVisited, MAX_HOPS, PATH_PROPERTY, withVisit } from "./loop_guard.ts";

const enc = new TextEncoder();

describe("loop guard: the v5 path property", () => {
  it("appends this broker to the path without touching the original properties", () => {
    const original = { contentType: "text/plain", userProperties: [["k", "v"]] as Array<[string, string]> };
    const once = withVisit(original, "a");
    assert.deepEqual(once, { contentType: "text/plain", userProperties: [["k", "v"], [PATH_PROPERTY, "a"]] });
    assert.deepEqual(original.userProperties, [["k", "v"]]);
    const twice = withVisit(once, "b");
    assert.deepEqual(twice.userProperties, [["k", "v"], [PATH_PROPERTY, "a,b"]]);
    assert.equal(hasVisited({ properties: twice }, "a"), true);
    assert.equal(hasVisited({ properties: twice }, "c"), false);
    assert.equal(hasVisited({}, "a"), false);
  });

  it("a path of MAX_HOPS brokers counts as a loop whatever it holds", () => {
    let p = withVisit(undefined, "n0");
    for (let i = 1; i < MAX_HOPS; i++) p = withVisit(p, `n${i}`);
    assert.equal(hasVisited({ properties: p }, "elsewhere"), true);
  });
});

describe("loop guard: EchoFilter (3.1.1 remotes)", () => {
  it("recognises each sent message once, by topic and payload", () => {
    const now = 0;
    const f = new EchoFilter(100, 1000, () => now);
    f.sent("a/b", enc.encode("1"));
    f.sent("a/b", enc.encode("1"));
    assert.equal(f.isEcho("a/b", enc.encode("2")), false);
    assert.equal(f.isEcho("a/c", enc.encode("1")), false);
    assert.equal(f.isEcho("a/b", enc.encode("1")), true);
    assert.equal(f.isEcho("a/b", enc.encode("1")), true);
    assert.equal(f.isEcho("a/b", enc.encode("1")), false);
  });

  it("forgets after its time limit and beyond its capacity, so later identical messages get through", () => {
    let now = 0;
    const f = new EchoFilter(2, 1000, () => now);
    f.sent("t", enc.encode("x"));
    now = 1500;
    assert.equal(f.isEcho("t", enc.encode("x")), false, "expired");
    f.sent("t", enc.encode("1"));
    f.sent("t", enc.encode("2"));
    f.sent("t", enc.encode("3"));
    assert.equal(f.isEcho("t", enc.encode("1")), false, "evicted by capacity");
    assert.equal(f.isEcho("t", enc.encode("3")), true);
  });

  it("an echo consumed early does not make a later send of the same message expire too soon", () => {
    let now = 0;
    const f = new EchoFilter(100, 1000, () => now);
    f.sent("t", enc.encode("x"));
    assert.equal(f.isEcho("t", enc.encode("x")), true);
    now = 900;
    f.sent("t", enc.encode("x"));
    now = 1200; // the first send's entry expires here; the second's must stay
    assert.equal(f.isEcho("t", enc.encode("x")), true);
  });
});
