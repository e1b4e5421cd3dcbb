/**
 * Functions the rule SQL can call. Each takes evaluated arguments and never throws: a value of the wrong type
 * gives null. `topic(n)` is handled by the evaluator (it reads the message).
 * @module
 */

/** A value in the rule SQL: JSON values. */
export type Value = string | number | boolean | null | Value[] | { [k: string]: Value };

interface Fn {
  /** Fewest and most arguments. */
  min: number;
  max: number;
  call(args: Value[]): Value;
}

const str = (v: Value): string | null =>
  v === null ? null : typeof v === "string" ? v : typeof v === "object" ? JSON.stringify(v) : String(v);

/** A number from a number or a numeric string; null for anything else. */
export function toNumber(v: Value): number | null {
  if (typeof v === "number") return Number.isFinite(v) ? v : null;
  if (typeof v === "string" && v.trim() !== "") {
    const n = Number(v);
    return Number.isFinite(n) ? n : null;
  }
  if (typeof v === "boolean") return v ? 1 : 0;
  return null;
}

function onString(f: (s: string) => Value): Fn {
  return {
    min: 1,
    max: 1,
    call: ([v]) => {
      const s = str(v!);
      return s === null ? null : f(s);
    },
  };
}

function onNumber(f: (n: number) => number): Fn {
  return {
    min: 1,
    max: 1,
    call: ([v]) => {
      const n = toNumber(v!);
      if (n === null) return null;
      const r = f(n);
      return Number.isFinite(r) ? r : null;
    },
  };
}

/** Every function by lower-case name. */
export const FUNCTIONS: Readonly<Record<string, Fn>> = {
  lower: onString((s) => s.toLowerCase()),
  upper: onString((s) => s.toUpperCase()),
  trim: onString((s) => s.trim()),
  ltrim: onString((s) => s.trimStart()),
  rtrim: onString((s) => s.trimEnd()),
  length: onString((s) => [...s].length),
  strlen: onString((s) => [...s].length),
  str: onString((s) => s),
  concat: {
    min: 1,
    max: 32,
    call: (args) => {
      let out = "";
      for (const a of args) {
        const s = str(a);
        if (s === null) return null;
        out += s;
      }
      return out;
    },
  },
  /** substr(s, start[, length]), start counted from 0 as in EMQX. */
  substr: {
    min: 2,
    max: 3,
    call: ([s, start, len]) => {
      const text = str(s!);
      const from = toNumber(start!);
      if (text === null || from === null) return null;
      if (len === undefined) return text.slice(from);
      const n = toNumber(len);
      return n === null ? null : text.slice(from, from + n);
    },
  },
  replace: {
    min: 3,
    max: 3,
    call: ([s, a, b]) => {
      const [text, from, to] = [str(s!), str(a!), str(b!)];
      return text === null || from === null || to === null || from === "" ? null : text.split(from).join(to);
    },
  },
  split: {
    min: 2,
    max: 2,
    call: ([s, sep]) => {
      const [text, by] = [str(s!), str(sep!)];
      return text === null || by === null || by === "" ? null : text.split(by).filter((x) => x !== "");
    },
  },
  num: { min: 1, max: 1, call: ([v]) => toNumber(v!) },
  float: { min: 1, max: 1, call: ([v]) => toNumber(v!) },
  int: onNumber((n) => Math.trunc(n)),
  abs: onNumber(Math.abs),
  round: onNumber(Math.round),
  floor: onNumber(Math.floor),
  ceil: onNumber(Math.ceil),
  sqrt: onNumber(Math.sqrt),
  power: {
    min: 2,
    max: 2,
    call: ([a, b]) => {
      const [x, y] = [toNumber(a!), toNumber(b!)];
      if (x === null || y === null) return null;
      const r = x ** y;
      return Number.isFinite(r) ? r : null;
    },
  },
  is_null: { min: 1, max: 1, call: ([v]) => v === null },
  is_not_null: { min: 1, max: 1, call: ([v]) => v !== null },
  coalesce: { min: 1, max: 32, call: (args) => args.find((a) => a !== null) ?? null },
  json_encode: { min: 1, max: 1, call: ([v]) => JSON.stringify(v) },
  json_decode: {
    min: 1,
    max: 1,
    call: ([v]) => {
      if (typeof v !== "string") return null;
      try {
        return JSON.parse(v) as Value;
      } catch {
        return null;
      }
    },
  },
  // Evaluated by the evaluator, listed here for the arity check.
  topic: { min: 0, max: 1, call: () => null },
  now_timestamp: { min: 0, max: 0, call: () => null },
};
