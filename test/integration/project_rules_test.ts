/**
 * Project rules that a type checker does not see: the core uses no runtime API, and deno.json and package.json
 * name the same dependency versions.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const root = new URL("../../", import.meta.url).pathname;

function sourceFiles(dir: string): string[] {
  return (readdirSync(join(root, dir), { recursive: true }) as string[])
    .filter((f) => f.endsWith(".ts"))
    .map((f) => join(dir, f));
}

describe("project rules", () => {
  it("src/ imports no node: module (codec files may use node:buffer) and touches no Deno, Bun or process", () => {
    const offences: string[] = [];
    for (const file of sourceFiles("src")) {
      if (file.endsWith("_test.ts")) continue;
      const text = readFileSync(join(root, file), "utf8");
      text.split("\n").forEach((line, i) => {
        const code = line.replace(/\/\/.*$/, "");
        const nodeImport = /(?:from\s+|import\s*\(\s*|require\s*\(\s*)["']node:([\w/]+)["']/.exec(code);
        if (nodeImport && !(file.startsWith("src/packets/") && nodeImport[1] === "buffer")) {
          offences.push(`${file}:${i + 1}: node:${nodeImport[1]}`);
        }
        if (/\b(Deno|Bun)\s*\.|\bprocess\s*\.|\bconsole\s*\./.test(code) && !/^\s*\*/.test(line)) {
          offences.push(`${file}:${i + 1}: ${line.trim()}`);
        }
      });
    }
    assert.deepEqual(offences, []);
  });

  it("deno.json imports and package.json dependencies name the same versions", () => {
    const deno = JSON.parse(readFileSync(join(root, "deno.json"), "utf8"));
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
    const npm: Record<string, string> = { ...pkg.dependencies, ...pkg.devDependencies };
    const mapped = Object.entries(deno.imports as Record<string, string>);
    assert.ok(mapped.length > 0);
    for (const [name, spec] of mapped) {
      const m = /^npm:(@?[^@]+)@(.+)$/.exec(spec);
      assert.ok(m, `deno.json import "${name}" is not an npm: specifier: ${spec}`);
      assert.equal(m[1], name, `deno.json maps "${name}" to another package`);
      assert.equal(npm[name], m[2], `"${name}": deno.json says ${m[2]}, package.json says ${npm[name]}`);
    }
    for (const name of Object.keys(pkg.dependencies)) {
      assert.ok(name in deno.imports, `package.json dependency "${name}" is missing from deno.json imports`);
    }
  });
});
