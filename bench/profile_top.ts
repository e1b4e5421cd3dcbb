/**
 * The functions with the most self time in a V8 CPU profile (as written by `node --cpu-prof`, or by
 * `node bench/run.ts --profile DIR` for the node and aedes brokers).
 *
 *   node bench/profile_top.ts DIR/node-pairs1/CPU.*.cpuprofile [count=25]
 * @module
 */

import { readFileSync } from "node:fs";
import process from "node:process";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const file = process.argv[2];
if (!file) {
  process.stderr.write("Usage: node bench/profile_top.ts FILE.cpuprofile [count]\n");
  process.exit(2);
}
const count = Number(process.argv[3] ?? 25) || 25;
const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;

// Self time per node from the sample stream (each sample's delta belongs to the sampled node).
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map<string, number>();
let total = 0;
profile.samples.forEach((id, i) => {
  const node = byId.get(id);
  const dt = profile.timeDeltas[i] ?? 0;
  if (!node) return;
  total += dt;
  const f = node.callFrame;
  const where = f.url
    ? `${f.url.replace(/^file:\/\/.*?\/(src|adapters|node_modules|bench)\//, "$1/")}:${f.lineNumber + 1}`
    : "";
  const key = `${f.functionName || "(anonymous)"} ${where}`.trim();
  self.set(key, (self.get(key) ?? 0) + dt);
});

const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, count);
process.stdout.write(`total ${(total / 1000).toFixed(0)} ms sampled\n`);
for (const [name, us] of rows) {
  process.stdout.write(
    `${((us / total) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${name}\n`,
  );
}
