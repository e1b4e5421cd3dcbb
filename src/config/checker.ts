/**
 * Small validators that collect problems instead of throwing, so one run reports everything wrong in a file.
 * Each check returns the typed value, or undefined after recording why the value was refused.
 * @module
 */

import { ConfigError } from "./config_error.ts";
import type { ConfigProblem } from "./config_error.ts";
import type { KeyPath } from "./yaml_source.ts";

/** Collects {@link ConfigProblem}s for one source. */
export class Checker {
  readonly #source: string;
  readonly #lineOf: (path: KeyPath) => number | undefined;
  readonly #problems: ConfigProblem[] = [];

  /** `lineOf` maps a key path to its line (from {@link readYaml}); omit it for data that came from code. */
  constructor(source: string, lineOf?: (path: KeyPath) => number | undefined) {
    this.#source = source;
    this.#lineOf = lineOf ?? (() => undefined);
  }

  /** Problems recorded so far. */
  get problems(): readonly ConfigProblem[] {
    return this.#problems;
  }

  /** Record a problem at `path`. */
  problem(path: KeyPath, message: string): void {
    this.#problems.push({ source: this.#source, line: this.#lineOf(path), path: formatPath(path), message });
  }

  /** Add problems found elsewhere (YAML syntax errors). */
  addAll(problems: readonly ConfigProblem[]): void {
    this.#problems.push(...problems);
  }

  /** Throw a {@link ConfigError} listing every problem, if there is any. */
  throwIfAny(): void {
    if (this.#problems.length === 0) return;
    // Document order reads best; problems without a line (whole-document ones) go last. The sort is stable.
    const sorted = [...this.#problems].sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity));
    throw new ConfigError(sorted);
  }

  /**
   * A mapping whose keys are all in `allowed` (any key when `allowed` is omitted).
   * `null` (a key written with no value) is taken as an empty mapping.
   */
  mapping(value: unknown, path: KeyPath, allowed?: readonly string[]): Record<string, unknown> | undefined {
    if (value === null) return {};
    if (!isPlainObject(value)) {
      this.problem(path, `expected a mapping, received ${describe(value)}`);
      return undefined;
    }
    if (allowed) {
      for (const key of Object.keys(value)) {
        if (!allowed.includes(key)) this.problem([...path, key], unknownKey(key, allowed));
      }
    }
    return value;
  }

  /** A list; `null` is taken as an empty list. */
  list(value: unknown, path: KeyPath): unknown[] | undefined {
    if (value === null) return [];
    if (!Array.isArray(value)) {
      this.problem(path, `expected a list, received ${describe(value)}`);
      return undefined;
    }
    return value;
  }

  /** A non-empty string. */
  string(value: unknown, path: KeyPath): string | undefined {
    if (typeof value !== "string" || value === "") {
      this.problem(path, `expected a non-empty string, received ${describe(value)}`);
      return undefined;
    }
    return value;
  }

  /** `true` or `false`. */
  boolean(value: unknown, path: KeyPath): boolean | undefined {
    if (typeof value !== "boolean") {
      this.problem(path, `expected true or false, received ${describe(value)}`);
      return undefined;
    }
    return value;
  }

  /** A whole number within `min`..`max`. */
  wholeNumber(value: unknown, path: KeyPath, min: number, max: number): number | undefined {
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
      this.problem(path, `expected a whole number from ${min} to ${max}, received ${describe(value)}`);
      return undefined;
    }
    return value;
  }

  /** One of a few strings. */
  oneOf<T extends string>(value: unknown, path: KeyPath, choices: readonly T[]): T | undefined {
    if (typeof value !== "string" || !(choices as readonly string[]).includes(value)) {
      this.problem(path, `expected one of ${choices.join(", ")}, received ${describe(value)}`);
      return undefined;
    }
    return value as T;
  }
}

/** `limits.maxInflight`, `listeners[1].address`, `users["bob smith"].password`. */
export function formatPath(path: KeyPath): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(segment)) out += out === "" ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** How a received value is shown in a message: strings quoted, containers named. */
export function describe(value: unknown): string {
  if (value === null || value === undefined) return "nothing";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string") return JSON.stringify(value);
  return String(value);
}

/** True for `{...}` data (not arrays, not null). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function unknownKey(key: string, allowed: readonly string[]): string {
  // Allow about one typo per three characters, so "maxInflite" finds "maxInflight" but "foo" finds nothing.
  const budget = Math.max(1, Math.floor(key.length / 3));
  const near = allowed.find((a) => a.toLowerCase() === key.toLowerCase() || editDistance(a, key) <= budget);
  return near === undefined
    ? `unknown key; expected one of ${allowed.join(", ")}`
    : `unknown key (did you mean "${near}"?)`;
}

/** Levenshtein distance, for "did you mean" hints on short keys. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost);
    }
    previous = current;
  }
  return previous[b.length];
}
