/**
 * The import graph points one way: no module of src/, adapters/ or the entry points imports, directly or through
 * others, a module that imports it back (type-only imports included). Cycles make load order matter and let a
 * low floor reach for a high one; this keeps them from coming back.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";

const root = new URL("../../", import.meta.url).pathname;

function moduleFiles(): string[] {
  const files = ["mod.ts", "main.ts"];
  for (const dir of ["src", "adapters"]) {
    for (const f of readdirSync(join(root, dir), { recursive: true }) as string[]) {
      if (f.endsWith(".ts") && !f.endsWith("_test.ts")) files.push(join(dir, f));
    }
  }
  return files;
}

/** Relative imports and re-exports of `file`, as project paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), "utf8");
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+["'](\.[^"']+)["']/gms)) {
    out.push(normalize(join(dirname(file), m[1])));
  }
  for (const m of text.matchAll(/\bimport\(\s*["'](\.[^"']+)["']\s*\)/g)) {
    out.push(normalize(join(dirname(file), m[1])));
  }
  return out;
}

/** Every cycle found by a depth-first search, each as the list of files on it. */
function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (file: string): void => {
    state.set(file, "open");
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === "open") found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, "done");
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return found;
}

describe("import graph", () => {
  const graph = new Map(moduleFiles().map((f) => [f, importsOf(f)]));

  it("has no cycles in src/, adapters/ and the entry points", () => {
    assert.deepEqual(cycles(graph).map((c) => c.join(" -> ")), []);
  });

  it("keeps src/ free of imports from adapters/ and the entry points", () => {
    const upward = [...graph].flatMap(([file, deps]) =>
      file.startsWith("src/")
        ? deps.filter((d) => !d.startsWith("src/")).map((d) => `${file} -> ${relative(".", d)}`)
        : []
    );
    assert.deepEqual(upward, []);
  });

  it("finds a cycle when there is one (the check itself works)", () => {
    const sample = new Map([["a.ts", ["b.ts"]], ["b.ts", ["c.ts"]], ["c.ts", ["a.ts"]], ["d.ts", ["a.ts"]]]);
    assert.deepEqual(cycles(sample), [["a.ts", "b.ts", "c.ts", "a.ts"]]);
  });
});
