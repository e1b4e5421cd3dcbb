/**
 * The slice of a synchronous SQLite binding that SqliteStorage uses, declared structurally: `bun:sqlite`'s
 * `Database` and `node:sqlite`'s `DatabaseSync` (Node, and Deno through its Node compatibility) both fit, so the
 * backend in src/ never imports either.
 * @module
 */

/** A value bound to a `?` parameter. Blobs go in as `Uint8Array`. */
export type SqliteValue = string | number | Uint8Array | null;

/** A prepared statement. Both bindings take positional parameters as arguments. */
export interface SqliteStatementLike {
  /** Run it for its effect (the result, changes and last row id, is not used). */
  run(...params: SqliteValue[]): unknown;
  /** Every row, as objects keyed by column name; BLOB columns come back as `Uint8Array`. */
  all(...params: SqliteValue[]): unknown[];
}

/** An open database. */
export interface SqliteLike {
  /** Run one or more statements without parameters (pragmas, DDL, BEGIN/COMMIT/ROLLBACK). */
  exec(sql: string): unknown;
  /** Compile a statement with `?` parameters. */
  prepare(sql: string): SqliteStatementLike;
  /** Close the database. */
  close(): unknown;
}
