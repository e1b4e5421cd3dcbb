/**
 * The users file of {@link FileAuthHook}: its shape and its validation.
 * @module
 */

import type { Checker } from "../../config/checker.ts";
import type { KeyPath } from "../../config/yaml_source.ts";
import { parsePasswordHash } from "./password.ts";
import { RULE_ACCESS } from "./acl_rules.ts";
import type { AclRule, RuleAccess } from "./acl_rules.ts";
import { ruleTopicError } from "./acl_topic.ts";
import { type ClientIdPattern, clientIdPatternError, compileClientIdPattern } from "./client_id_pattern.ts";

/** A rule as written in the file. */
export interface AclRuleInput {
  topic: string;
  access: RuleAccess;
}

/** The users file as data (what YAML parses to). */
export interface AuthFileInput {
  /** User name → encoded password hash (from `hash-password`) and the user's own rules. */
  users?: Record<string, { password: string; acl?: AclRuleInput[]; clientIds?: string[] } | null> | null;
  /** Allow clients that send no user name. Default false. */
  anonymous?: boolean;
  /** Rules for everyone, checked after user and client rules. */
  acl?: AclRuleInput[] | null;
  /** Client id → rules for that client. */
  clients?: Record<string, { acl?: AclRuleInput[] } | null> | null;
}

/** One user of a validated file. */
export interface AuthUser {
  readonly password: string;
  readonly acl: readonly AclRule[];
  /**
   * Client ids this user may connect with (`*` any run of characters, `%u` the user name); a client id that
   * matches one user's pattern is that user's alone. Empty: any id not bound to someone else.
   */
  readonly clientIds: readonly ClientIdPattern[];
}

/** A validated users file. */
export interface AuthFile {
  readonly users: ReadonlyMap<string, AuthUser>;
  readonly anonymous: boolean;
  readonly acl: readonly AclRule[];
  readonly clients: ReadonlyMap<string, readonly AclRule[]>;
}

/** Validate the users file, recording every problem in `check`. The result is only meaningful without problems. */
export function parseAuthFile(data: unknown, check: Checker): AuthFile {
  const root = check.mapping(data ?? null, [], ["users", "anonymous", "acl", "clients"]) ?? {};
  const users = new Map<string, AuthUser>();
  const clients = new Map<string, AclRule[]>();

  const userMap = root.users === undefined ? {} : check.mapping(root.users, ["users"]) ?? {};
  for (const [name, value] of Object.entries(userMap)) {
    const path = ["users", name];
    const user = check.mapping(value, path, ["password", "acl", "clientIds"]);
    if (!user) continue;
    const password = parsePassword(check, user.password, [...path, "password"]);
    const acl = parseRules(check, user.acl, [...path, "acl"]);
    const clientIds = parseClientIds(check, user.clientIds, [...path, "clientIds"]);
    if (password !== undefined) users.set(name, { password, acl, clientIds });
  }

  const clientMap = root.clients === undefined ? {} : check.mapping(root.clients, ["clients"]) ?? {};
  for (const [id, value] of Object.entries(clientMap)) {
    const client = check.mapping(value, ["clients", id], ["acl"]);
    if (client) clients.set(id, parseRules(check, client.acl, ["clients", id, "acl"]));
  }

  const anonymous = root.anonymous === undefined
    ? false
    : check.boolean(root.anonymous, ["anonymous"]) ?? false;
  const acl = parseRules(check, root.acl, ["acl"]);
  return { users, anonymous, acl, clients };
}

function parseClientIds(check: Checker, value: unknown, path: KeyPath): ClientIdPattern[] {
  if (value === undefined) return [];
  const out: ClientIdPattern[] = [];
  (check.list(value, path) ?? []).forEach((item, i) => {
    const pattern = check.string(item, [...path, i]);
    if (pattern === undefined) return;
    const error = clientIdPatternError(pattern);
    if (error !== undefined) check.problem([...path, i], error);
    else out.push(compileClientIdPattern(pattern));
  });
  return out;
}

function parsePassword(check: Checker, value: unknown, path: KeyPath): string | undefined {
  const hint = `run "comqtt hash-password" and paste its output ("$pbkdf2-sha256$i=...$...$...")`;
  if (value === undefined) {
    check.problem(path.slice(0, -1), `missing key "password": ${hint}`);
    return undefined;
  }
  // Never quote the value: it may be a plain-text password someone put there by mistake.
  if (typeof value !== "string" || parsePasswordHash(value) === undefined) {
    check.problem(path, `expected an encoded password hash, not a plain password: ${hint}`);
    return undefined;
  }
  return value;
}

function parseRules(check: Checker, value: unknown, path: KeyPath): AclRule[] {
  if (value === undefined) return [];
  const items = check.list(value, path) ?? [];
  const rules: AclRule[] = [];
  items.forEach((item, i) => {
    const at = [...path, i];
    const rule = check.mapping(item, at, ["topic", "access"]);
    if (!rule) return;
    let topic: string | undefined;
    if (!("topic" in rule)) check.problem(at, `missing key "topic"`);
    else if (typeof rule.topic !== "string") check.string(rule.topic, [...at, "topic"]);
    else {
      const error = ruleTopicError(rule.topic);
      if (error) check.problem([...at, "topic"], error);
      else topic = rule.topic;
    }
    let access: RuleAccess | undefined;
    if (!("access" in rule)) check.problem(at, `missing key "access" (one of ${RULE_ACCESS.join(", ")})`);
    else access = check.oneOf(rule.access, [...at, "access"], RULE_ACCESS);
    if (topic !== undefined && access !== undefined) rules.push({ topic, access });
  });
  return rules;
}
