/**
 * The tokenizer of the rule SQL: words, numbers, quoted strings, operators, each with its line and column.
 * @module
 */

/** Kinds of token. */
export type TokenKind = "word" | "number" | "string" | "op" | "eof";

/** One token; `line` and `column` are 1-based and point at its first character. */
export interface Token {
  kind: TokenKind;
  /** The word as written, the number's text, the string's value (unquoted), or the operator. */
  text: string;
  /** For strings: which quote enclosed it. */
  quote?: "'" | '"';
  line: number;
  column: number;
}

/** A syntax error with its position in the statement. */
export class SqlError extends Error {
  readonly line: number;
  readonly column: number;
  constructor(message: string, line: number, column: number) {
    super(`line ${line}, column ${column}: ${message}`);
    this.name = "SqlError";
    this.line = line;
    this.column = column;
  }
}

const OPERATORS = [
  "<=",
  ">=",
  "<>",
  "!=",
  "==",
  "||",
  "=",
  "<",
  ">",
  "+",
  "-",
  "*",
  "/",
  "%",
  "(",
  ")",
  ",",
  ".",
  "[",
  "]",
  ";",
];

function isWordStart(c: string): boolean {
  return (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c === "_" || c === "$";
}

function isWordPart(c: string): boolean {
  return isWordStart(c) || (c >= "0" && c <= "9");
}

function isDigit(c: string): boolean {
  return c >= "0" && c <= "9";
}

/** Split `sql` into tokens, ending with an `eof` token. Throws {@link SqlError} on a character it cannot read. */
export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const at = (): { line: number; column: number } => ({ line, column: i - lineStart + 1 });
  let end = { line: 1, column: 1 };
  const push = (t: Token): void => {
    tokens.push(t);
    end = at();
  };
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === "\n") {
      i++;
      line++;
      lineStart = i;
      continue;
    }
    if (c === " " || c === "\t" || c === "\r") {
      i++;
      continue;
    }
    if (c === "-" && sql[i + 1] === "-") {
      // A comment to the end of the line.
      while (i < sql.length && sql[i] !== "\n") i++;
      continue;
    }
    const pos = at();
    if (isWordStart(c)) {
      const start = i;
      while (i < sql.length && isWordPart(sql[i]!)) i++;
      push({ kind: "word", text: sql.slice(start, i), ...pos });
      continue;
    }
    if (isDigit(c)) {
      const start = i;
      while (i < sql.length && isDigit(sql[i]!)) i++;
      if (sql[i] === "." && isDigit(sql[i + 1] ?? "")) {
        i++;
        while (i < sql.length && isDigit(sql[i]!)) i++;
      }
      if ((sql[i] === "e" || sql[i] === "E") && /[0-9+-]/.test(sql[i + 1] ?? "")) {
        i += 2;
        while (i < sql.length && isDigit(sql[i]!)) i++;
      }
      if (i < sql.length && isWordStart(sql[i]!)) {
        throw new SqlError(
          `unexpected ${JSON.stringify(sql[i])} after number ${sql.slice(start, i)}`,
          line,
          i - lineStart + 1,
        );
      }
      push({ kind: "number", text: sql.slice(start, i), ...pos });
      continue;
    }
    if (c === "'" || c === '"') {
      let value = "";
      i++;
      for (;;) {
        if (i >= sql.length) {
          throw new SqlError(`unterminated string: missing closing ${c}`, pos.line, pos.column);
        }
        const d = sql[i]!;
        if (d === c) {
          // A doubled quote stands for one quote, as in SQL.
          if (sql[i + 1] === c) {
            value += c;
            i += 2;
            continue;
          }
          i++;
          break;
        }
        if (d === "\\" && i + 1 < sql.length) {
          const e = sql[i + 1]!;
          value += e === "n" ? "\n" : e === "t" ? "\t" : e;
          i += 2;
          continue;
        }
        if (d === "\n") {
          line++;
          lineStart = i + 1;
        }
        value += d;
        i++;
      }
      push({ kind: "string", text: value, quote: c, ...pos });
      continue;
    }
    const op = OPERATORS.find((o) => sql.startsWith(o, i));
    if (op === undefined) {
      throw new SqlError(`unexpected character ${JSON.stringify(c)}`, pos.line, pos.column);
    }
    i += op.length;
    push({ kind: "op", text: op, ...pos });
  }
  // "Found the end" points just past the last token, not at trailing blank lines.
  tokens.push({ kind: "eof", text: "", ...end });
  return tokens;
}
