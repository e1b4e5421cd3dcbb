/**
 * ACL rules and how a list of them answers one check.
 * @module
 */

import type { Access, Verdict } from "../hook.ts";
import { covers, substitute } from "./acl_topic.ts";
import type { RuleSubject } from "./acl_topic.ts";

/** What a rule grants: `deny` refuses both reading and writing. */
export type RuleAccess = "read" | "write" | "readwrite" | "deny";

/** One ACL rule: a topic filter (may contain `%u` and `%c`) and the access it grants or denies. */
export interface AclRule {
  /** Topic filter the rule covers; `%u` stands for the user name, `%c` for the client id. */
  readonly topic: string;
  /** The access the rule grants, or `deny`. */
  readonly access: RuleAccess;
}

/** Every value of {@link RuleAccess}. */
export const RULE_ACCESS: readonly RuleAccess[] = ["read", "write", "readwrite", "deny"];

/**
 * The first rule that applies decides; undefined when none applies. A rule applies when its filter covers `topic`
 * (the published topic name, or every topic the requested subscription filter could match; see {@link covers})
 * and:
 * - it is a `deny` rule (refusing both publish and subscribe), or
 * - it grants the kind of access asked for: a read-only rule is skipped for a publish, so a later rule may still
 *   allow it, and a write-only rule is skipped for a subscription.
 * A subscription broader than a `deny` rule (`a/#` with `a/secret` denied) is judged by the next rules; the
 * broker checks `read` again for each message it delivers, so messages on the denied topics never reach it.
 * A rule using `%u` or `%c` is skipped when that value is missing or unsafe (see {@link substitute}).
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
    if (rule.access !== "deny" && rule.access !== "readwrite" && rule.access !== access) continue;
    if (covers(filter, topic)) return rule.access === "deny" ? "deny" : "allow";
  }
  return undefined;
}
