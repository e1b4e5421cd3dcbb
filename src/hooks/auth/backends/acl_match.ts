/**
 * ACL rows from a backend (Redis hash, SQL rows, an HTTP answer, a JWT claim) and how they answer one check:
 * among the rows whose filter covers the topic, the most specific filter wins, as in CoMQTT. Unlike CoMQTT,
 * which takes the longest filter string, specificity is judged level by level (a literal level beats `+`, `+`
 * beats `#`, then more levels beat fewer), so `a/+/c` and `a/b/#` rank the same way whatever their lengths.
 * On a tie a `deny` row wins.
 * @module
 */

import type { Access, Verdict } from "../../hook.ts";
import type { AclRule, RuleAccess } from "../acl_rules.ts";
import { covers, substitute } from "../acl_topic.ts";
import type { RuleSubject } from "../acl_topic.ts";

/** CoMQTT's access numbers: 0 deny, 1 read (subscribe), 2 write (publish), 3 both. */
export const COMQTT_ACCESS: readonly RuleAccess[] = ["deny", "read", "write", "readwrite"];

/**
 * A CoMQTT access value (0-3, as a number or a numeric string) or one of our words, as a {@link RuleAccess};
 * undefined for anything else.
 */
export function parseAccess(value: unknown): RuleAccess | undefined {
  if (typeof value === "number" || (typeof value === "string" && /^\d+$/.test(value.trim()))) {
    return COMQTT_ACCESS[Number(value)];
  }
  if (value === "read" || value === "write" || value === "readwrite" || value === "deny") return value;
  if (value === "subscribe") return "read";
  if (value === "publish") return "write";
  if (value === "pubsub" || value === "all") return "readwrite";
  return undefined;
}

/**
 * The verdict of the most specific row that covers `topic`; undefined when none does (the caller decides what
 * "no rule" means). A row that covers the topic but does not grant `access` denies: the more general rows
 * behind it are not asked.
 */
export function matchMostSpecific(
  rules: readonly AclRule[],
  subject: RuleSubject,
  topic: string,
  access: Access,
): Verdict {
  let best: AclRule | undefined;
  let bestRank: number[] | undefined;
  for (const rule of rules) {
    const filter = substitute(rule.topic, subject);
    if (filter === undefined || !covers(filter, topic)) continue;
    const rank = specificity(filter);
    const order = bestRank === undefined ? 1 : compareRanks(rank, bestRank);
    if (order > 0 || (order === 0 && rule.access === "deny")) {
      best = rule;
      bestRank = rank;
    }
  }
  if (best === undefined) return undefined;
  if (best.access === "deny") return "deny";
  return best.access === "readwrite" || best.access === access ? "allow" : "deny";
}

function specificity(filter: string): number[] {
  return filter.split("/").map((level) => (level === "#" ? 0 : level === "+" ? 1 : 2));
}

function compareRanks(a: number[], b: number[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  // `a/b` against `a/b/#`: the trailing `#` is the less specific one.
  const restA = a.length > n ? a[n]! : -1;
  const restB = b.length > n ? b[n]! : -1;
  if (restA === 0 && restB === -1) return -1;
  if (restB === 0 && restA === -1) return 1;
  return a.length - b.length;
}
