/**
 * Users and ACLs in PostgreSQL (pg) or MySQL/MariaDB (mysql2), through two parameterised queries (never SQL
 * built from client input). Both clients pool connections and open new ones after a server restart, so the store
 * recovers by itself.
 * @module
 */

import pg from "pg";
import mysql from "mysql2/promise";
import type { AclRule } from "../../src/hooks/auth/acl_rules.ts";
import type { StoredUser, UserStore } from "../../src/hooks/auth/backends/backend.ts";
import { rulesFromPairs, userFromRecord } from "./_rows.ts";

/** Options of {@link SqlUserStore}. */
export interface SqlUserStoreOptions {
  readonly kind: "postgres" | "mysql";
  readonly url: string;
  /** One row with `password` (and optionally `allow`, `salt`, `superuser`) for the user name parameter. */
  readonly authQuery: string;
  /** Rows with `topic` and `access` for the user name parameter; undefined: no ACL from this store. */
  readonly aclQuery?: string;
  /** Milliseconds to wait for a connection. Default 5000. */
  readonly connectTimeout?: number;
  /** Most pooled connections. Default 10. */
  readonly poolSize?: number;
}

type Query = (sql: string, username: string) => Promise<Record<string, unknown>[]>;

/** The SQL side of the postgres and mysql backends. */
export class SqlUserStore implements UserStore {
  readonly kind: "postgres" | "mysql";
  readonly #options: SqlUserStoreOptions;
  readonly #query: Query;
  readonly #end: () => Promise<void>;

  constructor(options: SqlUserStoreOptions) {
    this.kind = options.kind;
    this.#options = options;
    const timeout = options.connectTimeout ?? 5000;
    const size = options.poolSize ?? 10;
    if (options.kind === "postgres") {
      const pool = new pg.Pool({
        connectionString: options.url,
        max: size,
        connectionTimeoutMillis: timeout,
        // The hook gives up after its timeout; these free the pooled connection at the same time.
        query_timeout: timeout,
        statement_timeout: timeout,
        idleTimeoutMillis: 30_000,
      });
      // An idle connection that dies (server restart) is reported here; the pool drops it and opens another.
      pool.on("error", () => {});
      this.#query = async (sql, username) => (await pool.query(sql, [username])).rows;
      this.#end = () => pool.end();
    } else {
      const pool = mysql.createPool({
        uri: options.url,
        connectionLimit: size,
        connectTimeout: timeout,
        enableKeepAlive: true,
      });
      this.#query = async (sql, username) => {
        // execute(): a server-side prepared statement, so the user name never enters the SQL text.
        const [rows] = await pool.execute({ sql, timeout }, [username]);
        return rows as Record<string, unknown>[];
      };
      this.#end = () => pool.end();
    }
  }

  async open(): Promise<void> {
    await this.#query(this.#options.authQuery, "");
  }

  async lookupUser(username: string): Promise<StoredUser | undefined> {
    const rows = await this.#query(this.#options.authQuery, username);
    if (rows.length === 0) return undefined;
    return userFromRecord(rows[0]!, `${this.kind} authQuery`);
  }

  async aclRows(username: string): Promise<AclRule[] | undefined> {
    if (this.#options.aclQuery === undefined) return undefined;
    const rows = await this.#query(this.#options.aclQuery, username);
    return rulesFromPairs(rows.map((r) => [r.topic, r.access] as [unknown, unknown]));
  }

  async close(): Promise<void> {
    await this.#end();
  }
}
