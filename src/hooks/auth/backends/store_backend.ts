/**
 * The Redis and SQL backends' decision logic over a {@link UserStore} query port: look the user up, check the
 * password in the configured format, and hand the user's ACL rows over with the answer so that every later
 * check is decided in memory.
 * @module
 */

import type { AclRule } from "../acl_rules.ts";
import type { AuthAnswer, AuthBackend, AuthRequest, UserStore } from "./backend.ts";
import { checkPassword } from "./password_formats.ts";
import type { PasswordCheck } from "./password_formats.ts";

/** Options of {@link StoreBackend}. */
export interface StoreBackendOptions {
  /** How stored passwords are encoded. */
  readonly password: PasswordCheck;
  /**
   * What a client without a user name, or a user the store does not know, gets: `deny` (default, as CoMQTT) or
   * `ignore` (no opinion: the next auth in a chain decides).
   */
  readonly unknownUser?: "deny" | "ignore";
}

/** Users and ACL rows from Redis or SQL; see the module notes. */
export class StoreBackend implements AuthBackend {
  readonly kind: string;
  /** The store users and ACL rows are read from. */
  readonly store: UserStore;
  readonly #options: StoreBackendOptions;

  /** A backend reading `store`, checking passwords as `options.password` says. */
  constructor(store: UserStore, options: StoreBackendOptions) {
    this.store = store;
    this.kind = store.kind;
    this.#options = options;
  }

  async open(): Promise<void> {
    await this.store.open?.();
  }

  async close(): Promise<void> {
    await this.store.close?.();
  }

  async authenticate(request: AuthRequest, _signal: AbortSignal): Promise<AuthAnswer> {
    const unknown: AuthAnswer = { result: this.#options.unknownUser ?? "deny" };
    if (request.username === undefined) return unknown;
    const user = await this.store.lookupUser(request.username);
    if (user === undefined) return unknown;
    if (!user.allow || request.password === undefined) return { result: "deny" };
    if (!(await checkPassword(this.#options.password, request.password, user.password, user.salt))) {
      return { result: "deny" };
    }
    if (user.superuser) return { result: "allow", superuser: true };
    const acl = await this.store.aclRows(request.username);
    return acl === undefined ? { result: "allow" } : { result: "allow", acl };
  }

  async reloadAcl(
    username: string | undefined,
    _signal: AbortSignal,
  ): Promise<readonly AclRule[] | undefined> {
    if (username === undefined) return undefined;
    return await this.store.aclRows(username);
  }
}
