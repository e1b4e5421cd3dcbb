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

/** A `node:` module imported in any form: `from`, a side-effect `import "node:x"`, `import()` or `require()`. */
const NODE_IMPORT = /(?:\bfrom\s*|\bimport\s*|\bimport\s*\(\s*|\brequire\s*\(\s*)["']node:([\w/]+)["']/;
/**
 * A runtime API reached directly (`Deno.`, `Bun.`, `process.`, `console.`), through the global object
 * (`globalThis.Deno`, `globalThis["Bun"]`, `(globalThis as {...}).process`, `self.Deno`) or probed (`typeof Deno`).
 */
const RUNTIME_API = new RegExp(
  [
    String.raw`\b(?:Deno|Bun)\s*\??\.`,
    String.raw`\bprocess\s*\??\.`,
    String.raw`\bconsole\s*\.`,
    String.raw`\b(?:globalThis|self|window)\b.*\b(?:Deno|Bun|process)\b`,
    String.raw`\btypeof\s+(?:Deno|Bun|process)\b`,
  ].join("|"),
);

/** The rule's findings in one file's text: `line: what`. */
function offencesIn(file: string, text: string): string[] {
  const out: string[] = [];
  text.split("\n").forEach((line, i) => {
    if (/^\s*\*/.test(line)) return; // JSDoc prose
    const code = line.replace(/\/\/.*$/, "");
    const nodeImport = NODE_IMPORT.exec(code);
    if (nodeImport && !(file.startsWith("src/packets/") && nodeImport[1] === "buffer")) {
      out.push(`${file}:${i + 1}: node:${nodeImport[1]}`);
    }
    if (RUNTIME_API.test(code)) out.push(`${file}:${i + 1}: ${line.trim()}`);
  });
  return out;
}

describe("project rules", () => {
  it("the rule catches every way src/ could reach a runtime, and lets plain code through", () => {
    const caught = [
      'import "node:fs";',
      "import 'node:process';",
      'import fs from "node:fs";',
      'import type { Socket } from "node:net";',
      'export { readFile } from "node:fs/promises";',
      'const m = await import("node:os");',
      'const x = require("node:path");',
      "Deno.exit(1);",
      "Bun.serve({});",
      "process.exit(1);",
      "const env = process?.env;",
      "console.log(1);",
      "const d = globalThis.Deno;",
      'const b = globalThis["Bun"];',
      "const p = (globalThis as { process?: unknown }).process;",
      "if (self.Deno) run();",
      'if (typeof Deno !== "undefined") run();',
    ];
    for (const line of caught) {
      assert.equal(offencesIn("src/x.ts", line).length, 1, `not caught: ${line}`);
    }
    const fine = [
      'import { Buffer } from "node:buffer";', // allowed in the codec
      "const deno = 1; const processed = true;",
      "// Deno.exit(1) in a comment",
      " * Deno.serve in JSDoc prose",
      "globalThis.setTimeout(f, 1);",
    ];
    for (const line of fine) {
      assert.deepEqual(offencesIn("src/packets/x.ts", line), [], `wrongly caught: ${line}`);
    }
  });

  it("src/ imports no node: module (codec files may use node:buffer) and touches no Deno, Bun or process", () => {
    const offences: string[] = [];
    for (const file of sourceFiles("src")) {
      if (file.endsWith("_test.ts")) continue;
      offences.push(...offencesIn(file, readFileSync(join(root, file), "utf8")));
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
