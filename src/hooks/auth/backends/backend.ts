/**
 * The contract between the decision logic (caches, timeouts, onError, superusers, rule matching) and the
 * systems that hold users: an HTTP service, Redis, PostgreSQL, MySQL, JWT keys. A backend only asks; the
 * {@link BackendAuthHook} wraps it with everything else.
 * @module
 */

import type { Access } from "../../hook.ts";
import type { AclRule } from "../acl_rules.ts";

/** What a CONNECT asks a backend. */
export interface AuthRequest {
  /** Client id from CONNECT. */
  readonly clientId: string;
  /** User name from CONNECT, if any. */
  readonly username?: string;
  /** Password bytes from CONNECT, if any. */
  readonly password?: Uint8Array;
  /** The client's address (host and port as the listener reports it). */
  readonly peerhost: string;
  /** MQTT protocol version: 3, 4 or 5. */
  readonly protocol: number;
  /** Id of the listener the client came through. */
  readonly listener: string;
}

/** A backend's answer to a CONNECT. `ignore` is no opinion: the next auth in a chain decides. */
export interface AuthAnswer {
  /** `allow` or `deny` decides; `ignore` leaves it to the next auth. */
  readonly result: "allow" | "deny" | "ignore";
  /** Superusers bypass every ACL check. */
  readonly superuser?: boolean;
  /**
   * The client's ACL, when the backend gives it with the CONNECT answer: checks are then decided here with no
   * further call. Undefined leaves ACL checks to {@link AuthBackend.checkAcl}.
   */
  readonly acl?: readonly AclRule[];
  /** When the credentials stop being valid (ms since the epoch): the client is disconnected then. */
  readonly expiresAt?: number;
}

/** What an ACL check asks a backend. */
export interface AclRequest {
  /** Client id of the client being checked. */
  readonly clientId: string;
  /** Its user name, if any. */
  readonly username?: string;
  /** Topic name (publish) or filter (subscribe) being checked. */
  readonly topic: string;
  /** Whether the client wants to read (subscribe) or write (publish). */
  readonly access: Access;
}

/** One system that decides. Methods may reject: the hook turns that into the `onError` outcome. */
export interface AuthBackend {
  /** Short name for logs and metrics: `http`, `redis`, `postgres`, `mysql`, `jwt`. */
  readonly kind: string;
  /** Decide a CONNECT. `signal` aborts when the timeout passes. */
  authenticate(request: AuthRequest, signal: AbortSignal): Promise<AuthAnswer>;
  /**
   * Decide one ACL check; `ignore` is no opinion. Absent when the backend has ACLs only in its CONNECT answers
   * (or none).
   */
  checkAcl?(request: AclRequest, signal: AbortSignal): Promise<"allow" | "deny" | "ignore">;
  /**
   * Load the ACL rules of a connected client again (for rules given with the CONNECT answer), called in the
   * background once they are older than the cache ttl. Undefined keeps the rules held.
   */
  reloadAcl?(username: string | undefined, signal: AbortSignal): Promise<readonly AclRule[] | undefined>;
  /** Open connections ahead of the first client (optional; failures are logged, and clients retry it). */
  open?(): Promise<void>;
  /** Close connections. */
  close?(): Promise<void>;
}

/** A user record as Redis or SQL store it (CoMQTT's `{username, password, allow}` plus optional fields). */
export interface StoredUser {
  /** The encoded password (see password_formats.ts). */
  readonly password: string;
  /** False (CoMQTT `allow = 0`) refuses the user whatever the password. */
  readonly allow: boolean;
  /** True makes the user a superuser: every ACL check passes. */
  readonly superuser?: boolean;
  /** Salt of the salted `sha*` formats. */
  readonly salt?: string;
}

/**
 * The query port that Redis and SQL clients (outside `src/`) implement: two reads by user name. Either may
 * reject when the store is down; the hook handles it.
 */
export interface UserStore {
  /** The store's kind, for logs and metrics. */
  readonly kind: string;
  /** The user's record; undefined when there is no such user. */
  lookupUser(username: string): Promise<StoredUser | undefined>;
  /** The user's ACL rows (possibly none); undefined when the store has no ACL configured. */
  aclRows(username: string): Promise<AclRule[] | undefined>;
  /** Connect ahead of the first client (optional). */
  open?(): Promise<void>;
  /** Close connections. */
  close?(): Promise<void>;
}
