/**
 * The rule engine: a {@link Hook} that observes published messages and client events, selects the rules whose
 * FROM matches through a topic trie (never by testing every rule), evaluates them and runs their actions.
 * With no rules, do not install it at all: the publish path then does no extra work.
 * @module
 */

import type { Clock } from "../clock.ts";
import type { ClientInfo, DisconnectInfo, DropReason, Hook } from "../hooks/hook.ts";
import type { MaybePromise } from "../hooks/hook_chain.ts";
import type { Logger } from "../logger.ts";
import type { Message } from "../message.ts";
import type { QoS } from "../packets/types.ts";
import { SubscriptionIndex } from "../topics/subscription_index.ts";
import { HttpSender, type HttpSenderOptions } from "./http_sender.ts";
import type { CompiledAction, CompiledRule, RuleMetrics } from "./rule.ts";
import { evaluate, type RuleInput } from "./sql_eval.ts";
import type { Value } from "./sql_functions.ts";
import { renderTemplate } from "./template.ts";

/** What the engine needs of the broker ({@link Broker} provides it). */
export interface RuleHost {
  /** Where the engine logs. */
  readonly logger: Logger;
  /** Time source for the HTTP action's retries and timeouts. */
  readonly clock: Clock;
  /** The broker's hooks: a republished message passes the same publish checks as a client's. */
  readonly hooks: { publish(client: ClientInfo | undefined, message: Message): MaybePromise<Message | null> };
  /** Deliver a message to local subscribers; returns the number of sessions it went to. */
  route(message: Message, publisher: ClientInfo | undefined): number;
}

/** A bridge as the `bridge` action sees it. */
export interface RuleBridge {
  /** Queue `message` for the remote under `remoteTopic` with `qos`; false when it was not queued. */
  forward(message: Message, remoteTopic: string, qos: QoS): boolean;
}

/** Options of a {@link RuleEngine}. */
export interface RuleEngineOptions {
  /** The compiled rules to run (see {@link compileRule}). */
  rules: CompiledRule[];
  /** The broker the engine observes and republishes through. */
  host: RuleHost;
  /** Bridges by name, for `bridge` actions. */
  bridges?: ReadonlyMap<string, RuleBridge>;
  /** Retries, timeouts and bounds of the `http` action. */
  http?: Omit<HttpSenderOptions, "clock">;
}

/** Status of one rule for the dashboard, the API and /metrics. */
export interface RuleStatus extends RuleMetrics {
  /** The rule's id. */
  id: string;
  /** The rule's SQL statement as written. */
  sql: string;
}

const encoder = new TextEncoder();
/** Messages a rule republished have the origin `$rules/<rule id>/<depth>`. */
const ORIGIN_PREFIX = "$rules/";
/** Rules feeding rules stop here: a republished message this many republishes deep triggers no rule. */
export const MAX_RULE_DEPTH = 8;

/** How many republishes deep `origin` is (0 for a message that no rule made), and the rule that made it. */
function ruleOrigin(origin: string | undefined): { rule: string; depth: number } | undefined {
  if (origin === undefined || !origin.startsWith(ORIGIN_PREFIX)) return undefined;
  const slash = origin.lastIndexOf("/");
  return { rule: origin.slice(ORIGIN_PREFIX.length, slash), depth: Number(origin.slice(slash + 1)) || 0 };
}

/** Runs rules on messages and events. */
export class RuleEngine implements Hook {
  readonly id = "rules";
  #rules: CompiledRule[];
  #host: RuleHost;
  #index = new SubscriptionIndex<CompiledRule>();
  #events = new Map<string, CompiledRule[]>();
  #bridges: ReadonlyMap<string, RuleBridge>;
  #http: HttpSender;

  /** An engine over `options.rules`; install it as a hook on the broker. */
  constructor(options: RuleEngineOptions) {
    this.#rules = options.rules;
    this.#host = options.host;
    this.#bridges = options.bridges ?? new Map();
    this.#http = new HttpSender({ clock: options.host.clock, ...options.http });
    for (const rule of this.#rules) {
      for (const f of rule.topicFilters) this.#index.add(f, rule.id, rule);
      for (const e of rule.events) {
        if (!this.#events.has(e)) this.#events.set(e, []);
        this.#events.get(e)!.push(rule);
      }
    }
    // Only the events some rule selects are observed: a hook without the method costs that event nothing.
    if (this.#index.size === 0) this.onPublished = undefined;
    if (!this.#events.has("client.connected")) this.onConnected = undefined;
    if (!this.#events.has("client.disconnected")) this.onDisconnected = undefined;
    if (!this.#events.has("message.dropped")) this.onMessageDropped = undefined;
  }

  /** Called by `broker.close()`: pending HTTP retries are abandoned. */
  stop(): void {
    this.#http.close();
  }

  /** Every rule with its counters. */
  status(): RuleStatus[] {
    return this.#rules.map((r) => ({ id: r.id, sql: r.sql, ...r.metrics }));
  }

  onPublished?(client: ClientInfo | undefined, message: Message): void {
    let input: RuleInput | undefined;
    const made = ruleOrigin(message.origin);
    // Rules that republish to each other's topics would otherwise run forever.
    if (made !== undefined && made.depth >= MAX_RULE_DEPTH) return;
    this.#index.match(message.topic, (_id, rule) => {
      // A rule does not see what it republished itself (a rule on "#" would otherwise feed on its own output).
      if (made?.rule === rule.id) return;
      input ??= {
        event: "message.publish",
        topic: message.topic,
        payload: message.payload,
        clientid: message.origin ?? client?.id,
        username: client?.username,
        qos: message.qos,
        retain: message.retain,
        timestamp: message.receivedAt,
      };
      this.#run(rule, input, message);
    });
  }

  onConnected?(client: ClientInfo): void {
    this.#event("client.connected", {
      event: "client.connected",
      clientid: client.id,
      username: client.username,
      peerhost: client.remoteAddress,
      timestamp: this.#host.clock.now(),
    });
  }

  onDisconnected?(client: ClientInfo, info: DisconnectInfo): void {
    this.#event("client.disconnected", {
      event: "client.disconnected",
      clientid: client.id,
      username: client.username,
      peerhost: client.remoteAddress,
      reason: info.graceful ? "normal" : info.error?.message ?? "closed",
      timestamp: this.#host.clock.now(),
    });
  }

  onMessageDropped?(clientId: string, message: Message, reason: DropReason): void {
    this.#event("message.dropped", {
      event: "message.dropped",
      clientid: clientId,
      topic: message.topic,
      payload: message.payload,
      qos: message.qos,
      reason,
      timestamp: this.#host.clock.now(),
    });
  }

  #event(event: string, input: RuleInput): void {
    for (const rule of this.#events.get(event) ?? []) this.#run(rule, input, undefined);
  }

  #run(rule: CompiledRule, input: RuleInput, message: Message | undefined): void {
    const m = rule.metrics;
    m.matched++;
    let fields: Record<string, Value> | null;
    try {
      fields = evaluate(rule.statement, input);
    } catch (err) {
      m.failed++;
      this.#host.logger.warn("rule evaluation failed", { rule: rule.id, error: (err as Error).message });
      return;
    }
    if (fields === null) {
      m.noResult++;
      return;
    }
    m.passed++;
    for (const action of rule.actions) {
      try {
        this.#act(rule, action, fields, message);
      } catch (err) {
        this.#actionFailed(rule, action, err);
      }
    }
  }

  #act(rule: CompiledRule, action: CompiledAction, fields: Record<string, Value>, message?: Message): void {
    const host = this.#host;
    switch (action.type) {
      case "republish": {
        const topic = renderTemplate(action.topic, fields);
        const payload = action.payload === undefined
          ? JSON.stringify(fields)
          : renderTemplate(action.payload, fields);
        const out: Message = {
          topic,
          payload: encoder.encode(payload),
          qos: action.qos,
          retain: action.retain,
          origin: `${ORIGIN_PREFIX}${rule.id}/${(ruleOrigin(message?.origin)?.depth ?? 0) + 1}`,
          receivedAt: host.clock.now(),
        };
        if (topic === "" || topic.includes("+") || topic.includes("#")) {
          throw new Error(`republish topic ${JSON.stringify(topic)} is not a topic name`);
        }
        Promise.resolve(host.hooks.publish(undefined, out)).then((m) => {
          if (m !== null) host.route(m, undefined);
          rule.metrics.actionSuccess++;
        }, (err) => this.#actionFailed(rule, action, err));
        return;
      }
      case "http":
        this.#http.send(
          { url: action.url, method: action.method, headers: action.headers, body: JSON.stringify(fields) },
          (error) =>
            error === undefined ? rule.metrics.actionSuccess++ : this.#actionFailed(rule, action, error),
        );
        return;
      case "bridge": {
        const bridge = this.#bridges.get(action.bridge);
        if (bridge === undefined) throw new Error(`no bridge named ${JSON.stringify(action.bridge)}`);
        const base: Message = message ?? {
          topic: String(fields.topic ?? ""),
          payload: encoder.encode(JSON.stringify(fields)),
          qos: 0,
          retain: false,
          receivedAt: host.clock.now(),
        };
        const topic = action.topic === undefined ? base.topic : renderTemplate(action.topic, fields);
        const payload = action.payload === undefined
          ? base.payload
          : encoder.encode(renderTemplate(action.payload, fields));
        const qos = action.qos ?? base.qos;
        if (!bridge.forward({ ...base, topic, payload, qos }, topic, qos)) {
          throw new Error(`bridge ${action.bridge} did not take the message (queue full)`);
        }
        rule.metrics.actionSuccess++;
        return;
      }
    }
  }

  #actionFailed(rule: CompiledRule, action: CompiledAction, err: unknown): void {
    rule.metrics.actionErrors++;
    this.#host.logger.warn("rule action failed", {
      rule: rule.id,
      action: action.type,
      error: err instanceof Error ? err.message : String(err),
    });
  }
}
