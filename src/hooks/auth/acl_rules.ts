/**
 * ACL rules and how a list of them answers one check.
 * @module
 */

import type { Access, Verdict } from "../hook.ts";
import { covers, overlaps, substitute } from "./acl_topic.ts";
import type { RuleSubject } from "./acl_topic.ts";

/** What a rule grants: `deny` refuses both reading and writing. */
export type RuleAccess = "read" | "write" | "readwrite" | "deny";

/** One ACL rule: a topic filter (may contain `%u` and `%c`) and the access it grants or denies. */
export interface AclRule {
  readonly topic: string;
  readonly access: RuleAccess;
}

/** Every value of {@link RuleAccess}. */
export const RULE_ACCESS: readonly RuleAccess[] = ["read", "write", "readwrite", "deny"];

/**
 * The first rule that applies decides; undefined when none applies.
 *
 * - A `deny` rule applies when its filter overlaps `topic` at all: a subscription that could receive one denied
 *   topic is refused. Put deny rules before broader allow rules.
 * - A `read`, `write` or `readwrite` rule applies only to the kinds of access it grants (a read-only rule is
 *   skipped for a publish, so a later rule may still allow it), and only when its filter covers `topic`:
 *   the published topic name, or every topic the requested subscription filter could match.
 * - A rule using `%u` or `%c` is skipped when that value is missing or unsafe (see {@link substitute}).
 */
export function checkRules(
  rules: readonly AclRule[],
  subject: RuleSubject,
  topic: string,
  access: Access,
): Verdict {
  for (const rule of rules) {
    const filter = substitute(rule.topic, subject);
    if (filter === undefined) continue;
    if (rule.access === "deny") {
      if (overlaps(filter, topic)) return "deny";
    } else if ((rule.access === "readwrite" || rule.access === access) && covers(filter, topic)) {
      return "allow";
    }
  }
  return undefined;
}
