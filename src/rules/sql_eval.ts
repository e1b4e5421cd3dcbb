/**
 * Evaluating a parsed rule statement against one message or event. Evaluation never throws on data: a payload
 * that is not JSON, a missing key, a string where a number was expected all give null.
 * @module
 */

import type { Expr, Statement } from "./sql_parser.ts";
import { SqlError } from "./sql_lexer.ts";
import { FUNCTIONS, toNumber, type Value } from "./sql_functions.ts";

/** What a rule sees of a message or an event. */
export interface RuleInput {
  /** `message.publish` for messages, else `client.connected`, `client.disconnected`, `message.dropped`. */
  event: string;
  topic?: string;
  payload?: Uint8Array;
  clientid?: string;
  username?: string;
  qos?: number;
  retain?: boolean;
  /** Milliseconds since the epoch. */
  timestamp: number;
  peerhost?: string;
  reason?: string;
  /** The payload decoded once for every rule that reads it (set on first use). */
  decoded?: DecodedPayload;
}

/** A payload as text and as JSON, each worked out at most once. */
export class DecodedPayload {
  #payload: Uint8Array | undefined;
  #text: string | null | undefined;
  #json: Value | undefined;
  #parsed = false;

  constructor(payload: Uint8Array | undefined) {
    this.#payload = payload;
  }

  text(): string | null {
    if (this.#text === undefined) {
      this.#text = this.#payload === undefined ? null : decoder.decode(this.#payload);
    }
    return this.#text;
  }

  json(): Value {
    if (!this.#parsed) {
      this.#parsed = true;
      const t = this.text();
      try {
        this.#json = t === null ? null : JSON.parse(t) as Value;
      } catch {
        this.#json = null; // not JSON: payload.x is null
      }
    }
    return this.#json ?? null;
  }
}

/** Variables every statement may name (besides its own AS names). */
export const VARIABLES = new Set([
  "payload",
  "topic",
  "clientid",
  "username",
  "qos",
  "retain",
  "timestamp",
  "event",
  "peerhost",
  "reason",
]);

const decoder = new TextDecoder();

/** One evaluation: the input, its payload decoded at most once, and the fields selected so far. */
class Scope {
  readonly input: RuleInput;
  readonly fields: Record<string, Value>;
  readonly #payload: DecodedPayload;

  constructor(input: RuleInput, fields: Record<string, Value>) {
    this.input = input;
    this.fields = fields;
    this.#payload = input.decoded ??= new DecodedPayload(input.payload);
  }

  text(): string | null {
    return this.#payload.text();
  }

  json(): Value {
    return this.#payload.json();
  }

  variable(name: string): Value {
    if (Object.hasOwn(this.fields, name)) return this.fields[name]!;
    const i = this.input;
    switch (name) {
      case "payload":
        return this.text();
      case "topic":
        return i.topic ?? null;
      case "clientid":
        return i.clientid ?? null;
      case "username":
        return i.username ?? null;
      case "qos":
        return i.qos ?? null;
      case "retain":
        return i.retain ?? null;
      case "timestamp":
        return i.timestamp;
      case "event":
        return i.event;
      case "peerhost":
        return i.peerhost ?? null;
      case "reason":
        return i.reason ?? null;
    }
    return null;
  }
}

/**
 * Check what the parser cannot: every function exists and takes that many arguments, every variable is known.
 * Throws {@link SqlError}.
 */
export function checkStatement(statement: Statement): void {
  const aliases = new Set<string>();
  for (const f of statement.fields) if (f.kind === "expr") aliases.add(f.name.toLowerCase());
  const visit = (e: Expr): void => {
    switch (e.kind) {
      case "call": {
        const fn = FUNCTIONS[e.name];
        if (fn === undefined) throw new SqlError(`unknown function ${e.name}()`, e.line, e.column);
        if (e.args.length < fn.min || e.args.length > fn.max) {
          const range = fn.min === fn.max ? `${fn.min}` : `${fn.min} to ${fn.max}`;
          throw new SqlError(
            `${e.name}() takes ${range} arguments, received ${e.args.length}`,
            e.line,
            e.column,
          );
        }
        e.args.forEach(visit);
        return;
      }
      case "path":
        return;
      case "unary":
        return visit(e.arg);
      case "binary":
        visit(e.left);
        return visit(e.right);
      case "in":
        visit(e.arg);
        return e.list.forEach(visit);
      case "like":
        visit(e.arg);
        return visit(e.pattern);
      case "isNull":
        return visit(e.arg);
      case "literal":
        return;
    }
  };
  for (const f of statement.fields) if (f.kind === "expr") visit(f.expr);
  if (statement.where) visit(statement.where);
}

/** The fields a statement selects from `input`, or null when its WHERE does not hold. */
export function evaluate(statement: Statement, input: RuleInput): Record<string, Value> | null {
  const fields: Record<string, Value> = {};
  const scope = new Scope(input, fields);
  for (const f of statement.fields) {
    if (f.kind === "all") {
      for (const name of VARIABLES) {
        const v = scope.variable(name);
        if (v !== null) fields[name] = v;
      }
    } else {
      fields[f.name] = evalExpr(f.expr, scope);
    }
  }
  if (statement.where !== undefined && truthy(evalExpr(statement.where, scope)) !== true) return null;
  return fields;
}

function truthy(v: Value): boolean | null {
  if (v === null) return null;
  if (typeof v === "boolean") return v;
  if (typeof v === "number") return v !== 0;
  if (typeof v === "string") return v === "true" ? true : v === "false" ? false : v !== "";
  return true;
}

function evalExpr(e: Expr, scope: Scope): Value {
  switch (e.kind) {
    case "literal":
      return e.value;
    case "path": {
      let v: Value = e.root === "payload" && e.path.length > 0 ? scope.json() : scope.variable(e.root);
      for (const key of e.path) {
        if (v === null || typeof v !== "object") return null;
        v = Array.isArray(v)
          ? (typeof key === "number" ? v[key] ?? null : null)
          : Object.hasOwn(v, String(key))
          ? v[String(key)]!
          : null;
      }
      return v;
    }
    case "call":
      return call(e.name, e.args, scope);
    case "unary": {
      const v = evalExpr(e.arg, scope);
      if (e.op === "NOT") {
        const t = truthy(v);
        return t === null ? null : !t;
      }
      const n = toNumber(v);
      return n === null ? null : -n;
    }
    case "binary":
      return binary(e.op, e.left, e.right, scope);
    case "in": {
      const v = evalExpr(e.arg, scope);
      if (v === null) return null;
      const found = e.list.some((x) => equal(v, evalExpr(x, scope)));
      return e.negated ? !found : found;
    }
    case "like": {
      const v = evalExpr(e.arg, scope);
      const p = evalExpr(e.pattern, scope);
      if (typeof v !== "string" || typeof p !== "string") return null;
      const hit = likeRegExp(p).test(v);
      return e.negated ? !hit : hit;
    }
    case "isNull": {
      const isNull = evalExpr(e.arg, scope) === null;
      return e.negated ? !isNull : isNull;
    }
  }
}

function call(name: string, args: Expr[], scope: Scope): Value {
  if (name === "topic") {
    const topic = scope.input.topic ?? null;
    if (args.length === 0 || topic === null) return topic;
    // topic(1) is the first level.
    const n = toNumber(evalExpr(args[0]!, scope));
    if (n === null || !Number.isInteger(n) || n < 1) return null;
    return topic.split("/")[n - 1] ?? null;
  }
  if (name === "now_timestamp") return Date.now();
  return FUNCTIONS[name]!.call(args.map((a) => evalExpr(a, scope)));
}

function binary(op: string, l: Expr, r: Expr, scope: Scope): Value {
  if (op === "AND") {
    const a = truthy(evalExpr(l, scope));
    if (a === false) return false;
    const b = truthy(evalExpr(r, scope));
    return b === false ? false : a === null || b === null ? null : true;
  }
  if (op === "OR") {
    const a = truthy(evalExpr(l, scope));
    if (a === true) return true;
    const b = truthy(evalExpr(r, scope));
    return b === true ? true : a === null || b === null ? null : false;
  }
  const a = evalExpr(l, scope);
  const b = evalExpr(r, scope);
  if (op === "||") return a === null || b === null ? null : text(a) + text(b);
  if (op === "=" || op === "!=") {
    if (a === null || b === null) return null;
    return equal(a, b) === (op === "=");
  }
  if (op === "<" || op === "<=" || op === ">" || op === ">=") {
    const c = compare(a, b);
    if (c === null) return null;
    return op === "<" ? c < 0 : op === "<=" ? c <= 0 : op === ">" ? c > 0 : c >= 0;
  }
  const x = toNumber(a);
  const y = toNumber(b);
  if (x === null || y === null) return null;
  let out: number;
  switch (op) {
    case "+":
      out = x + y;
      break;
    case "-":
      out = x - y;
      break;
    case "*":
      out = x * y;
      break;
    case "/":
      out = x / y;
      break;
    default:
      out = x % y;
  }
  return Number.isFinite(out) ? out : null;
}

function text(v: Value): string {
  return typeof v === "string" ? v : typeof v === "object" ? JSON.stringify(v) : String(v);
}

/** Numbers (and numeric strings against numbers) compare as numbers, strings as strings. */
function compare(a: Value, b: Value): number | null {
  if (a === null || b === null) return null;
  if (typeof a === "string" && typeof b === "string") return a < b ? -1 : a > b ? 1 : 0;
  const x = toNumber(a);
  const y = toNumber(b);
  if (x === null || y === null) return null;
  return x - y;
}

function equal(a: Value, b: Value): boolean {
  if (typeof a === "object" || typeof b === "object") return JSON.stringify(a) === JSON.stringify(b);
  if (typeof a === typeof b) return a === b;
  const c = compare(a, b);
  return c === 0;
}

const likeCache = new Map<string, RegExp>();

/** SQL LIKE: `%` any run, `_` one character, everything else literal. */
function likeRegExp(pattern: string): RegExp {
  let re = likeCache.get(pattern);
  if (re === undefined) {
    let src = "^";
    for (const c of pattern) {
      src += c === "%" ? "[\\s\\S]*" : c === "_" ? "[\\s\\S]" : c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
    }
    re = new RegExp(`${src}$`, "u");
    if (likeCache.size > 1000) likeCache.clear();
    likeCache.set(pattern, re);
  }
  return re;
}
