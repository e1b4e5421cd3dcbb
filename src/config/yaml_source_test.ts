import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readYaml } from "./yaml_source.ts";

describe("readYaml", () => {
  it("maps key paths to the line of the key or list item", () => {
    const yaml = readYaml(
      ["a: 1", "b:", "  c:", "    - x", "    - y: 2", "d: { e: 3 }"].join("\n"),
      "t.yaml",
    );
    assert.deepEqual(yaml.problems, []);
    assert.deepEqual(yaml.value, { a: 1, b: { c: ["x", { y: 2 }] }, d: { e: 3 } });
    assert.equal(yaml.lineOf(["a"]), 1);
    assert.equal(yaml.lineOf(["b"]), 2);
    assert.equal(yaml.lineOf(["b", "c"]), 3);
    assert.equal(yaml.lineOf(["b", "c", 0]), 4);
    assert.equal(yaml.lineOf(["b", "c", 1, "y"]), 5);
    assert.equal(yaml.lineOf(["d", "e"]), 6);
    assert.equal(yaml.lineOf(["b", "missing"]), 2, "a missing key gives its parent's line");
    assert.equal(yaml.lineOf([]), 1);
  });

  it("reports syntax errors and duplicate keys with lines instead of throwing", () => {
    const dup = readYaml("a: 1\nb: 2\na: 3\n", "d.yaml");
    assert.equal(dup.value, undefined);
    assert.equal(dup.problems.length, 1);
    assert.equal(dup.problems[0].line, 3);
    assert.match(dup.problems[0].message, /unique/);
    const bad = readYaml("a: [1, 2\nb: 3\n", "b.yaml");
    assert.ok(bad.problems.length >= 1);
    assert.equal(typeof bad.problems[0].line, "number");
  });

  it("reads YAML 1.2: yes/on stay strings, an empty document is null", () => {
    assert.deepEqual(readYaml("a: yes\nb: on\n", "x").value, { a: "yes", b: "on" });
    assert.equal(readYaml("", "x").value, null);
    assert.equal(readYaml("# only a comment\n", "x").value, null);
  });

  it("refuses an alias bomb", () => {
    const lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
    for (let i = 0; i < 12; i++) {
      const prev = String.fromCharCode(97 + i);
      const next = String.fromCharCode(98 + i);
      lines.push(`${next}: &${next} [${Array(10).fill(`*${prev}`).join(",")}]`);
    }
    const yaml = readYaml(lines.join("\n"), "bomb.yaml");
    assert.equal(yaml.value, undefined);
    assert.match(yaml.problems[0].message, /alias/i);
  });
});
