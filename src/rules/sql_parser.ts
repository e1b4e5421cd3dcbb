/**
 * A recursive-descent parser for the rule SQL subset:
 *
 * ```
 * statement  = SELECT fields FROM source { "," source } [ WHERE expr ] [ ";" ]
 * fields     = "*" | field { "," field }          field = expr [ AS word ] | "*"
 * source     = string                             (a topic filter, or "$events/<event>")
 * expr       = or;  or = and { OR and };  and = not { AND not };  not = NOT not | comparison
 * comparison = sum [ ( "=" | "!=" | "<>" | "<" | "<=" | ">" | ">=" ) sum
 *                  | [ NOT ] IN "(" expr { "," expr } ")" | [ NOT ] LIKE sum | IS [ NOT ] NULL ]
 * sum        = product { ( "+" | "-" | "||" ) product };  product = unary { ( "*" | "/" | "%" ) unary }
 * unary      = "-" unary | primary
 * primary    = number | string | TRUE | FALSE | NULL | word "(" [ expr { "," expr } ] ")"
 *            | word { "." word | "[" number "]" } | "(" expr ")"
 * ```
 * Keywords are case-insensitive. Errors carry the line and column of the token at fault.
 * @module
 */

import { SqlError, type Token, tokenize } from "./sql_lexer.ts";

/** An expression node. */
export type Expr =
  | { kind: "literal"; value: string | number | boolean | null }
  /** `payload.a.b[0]`: a variable and a path of keys and indexes into it. */
  | { kind: "path"; root: string; path: (string | number)[] }
  | { kind: "call"; name: string; args: Expr[]; line: number; column: number }
  | { kind: "unary"; op: "-" | "NOT"; arg: Expr }
  | { kind: "binary"; op: string; left: Expr; right: Expr }
  | { kind: "in"; arg: Expr; list: Expr[]; negated: boolean }
  | { kind: "like"; arg: Expr; pattern: Expr; negated: boolean }
  | { kind: "isNull"; arg: Expr; negated: boolean };

/** One selected field: `expr AS name`, or `*`. */
export type Field = { kind: "all" } | { kind: "expr"; expr: Expr; name: string };

/** A parsed statement. */
export interface Statement {
  fields: Field[];
  /** Topic filters and `$events/...` names, as written. */
  sources: string[];
  /** Where each source is in the statement, for errors found later (a bad filter, an unknown event). */
  sourceAt: Array<{ line: number; column: number }>;
  where?: Expr;
}

const KEYWORDS = new Set([
  "SELECT",
  "FROM",
  "WHERE",
  "AS",
  "AND",
  "OR",
  "NOT",
  "IN",
  "LIKE",
  "IS",
  "NULL",
  "TRUE",
  "FALSE",
]);
const COMPARISONS = new Set(["=", "==", "!=", "<>", "<", "<=", ">", ">="]);

/** Parse a statement; throws {@link SqlError} (line, column, what was expected) when it is malformed. */
export function parseSql(sql: string): Statement {
  return new Parser(tokenize(sql)).statement();
}

class Parser {
  #t: Token[];
  #i = 0;

  constructor(tokens: Token[]) {
    this.#t = tokens;
  }

  statement(): Statement {
    this.#keyword("SELECT");
    const fields: Field[] = [];
    do fields.push(this.#field()); while (this.#op(","));
    this.#keyword("FROM");
    const sources: string[] = [];
    const sourceAt: Array<{ line: number; column: number }> = [];
    do {
      const at = this.#peek();
      sources.push(this.#source());
      sourceAt.push({ line: at.line, column: at.column });
    } while (this.#op(","));
    let where: Expr | undefined;
    if (this.#isKeyword("WHERE")) {
      this.#i++;
      where = this.#expr();
    }
    this.#op(";");
    const end = this.#peek();
    if (end.kind !== "eof") this.#fail(end, "the end of the statement");
    return where === undefined ? { fields, sources, sourceAt } : { fields, sources, sourceAt, where };
  }

  #field(): Field {
    if (this.#op("*")) return { kind: "all" };
    const start = this.#peek();
    const expr = this.#expr();
    if (this.#isKeyword("AS")) {
      this.#i++;
      const name = this.#next();
      if (name.kind !== "word" && !(name.kind === "string" && name.text !== "")) {
        this.#fail(name, "a field name after AS");
      }
      return { kind: "expr", expr, name: name.text };
    }
    // Without AS, a path is named by its last key (payload.temp -> temp); anything else needs AS.
    if (expr.kind === "path") {
      const last = expr.path.length > 0 ? expr.path[expr.path.length - 1] : expr.root;
      return { kind: "expr", expr, name: String(last) };
    }
    if (expr.kind === "call") return { kind: "expr", expr, name: expr.name };
    this.#fail(start, "AS and a name for this computed field");
  }

  #source(): string {
    const t = this.#next();
    if (t.kind !== "string" || t.text === "") {
      this.#fail(t, 'a quoted topic filter or event, e.g. "sensors/#"');
    }
    return t.text;
  }

  #expr(): Expr {
    let left = this.#and();
    while (this.#isKeyword("OR")) {
      this.#i++;
      left = { kind: "binary", op: "OR", left, right: this.#and() };
    }
    return left;
  }

  #and(): Expr {
    let left = this.#not();
    while (this.#isKeyword("AND")) {
      this.#i++;
      left = { kind: "binary", op: "AND", left, right: this.#not() };
    }
    return left;
  }

  #not(): Expr {
    if (this.#isKeyword("NOT")) {
      this.#i++;
      return { kind: "unary", op: "NOT", arg: this.#not() };
    }
    return this.#comparison();
  }

  #comparison(): Expr {
    const left = this.#sum();
    const t = this.#peek();
    if (t.kind === "op" && COMPARISONS.has(t.text)) {
      this.#i++;
      const op = t.text === "==" ? "=" : t.text === "<>" ? "!=" : t.text;
      return { kind: "binary", op, left, right: this.#sum() };
    }
    let negated = false;
    if (this.#isKeyword("NOT") && (this.#isKeyword("IN", 1) || this.#isKeyword("LIKE", 1))) {
      this.#i++;
      negated = true;
    }
    if (this.#isKeyword("IN")) {
      this.#i++;
      this.#expectOp("(");
      const list: Expr[] = [];
      do list.push(this.#sum()); while (this.#op(","));
      this.#expectOp(")");
      return { kind: "in", arg: left, list, negated };
    }
    if (this.#isKeyword("LIKE")) {
      this.#i++;
      return { kind: "like", arg: left, pattern: this.#sum(), negated };
    }
    if (this.#isKeyword("IS")) {
      this.#i++;
      const not = this.#isKeyword("NOT");
      if (not) this.#i++;
      this.#keyword("NULL");
      return { kind: "isNull", arg: left, negated: not };
    }
    return left;
  }

  #sum(): Expr {
    let left = this.#product();
    for (;;) {
      const t = this.#peek();
      if (t.kind !== "op" || (t.text !== "+" && t.text !== "-" && t.text !== "||")) return left;
      this.#i++;
      left = { kind: "binary", op: t.text, left, right: this.#product() };
    }
  }

  #product(): Expr {
    let left = this.#unary();
    for (;;) {
      const t = this.#peek();
      if (t.kind !== "op" || (t.text !== "*" && t.text !== "/" && t.text !== "%")) return left;
      this.#i++;
      left = { kind: "binary", op: t.text, left, right: this.#unary() };
    }
  }

  #unary(): Expr {
    if (this.#op("-")) return { kind: "unary", op: "-", arg: this.#unary() };
    return this.#primary();
  }

  #primary(): Expr {
    const t = this.#next();
    if (t.kind === "number") return { kind: "literal", value: Number(t.text) };
    if (t.kind === "string") return { kind: "literal", value: t.text };
    if (t.kind === "op" && t.text === "(") {
      const e = this.#expr();
      this.#expectOp(")");
      return e;
    }
    if (t.kind !== "word") this.#fail(t, "a value, a field or a function");
    const upper = t.text.toUpperCase();
    if (upper === "NULL") return { kind: "literal", value: null };
    if (upper === "TRUE") return { kind: "literal", value: true };
    if (upper === "FALSE") return { kind: "literal", value: false };
    if (KEYWORDS.has(upper)) this.#fail(t, "a value, a field or a function");
    if (this.#op("(")) {
      const args: Expr[] = [];
      if (!this.#op(")")) {
        do args.push(this.#expr()); while (this.#op(","));
        this.#expectOp(")");
      }
      return { kind: "call", name: t.text.toLowerCase(), args, line: t.line, column: t.column };
    }
    const path: (string | number)[] = [];
    for (;;) {
      if (this.#op(".")) {
        const key = this.#next();
        if (key.kind !== "word" && key.kind !== "string") this.#fail(key, 'a key after "."');
        path.push(key.text);
      } else if (this.#op("[")) {
        const index = this.#next();
        if (index.kind !== "number" || !/^\d+$/.test(index.text)) {
          this.#fail(index, "an index (a whole number)");
        }
        path.push(Number(index.text));
        this.#expectOp("]");
      } else {
        return { kind: "path", root: t.text.toLowerCase(), path };
      }
    }
  }

  #peek(offset = 0): Token {
    return this.#t[Math.min(this.#i + offset, this.#t.length - 1)]!;
  }

  #next(): Token {
    const t = this.#peek();
    if (this.#i < this.#t.length - 1) this.#i++;
    return t;
  }

  #isKeyword(word: string, offset = 0): boolean {
    const t = this.#peek(offset);
    return t.kind === "word" && t.text.toUpperCase() === word;
  }

  #keyword(word: string): void {
    if (!this.#isKeyword(word)) this.#fail(this.#peek(), word);
    this.#i++;
  }

  #op(op: string): boolean {
    const t = this.#peek();
    if (t.kind === "op" && t.text === op) {
      this.#i++;
      return true;
    }
    return false;
  }

  #expectOp(op: string): void {
    if (!this.#op(op)) this.#fail(this.#peek(), `"${op}"`);
  }

  #fail(t: Token, expected: string): never {
    const found = t.kind === "eof"
      ? "the end of the statement"
      : t.kind === "string"
      ? `string ${t.quote}${t.text}${t.quote}`
      : JSON.stringify(t.text);
    throw new SqlError(`expected ${expected}, found ${found}`, t.line, t.column);
  }
}
