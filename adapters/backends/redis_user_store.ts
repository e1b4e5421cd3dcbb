/**
 * Users and ACLs in Redis, in CoMQTT's layout: hash `comqtt:auth` (field = user name, value = JSON `{username,
 * password, allow}`) and one hash per user `comqtt:acl:<username>` (field = topic filter, value 0 deny, 1 read,
 * 2 write, 3 both). Through ioredis, which reconnects by itself; commands fail at once while it is
 * disconnected (no offline queue), so a down Redis gives the hook's onError answer instead of a wait.
 * @module
 */

import { Redis } from "ioredis";
import type { AclRule } from "../../src/hooks/auth/acl_rules.ts";
import type { StoredUser, UserStore } from "../../src/hooks/auth/backends/backend.ts";
import { rulesFromPairs, userFromRecord } from "./_rows.ts";

/** Options of {@link RedisUserStore}. */
export interface RedisUserStoreOptions {
  /** `redis://[user:password@]host:port/db`. */
  readonly url: string;
  /** Default `comqtt:auth`. */
  readonly authKey?: string;
  /** Default `comqtt:acl`. */
  readonly aclPrefix?: string;
  /** Milliseconds to wait for a connection. Default 5000. */
  readonly connectTimeout?: number;
}

/** The Redis side of the Redis backend. */
export class RedisUserStore implements UserStore {
  readonly kind = "redis";
  readonly #redis: Redis;
  readonly #authKey: string;
  readonly #aclPrefix: string;
  #opened: Promise<void> | undefined;
  #lastError: string | undefined;

  constructor(options: RedisUserStoreOptions) {
    this.#authKey = options.authKey ?? "comqtt:auth";
    this.#aclPrefix = options.aclPrefix ?? "comqtt:acl";
    this.#redis = new Redis(options.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: options.connectTimeout ?? 5000,
      // Keep trying for ever, at most every 2 s: the store must come back on its own.
      retryStrategy: (times: number) => Math.min(100 * times, 2000),
    });
    // Failures reach the hook through the commands; without a listener ioredis would print each one. The last
    // one is kept: ioredis' own rejections ("Connection is closed.") do not say why.
    this.#redis.on("error", (err: Error) => (this.#lastError = err.message));
    this.#redis.on("ready", () => (this.#lastError = undefined));
  }

  open(): Promise<void> {
    // ioredis goes on reconnecting in the background after a failed first connect.
    this.#opened ??= this.#redis.connect().catch((err: unknown) => {
      throw this.#explain(err);
    });
    return this.#opened;
  }

  async lookupUser(username: string): Promise<StoredUser | undefined> {
    const raw = await this.#command(() => this.#redis.hget(this.#authKey, username));
    if (raw === null || raw === "") return undefined;
    let record: unknown;
    try {
      record = JSON.parse(raw);
    } catch {
      throw new Error(`garbage user record in redis ${this.#authKey}[${JSON.stringify(username)}]: not JSON`);
    }
    if (typeof record !== "object" || record === null) {
      throw new Error(
        `garbage user record in redis ${this.#authKey}[${JSON.stringify(username)}]: not an object`,
      );
    }
    return userFromRecord(record as Record<string, unknown>, `redis ${this.#authKey}`);
  }

  async aclRows(username: string): Promise<AclRule[]> {
    const map = await this.#command(() => this.#redis.hgetall(`${this.#aclPrefix}:${username}`));
    return rulesFromPairs(Object.entries(map));
  }

  close(): Promise<void> {
    this.#redis.disconnect();
    return Promise.resolve();
  }

  /** A command; before the first connect has been asked for, ask for it (a failed open is retried in the background). */
  async #command<T>(run: () => Promise<T>): Promise<T> {
    if (this.#redis.status === "wait") await this.open();
    try {
      return await run();
    } catch (err) {
      throw this.#explain(err);
    }
  }

  /** Name the cause when ioredis only says it is not connected. */
  #explain(err: unknown): Error {
    const error = err instanceof Error ? err : new Error(String(err));
    if (this.#redis.status === "ready") return error;
    return new Error(`redis not connected (${this.#redis.status}): ${this.#lastError ?? error.message}`);
  }
}
