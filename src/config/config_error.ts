/**
 * The error thrown for an invalid config or users file: it lists every problem found, not only the first.
 * @module
 */

/** One problem in a config source, located by key path and (when known) line. */
export interface ConfigProblem {
  /** Name of the file or other source, e.g. `config.yaml`. */
  readonly source: string;
  /** 1-based line, when the problem comes from YAML text. */
  readonly line?: number;
  /** Key path such as `limits.maxInflight` or `listeners[1].address`; empty for the whole document. */
  readonly path: string;
  /** What is wrong, e.g. `expected a whole number from 1 to 65535, received "ten"`. */
  readonly message: string;
}

/** Format one problem as `source:line: path: message`. */
export function formatProblem(problem: ConfigProblem): string {
  const where = problem.line === undefined ? problem.source : `${problem.source}:${problem.line}`;
  return problem.path === ""
    ? `${where}: ${problem.message}`
    : `${where}: ${problem.path}: ${problem.message}`;
}

/**
 * Thrown by `parseConfig` and the file auth hook when their input is invalid.
 * `message` holds one problem per line, so printing it is enough for a user to fix the file.
 */
export class ConfigError extends Error {
  /** Every problem found, in document order. */
  readonly problems: readonly ConfigProblem[];

  /** `action` completes the first line "Cannot ...": default `load <source of the first problem>`. */
  constructor(problems: readonly ConfigProblem[], action?: string) {
    const count = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
    const what = action ?? `load ${problems[0]?.source ?? "config"}`;
    super(`Cannot ${what}: ${count}\n${problems.map(formatProblem).join("\n")}`);
    this.name = "ConfigError";
    this.problems = problems;
  }
}
