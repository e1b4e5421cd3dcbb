/**
 * Turning a list of KV mutations into atomic commits that each stay within Deno KV's limits, applied in order.
 *
 * Limits (denokv `limits.rs`, and measured with Deno 2.9.6 and `@deno/kv` 0.14.0): at most 1000 mutations, 81920
 * bytes of keys and 819200 bytes of keys plus values per atomic commit; a value holds at most 65536 bytes and a
 * key 2048. `@deno/kv` is laxer on the key total, so the budgets follow Deno's native KV, with some slack.
 * @module
 */

import type { KvLike } from "./kv_like.ts";
import { type Key, keySize } from "./_kv_layout.ts";

/** One set (with a value) or delete (without). */
export interface Mutation {
  key: Key;
  value?: Uint8Array;
}

/** Per-commit budgets, a little under the KV's limits. */
export const COMMIT_BUDGET = { mutations: 1000, keyBytes: 80_000, totalBytes: 800_000 } as const;

/** Split mutations into consecutive groups that each fit in one atomic commit. */
export function splitCommits(mutations: readonly Mutation[], budget = COMMIT_BUDGET): Mutation[][] {
  const out: Mutation[][] = [];
  let current: Mutation[] = [];
  let keys = 0;
  let total = 0;
  for (const m of mutations) {
    const k = keySize(m.key);
    const size = k + (m.value?.length ?? 0);
    if (
      current.length > 0 &&
      (current.length + 1 > budget.mutations || keys + k > budget.keyBytes ||
        total + size > budget.totalBytes)
    ) {
      out.push(current);
      current = [];
      keys = 0;
      total = 0;
    }
    current.push(m);
    keys += k;
    total += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** Commit the mutations in order, as few atomic commits as the limits allow. */
export async function commitAll(kv: KvLike, mutations: readonly Mutation[]): Promise<void> {
  for (const group of splitCommits(mutations)) {
    const op = kv.atomic();
    for (const m of group) {
      if (m.value === undefined) op.delete(m.key);
      else op.set(m.key, m.value);
    }
    const result = await op.commit();
    if (!result.ok) {
      throw new Error(`Cannot write ${group.length} storage mutations: the KV refused the commit`);
    }
  }
}
