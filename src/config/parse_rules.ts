/**
 * The `rules:` list of the config file. Each rule's SQL is parsed here, so a malformed statement stops the start
 * like any config error, naming the file, the line of its `sql` key, the rule, and the line and column in the SQL.
 *
 * ```yaml
 * rules:
 *   - id: hot
 *     sql: SELECT payload.temp AS t, clientid FROM "sensors/+/data" WHERE payload.temp > 30
 *     actions:
 *       - republish: { topic: "alerts/${clientid}", qos: 1, payload: '{"t": ${t}}' }
 *       - http: { url: "http://127.0.0.1:9000/hook", method: POST }
 *       - bridge: cloud
 * ```
 * @module
 */

import type { Checker } from "./checker.ts";
import type { KeyPath } from "./yaml_source.ts";
import { compileRule, type RuleActionConfig, type RuleConfig } from "../rules/rule.ts";
import { SqlError } from "../rules/sql_lexer.ts";

const KEYS = ["id", "sql", "actions"];
const ID = /^[A-Za-z0-9_.-]{1,64}$/;

/** `rules:`; `bridgeNames` are the configured bridges, which `bridge` actions must name. */
export function parseRules(check: Checker, value: unknown, bridgeNames: readonly string[]): RuleConfig[] {
  const items = check.list(value, ["rules"]) ?? [];
  const out: RuleConfig[] = [];
  const ids = new Map<string, number>();
  items.forEach((item, i) => {
    const path = ["rules", i];
    const map = check.mapping(item, path, KEYS);
    if (!map) return;
    const id = "id" in map ? check.string(map.id, [...path, "id"]) : undefined;
    if (!("id" in map)) check.problem(path, 'missing key "id"');
    if (id !== undefined) {
      if (!ID.test(id)) {
        check.problem(
          [...path, "id"],
          `expected 1 to 64 letters, digits, ".", "_" or "-", received ${JSON.stringify(id)}`,
        );
      }
      const first = ids.get(id);
      if (first !== undefined) check.problem([...path, "id"], `duplicate id "${id}" (also rules[${first}])`);
      else ids.set(id, i);
    }
    const sql = "sql" in map ? check.string(map.sql, [...path, "sql"]) : undefined;
    if (!("sql" in map)) check.problem(path, 'missing key "sql"');
    const list = "actions" in map ? check.list(map.actions, [...path, "actions"]) : undefined;
    if (!("actions" in map) || list?.length === 0) {
      check.problem(path, 'expected at least one action in "actions"');
    }
    const actions: RuleActionConfig[] = [];
    (list ?? []).forEach((a, j) => {
      const action = parseAction(check, a, [...path, "actions", j], bridgeNames);
      if (action !== undefined) actions.push(action);
    });
    if (id === undefined || sql === undefined) return;
    const rule: RuleConfig = { id, sql, actions };
    try {
      compileRule(rule);
    } catch (err) {
      const at = err instanceof SqlError ? [...path, "sql"] : [...path, "actions"];
      check.problem(at, `rule "${id}": ${(err as Error).message}`);
      return;
    }
    out.push(rule);
  });
  return out;
}

function parseAction(
  check: Checker,
  value: unknown,
  path: KeyPath,
  bridgeNames: readonly string[],
): RuleActionConfig | undefined {
  const map = check.mapping(value, path, ["republish", "http", "bridge"]);
  if (!map) return undefined;
  const kinds = Object.keys(map);
  if (kinds.length !== 1) {
    check.problem(path, "expected exactly one of republish, http, bridge");
    return undefined;
  }
  const kind = kinds[0]!;
  const p = [...path, kind];
  const body = map[kind];
  if (kind === "bridge") {
    const spec = typeof body === "string"
      ? { name: body }
      : check.mapping(body, p, ["name", "topic", "payload", "qos"]);
    if (!spec) return undefined;
    const name = check.string(spec.name, [...p, "name"]);
    if (name !== undefined && !bridgeNames.includes(name)) {
      check.problem(
        p,
        `no bridge named ${JSON.stringify(name)} (bridges: ${bridgeNames.join(", ") || "none"})`,
      );
      return undefined;
    }
    const topic = "topic" in spec ? check.string(spec.topic, [...p, "topic"]) : undefined;
    const payload = "payload" in spec ? check.string(spec.payload, [...p, "payload"]) : undefined;
    const qos = "qos" in spec ? check.wholeNumber(spec.qos, [...p, "qos"], 0, 2) : undefined;
    if (name === undefined) return undefined;
    return {
      type: "bridge",
      bridge: name,
      ...(topic === undefined ? {} : { topic }),
      ...(payload === undefined ? {} : { payload }),
      ...(qos === undefined ? {} : { qos: qos as 0 | 1 | 2 }),
    };
  }
  if (kind === "republish") {
    const spec = check.mapping(body, p, ["topic", "qos", "retain", "payload"]);
    if (!spec) return undefined;
    const topic = check.string(spec.topic, [...p, "topic"]);
    const qos = "qos" in spec ? check.wholeNumber(spec.qos, [...p, "qos"], 0, 2) : 0;
    const retain = "retain" in spec ? check.boolean(spec.retain, [...p, "retain"]) : false;
    const payload = "payload" in spec ? check.string(spec.payload, [...p, "payload"]) : undefined;
    if (topic === undefined || qos === undefined || retain === undefined) return undefined;
    return {
      type: "republish",
      topic,
      qos: qos as 0 | 1 | 2,
      retain,
      ...(payload === undefined ? {} : { payload }),
    };
  }
  const spec = check.mapping(body, p, ["url", "method", "headers"]);
  if (!spec) return undefined;
  const url = check.string(spec.url, [...p, "url"]);
  if (url !== undefined && !/^https?:\/\/[^/]+/.test(url)) {
    check.problem([...p, "url"], `expected an http:// or https:// URL, received ${JSON.stringify(url)}`);
  }
  const method = "method" in spec
    ? check.oneOf(spec.method, [...p, "method"], ["POST", "PUT"] as const)
    : "POST";
  const headers: Record<string, string> = {};
  if ("headers" in spec) {
    const h = check.mapping(spec.headers, [...p, "headers"]) ?? {};
    for (const [k, v] of Object.entries(h)) {
      const s = check.string(v, [...p, "headers", k]);
      if (s !== undefined) headers[k] = s;
    }
  }
  if (url === undefined || method === undefined) return undefined;
  return { type: "http", url, method, ...(Object.keys(headers).length > 0 ? { headers } : {}) };
}
