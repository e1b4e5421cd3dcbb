/**
 * A small structured logger, injected everywhere. The library default is silent.
 * @module
 */

/** Log levels, quietest last. */
export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

/** Fields attached to a log line. Never put a payload above debug or a password anywhere. */
export type LogFields = Record<string, unknown>;

/** What the broker logs through. */
export interface Logger {
  /** Write a line at `debug` level: detail for troubleshooting. */
  debug(message: string, fields?: LogFields): void;
  /** Write a line at `info` level: normal operation. */
  info(message: string, fields?: LogFields): void;
  /** Write a line at `warn` level: something went wrong and the broker carries on. */
  warn(message: string, fields?: LogFields): void;
  /** Write a line at `error` level: a failure an operator should look at. */
  error(message: string, fields?: LogFields): void;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Lowest level written. Default `info`. */
  level?: LogLevel;
  /** Where a formatted line goes (the CLI passes console output). */
  write: (line: string) => void;
  /** `json` (one object a line) or `text` (`time level message key=value`). Default `text`. */
  format?: "json" | "text";
  /** Clock for timestamps. */
  now?: () => number;
}

/** A logger that drops everything: the library default. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};

/** Build a logger that formats lines and hands them to `write`. */
export function createLogger(options: LoggerOptions): Logger {
  const min = RANK[options.level ?? "info"];
  const now = options.now ?? (() => Date.now());
  const json = options.format === "json";
  function emit(level: LogLevel, message: string, fields?: LogFields): void {
    if (RANK[level] < min) return;
    const time = new Date(now()).toISOString();
    if (json) {
      options.write(JSON.stringify({ time, level, msg: message, ...fields }));
      return;
    }
    let line = `${time} ${level.toUpperCase().padEnd(5)} ${message}`;
    if (fields) {
      for (const [k, v] of Object.entries(fields)) {
        if (v === undefined) continue;
        line += ` ${k}=${typeof v === "string" ? (/[\s"=]/.test(v) ? JSON.stringify(v) : v) : safeJson(v)}`;
      }
    }
    options.write(line);
  }
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
  };
}

function safeJson(v: unknown): string {
  if (v instanceof Error) return JSON.stringify(v.message);
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
