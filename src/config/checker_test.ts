import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Checker, describe as describeValue, formatPath } from "./checker.ts";
import { ConfigError, formatProblem } from "./config_error.ts";

describe("Checker", () => {
  it("collects problems and throws them all at once, sorted by line", () => {
    const lines: Record<string, number> = { a: 5, b: 2 };
    const check = new Checker("c.yaml", (path) => lines[String(path[0])]);
    assert.equal(check.wholeNumber("ten", ["a"], 1, 10), undefined);
    assert.equal(check.oneOf("x", ["b"], ["y", "z"]), undefined);
    check.problem([], "whole document");
    assert.doesNotThrow(() => new Checker("empty").throwIfAny());
    assert.throws(
      () => check.throwIfAny(),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.message ===
          [
            "Cannot load c.yaml: 3 problems",
            'c.yaml:2: b: expected one of y, z, received "x"',
            'c.yaml:5: a: expected a whole number from 1 to 10, received "ten"',
            "c.yaml: whole document",
          ].join("\n"),
    );
  });

  it("returns typed values when they are valid", () => {
    const check = new Checker("x");
    assert.equal(check.wholeNumber(3, ["n"], 1, 3), 3);
    assert.equal(check.string("s", ["s"]), "s");
    assert.equal(check.boolean(false, ["b"]), false);
    assert.deepEqual(check.list(null, ["l"]), []);
    assert.deepEqual(check.mapping(null, ["m"]), {});
    assert.deepEqual(check.mapping({ k: 1 }, ["m"], ["k"]), { k: 1 });
    assert.equal(check.problems.length, 0);
  });

  it("refuses wrong types with what it received", () => {
    const check = new Checker("x");
    check.wholeNumber(1.5, ["n"], 0, 9);
    check.string("", ["s"]);
    check.boolean("yes", ["b"]);
    check.list({}, ["l"]);
    check.mapping([], ["m"]);
    check.mapping({ maxInflite: 1, zzz: 2 }, ["limits"], ["maxInflight", "maxPacketSize"]);
    assert.deepEqual(check.problems.map(formatProblem), [
      "x: n: expected a whole number from 0 to 9, received 1.5",
      'x: s: expected a non-empty string, received ""',
      'x: b: expected true or false, received "yes"',
      "x: l: expected a list, received a mapping",
      "x: m: expected a mapping, received a list",
      'x: limits.maxInflite: unknown key (did you mean "maxInflight"?)',
      "x: limits.zzz: unknown key; expected one of maxInflight, maxPacketSize",
    ]);
  });
});

describe("formatPath / describe", () => {
  it("formats key paths", () => {
    assert.equal(formatPath([]), "");
    assert.equal(formatPath(["limits", "maxInflight"]), "limits.maxInflight");
    assert.equal(formatPath(["listeners", 1, "address"]), "listeners[1].address");
    assert.equal(formatPath(["users", "bob smith", "password"]), 'users["bob smith"].password');
    assert.equal(formatPath(["clients", "thermostat-1"]), "clients.thermostat-1");
  });
  it("describes received values", () => {
    assert.equal(describeValue("ten"), '"ten"');
    assert.equal(describeValue(null), "nothing");
    assert.equal(describeValue([1]), "a list");
    assert.equal(describeValue({}), "a mapping");
    assert.equal(describeValue(true), "true");
  });
});
