/**
 * Nothing NATS is loaded without a cluster: the static import graph of mod.ts and main.ts (type-only and
 * dynamic imports left out) reaches no module that imports an `@nats-io/*` package.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { ROOT } from "../_helpers/cli_process.ts";

/** Value imports (not `import type`, not `import(...)`) of a module: `import ... from "x"` and `export ... from "x"`. */
function valueImports(source: string): string[] {
  const out: string[] = [];
  const re = /^\s*(import|export)\s+(?!type\b)[^;]*?\bfrom\s+"([^"]+)"/gms;
  for (const m of source.matchAll(re)) out.push(m[2]!);
  for (const m of source.matchAll(/^\s*import\s+"([^"]+)"/gm)) out.push(m[1]!);
  return out;
}

async function staticGraph(entries: string[]): Promise<Map<string, string[]>> {
  const graph = new Map<string, string[]>();
  const todo = [...entries];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (graph.has(file)) continue;
    const imports = valueImports(await readFile(file, "utf8"));
    graph.set(file, imports);
    for (const spec of imports) {
      if (spec.startsWith(".")) todo.push(join(dirname(file), spec));
    }
  }
  return graph;
}

describe("cluster: lazy loading", () => {
  it("mod.ts and main.ts load no NATS client statically", async () => {
    const graph = await staticGraph([join(ROOT, "mod.ts"), join(ROOT, "main.ts")]);
    assert.ok(graph.size > 50, `walked ${graph.size} modules`);
    const offenders = [...graph].filter(([, imports]) => imports.some((s) => s.startsWith("@nats-io/")));
    assert.deepEqual(offenders.map(([f]) => relative(ROOT, f)), []);
    // ...while the NATS module does import it (so the check above looks at the right thing).
    const nats = await staticGraph([join(ROOT, "adapters/cluster/nats_cluster.ts")]);
    assert.ok([...nats.values()].some((imports) => imports.includes("@nats-io/transport-node")));
  });
});
