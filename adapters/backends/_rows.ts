/**
 * Turning what Redis and SQL return into the records src/ expects, shared by the stores.
 * @module
 */

import type { AclRule } from "../../src/hooks/auth/acl_rules.ts";
import { ruleTopicError } from "../../src/hooks/auth/acl_topic.ts";
import { parseAccess } from "../../src/hooks/auth/backends/acl_match.ts";
import type { StoredUser } from "../../src/hooks/auth/backends/backend.ts";

/** CoMQTT writes `allow` as 1/0 in SQL and true/false in Redis JSON; missing means allowed. */
export function truthy(value: unknown, missing: boolean): boolean {
  if (value === undefined || value === null) return missing;
  if (typeof value === "boolean") return value;
  if (typeof value === "number" || typeof value === "bigint") return Number(value) !== 0;
  if (typeof value === "string") {
    return !["", "0", "false", "f", "no", "n"].includes(value.trim().toLowerCase());
  }
  return missing;
}

/** A user record from a row or a JSON object; throws naming the store when it has no password. */
export function userFromRecord(record: Record<string, unknown>, where: string): StoredUser {
  const password = record.password;
  const text = typeof password === "string"
    ? password
    : password instanceof Uint8Array
    ? new TextDecoder().decode(password)
    : undefined;
  if (text === undefined) throw new Error(`garbage user record in ${where}: no "password" string`);
  const salt = record.salt;
  return {
    password: text,
    allow: truthy(record.allow, true),
    ...(truthy(record.superuser ?? record.is_superuser, false) ? { superuser: true } : {}),
    ...(typeof salt === "string" && salt !== "" ? { salt } : {}),
  };
}

/** ACL rules from (filter, access) pairs; pairs with an unknown access or a bad filter are skipped, as CoMQTT does. */
export function rulesFromPairs(pairs: Iterable<[unknown, unknown]>): AclRule[] {
  const out: AclRule[] = [];
  for (const [topic, raw] of pairs) {
    const access = parseAccess(typeof raw === "bigint" ? Number(raw) : raw);
    if (typeof topic !== "string" || access === undefined || ruleTopicError(topic) !== undefined) continue;
    out.push({ topic, access });
  }
  return out;
}
