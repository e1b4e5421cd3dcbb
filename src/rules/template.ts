/**
 * `${field}` templates of rule actions: `alerts/${clientid}`, `{"t": ${t}}`, `${payload.a.b}`.
 * @module
 */

import type { Value } from "./sql_functions.ts";

/** A template split once into literal text and field references. */
export interface Template {
  /** Literal parts; `parts[i]` comes before `refs[i]`, and there is one more part than refs. */
  parts: string[];
  refs: string[][];
}

/** Split `text`; throws a TypeError naming the position of an unclosed or empty `${`. */
export function parseTemplate(text: string): Template {
  const parts: string[] = [];
  const refs: string[][] = [];
  let at = 0;
  for (;;) {
    const open = text.indexOf("${", at);
    if (open < 0) break;
    const close = text.indexOf("}", open);
    if (close < 0) throw new TypeError(`unclosed "\${" at character ${open + 1} of ${JSON.stringify(text)}`);
    const name = text.slice(open + 2, close).trim();
    if (name === "" || name.split(".").some((k) => k === "")) {
      throw new TypeError(`empty field name at character ${open + 1} of ${JSON.stringify(text)}`);
    }
    parts.push(text.slice(at, open));
    refs.push(name.split("."));
    at = close + 1;
  }
  parts.push(text.slice(at));
  return { parts, refs };
}

/**
 * Fill a template from the selected fields: a field named with dots (`payload.a`) is looked up whole first, then
 * as a path. Strings go in as they are, other values as JSON; a missing field as `null`.
 */
export function renderTemplate(t: Template, fields: Record<string, Value>): string {
  if (t.refs.length === 0) return t.parts[0]!;
  let out = t.parts[0]!;
  for (let i = 0; i < t.refs.length; i++) {
    out += show(lookup(t.refs[i]!, fields)) + t.parts[i + 1]!;
  }
  return out;
}

function lookup(path: string[], fields: Record<string, Value>): Value | undefined {
  const whole = path.join(".");
  if (Object.hasOwn(fields, whole)) return fields[whole];
  let v: Value | undefined = fields;
  for (const key of path) {
    if (v === null || v === undefined || typeof v !== "object" || Array.isArray(v)) {
      // A JSON payload selected as text: look inside it.
      if (typeof v === "string") {
        try {
          v = JSON.parse(v) as Value;
        } catch {
          return undefined;
        }
        if (v === null || typeof v !== "object" || Array.isArray(v)) return undefined;
      } else {
        return undefined;
      }
    }
    v = Object.hasOwn(v, key) ? (v as Record<string, Value>)[key] : undefined;
  }
  return v;
}

function show(v: Value | undefined): string {
  if (v === undefined || v === null) return "null";
  return typeof v === "string" ? v : JSON.stringify(v);
}
