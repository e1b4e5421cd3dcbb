/**
 * A rule as configured (`rules:` in the YAML) and as compiled: its statement parsed and checked, its sources
 * split into topic filters and events, its templates parsed, its counters.
 * @module
 */

import type { QoS } from "../packets/types.ts";
import { checkTopicFilter } from "../topics/topic_rules.ts";
import { SqlError } from "./sql_lexer.ts";
import { parseSql, type Statement } from "./sql_parser.ts";
import { checkStatement } from "./sql_eval.ts";
import { parseTemplate, type Template } from "./template.ts";

/** What a rule does with a selected result. */
export type RuleActionConfig =
  /** Publish locally; `payload` is a template, the selected fields as JSON when omitted. */
  | { type: "republish"; topic: string; qos: QoS; retain: boolean; payload?: string }
  /** POST (or PUT) the selected fields as JSON. */
  | { type: "http"; url: string; method: "POST" | "PUT"; headers?: Record<string, string> }
  /** Forward over a named bridge: the message itself, or `topic` / `payload` templates when given. */
  | { type: "bridge"; bridge: string; topic?: string; payload?: string; qos?: QoS };

/** One configured rule. */
export interface RuleConfig {
  /** Unique id of the rule, in logs, metrics and the origin of what it republishes. */
  id: string;
  /** The statement: `SELECT ... FROM "filter" [, ...] [WHERE ...]`. */
  sql: string;
  /** What to do with each selected result. */
  actions: RuleActionConfig[];
}

/** The events a rule may select FROM, by source name. */
export const EVENT_SOURCES: Readonly<Record<string, string>> = {
  "$events/client_connected": "client.connected",
  "$events/client_disconnected": "client.disconnected",
  "$events/message_dropped": "message.dropped",
};

/** Counters of one rule. */
export interface RuleMetrics {
  /** FROM matched (a message on one of its filters, or one of its events). */
  matched: number;
  /** WHERE held: actions ran. */
  passed: number;
  /** WHERE did not hold. */
  noResult: number;
  /** Evaluation failed (a bug or a resource problem; data never makes it fail). */
  failed: number;
  /** Actions that succeeded. */
  actionSuccess: number;
  /** Actions that failed after their retries, or were dropped because too many were pending. */
  actionErrors: number;
}

/** A compiled action. */
export type CompiledAction =
  | { type: "republish"; topic: Template; qos: QoS; retain: boolean; payload?: Template }
  | { type: "http"; url: string; method: "POST" | "PUT"; headers: Record<string, string> }
  | { type: "bridge"; bridge: string; topic?: Template; payload?: Template; qos?: QoS };

/** A rule ready to run. */
export interface CompiledRule {
  /** The rule's id. */
  id: string;
  /** The rule's SQL statement as written. */
  sql: string;
  /**
   * The parsed SQL statement (its syntax tree is internal, so left out of the generated docs).
   * @ignore
   */
  statement: Statement;
  /** Topic filters of its FROM sources (event sources are in `events`). */
  topicFilters: string[];
  /** `client.connected`, ... */
  events: Set<string>;
  /**
   * The actions with their templates compiled (internal, so left out of the generated docs).
   * @ignore
   */
  actions: CompiledAction[];
  /** The rule's counters, updated as it runs. */
  metrics: RuleMetrics;
}

/**
 * Parse and check a rule. Throws {@link SqlError} for the statement (line and column within `sql`) and a
 * TypeError for a bad source or template.
 */
export function compileRule(rule: RuleConfig): CompiledRule {
  const statement = parseSql(rule.sql);
  checkStatement(statement);
  const topicFilters: string[] = [];
  const events = new Set<string>();
  statement.sources.forEach((source, i) => {
    const { line, column } = statement.sourceAt[i]!;
    if (source.startsWith("$events/")) {
      const event = EVENT_SOURCES[source];
      if (event === undefined) {
        throw new SqlError(
          `unknown event ${JSON.stringify(source)}; expected one of ${Object.keys(EVENT_SOURCES).join(", ")}`,
          line,
          column,
        );
      }
      events.add(event);
      return;
    }
    const problem = checkTopicFilter(source, { maxTopicLength: 65_535, maxTopicLevels: 0 });
    if (problem !== undefined) throw new SqlError(`FROM ${JSON.stringify(source)}: ${problem}`, line, column);
    topicFilters.push(source);
  });
  const actions = rule.actions.map((a): CompiledAction => {
    switch (a.type) {
      case "republish":
        return {
          type: "republish",
          topic: parseTemplate(a.topic),
          qos: a.qos,
          retain: a.retain,
          ...(a.payload === undefined ? {} : { payload: parseTemplate(a.payload) }),
        };
      case "http":
        return { type: "http", url: a.url, method: a.method, headers: a.headers ?? {} };
      case "bridge":
        return {
          type: "bridge",
          bridge: a.bridge,
          ...(a.topic === undefined ? {} : { topic: parseTemplate(a.topic) }),
          ...(a.payload === undefined ? {} : { payload: parseTemplate(a.payload) }),
          ...(a.qos === undefined ? {} : { qos: a.qos }),
        };
    }
  });
  return {
    id: rule.id,
    sql: rule.sql,
    statement,
    topicFilters,
    events,
    actions,
    metrics: { matched: 0, passed: 0, noResult: 0, failed: 0, actionSuccess: 0, actionErrors: 0 },
  };
}
