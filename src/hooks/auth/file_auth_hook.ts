/**
 * Users with hashed passwords and ACL rules, from a YAML file (or the same data built in code).
 * @module
 */

import type { Access, ClientInfo, Hook, Verdict } from "../hook.ts";
import type { ConnectPacket } from "../../packets/types.ts";
import { Checker } from "../../config/checker.ts";
import { readYaml } from "../../config/yaml_source.ts";
import { checkRules } from "./acl_rules.ts";
import type { AclRule } from "./acl_rules.ts";
import { aclFilter } from "./acl_topic.ts";
import { parseAuthFile } from "./auth_file.ts";
import type { AuthFile, AuthFileInput } from "./auth_file.ts";
import { DEFAULT_ITERATIONS, verifyPassword } from "./password.ts";
import { VerifyCache } from "./verify_cache.ts";
import { VerifyGate } from "./verify_gate.ts";
import { MqttError } from "../../errors.ts";
import { RC } from "../../packets/reason_codes.ts";

/** Options of {@link FileAuthHook}. */
export interface FileAuthHookOptions {
  /** Hook id for logs. Default `file-auth`. */
  id?: string;
  /** Name of the file, for error messages. Default `users file`. */
  source?: string;
  /** Seconds a successful password check is remembered (see {@link VerifyCache}); 0 turns it off. Default 300. */
  cacheSeconds?: number;
  /** Time source in milliseconds, for tests. */
  now?: () => number;
  /**
   * What a user name not in the file (or a client without one, when `anonymous` is off) gets: `deny` (default) or
   * `ignore`, no opinion, so that the next auth of a chain decides.
   */
  unknownUser?: "deny" | "ignore";
  /** Password hashes computed at once (the rest queue, see {@link VerifyGate}). Default 2. */
  maxConcurrentChecks?: number;
}

// A well-formed hash that matches no password: unknown users are checked against it so that a login for a user
// who does not exist takes as long as one with a wrong password (no user-name probing by timing).
const DUMMY_HASH = `$pbkdf2-sha256$i=${DEFAULT_ITERATIONS}$${"A".repeat(22)}$${"A".repeat(43)}`;

/**
 * Authenticates users against encoded password hashes and checks topics against ACL rules.
 *
 * - `onAuthenticate`: a client with no user name is allowed only when `anonymous: true`. A user name that is not
 *   in the file, a missing password or a wrong one gives `"deny"`.
 * - `onAclCheck`: rules are tried in the order user → client → global and the first that applies decides
 *   (see {@link checkRules}); when none applies the answer is `"deny"`. A file with no rules at all allows
 *   every topic. For a shared subscription `$share/group/filter` the rules are checked against `filter`.
 *
 * @example The text of a users file (read it from disk with your runtime's API), here built in place
 * ```ts
 * import { Broker, FileAuthHook, hashPassword } from "@comqtt/broker";
 *
 * const usersYaml = [
 *   "users:",
 *   "  alice:",
 *   `    password: "${await hashPassword("alice-password")}"`,
 *   "    acl: [{ topic: home/%u/#, access: readwrite }]",
 * ].join("\n");
 * const hook = FileAuthHook.fromYaml(usersYaml, "users.yaml");
 * const broker = new Broker({ hooks: [hook] });
 * ```
 */
export class FileAuthHook implements Hook {
  readonly id: string;
  readonly #file: AuthFile;
  readonly #hasRules: boolean;
  readonly #cache: VerifyCache | undefined;
  readonly #unknown: "deny" | undefined;
  readonly #bindsClientIds: boolean;
  readonly #gate: VerifyGate;

  /**
   * Build from parsed data.
   * @throws {ConfigError} listing every problem (key path, user) when the data is invalid.
   */
  constructor(data: AuthFileInput, options: FileAuthHookOptions = {}) {
    const check = new Checker(options.source ?? "users file");
    this.#file = parseAuthFile(data, check);
    check.throwIfAny();
    this.id = options.id ?? "file-auth";
    const file = this.#file;
    this.#hasRules = file.acl.length > 0 ||
      [...file.users.values()].some((u) => u.acl.length > 0) ||
      [...file.clients.values()].some((rules) => rules.length > 0);
    this.#gate = new VerifyGate({ concurrency: options.maxConcurrentChecks ?? 2 });
    this.#bindsClientIds = [...file.users.values()].some((u) => u.clientIds.length > 0);
    const seconds = options.cacheSeconds ?? 300;
    if (!Number.isFinite(seconds) || seconds < 0) {
      throw new RangeError(`Cannot use cacheSeconds ${seconds}: expected a number >= 0`);
    }
    this.#unknown = options.unknownUser === "ignore" ? undefined : "deny";
    this.#cache = seconds > 0 ? new VerifyCache({ ttlMs: seconds * 1000, now: options.now }) : undefined;
  }

  /**
   * Parse YAML text and build the hook.
   * @throws {ConfigError} with `source:line: key.path: message` for each problem.
   */
  static fromYaml(
    text: string,
    source = "users file",
    options: Omit<FileAuthHookOptions, "source"> = {},
  ): FileAuthHook {
    const yaml = readYaml(text, source);
    const check = new Checker(source, yaml.lineOf);
    check.addAll(yaml.problems);
    check.throwIfAny();
    parseAuthFile(yaml.value, check); // validate once with line numbers for the messages
    check.throwIfAny();
    return new FileAuthHook((yaml.value ?? {}) as AuthFileInput, { ...options, source });
  }

  /** Whether clients without a user name may connect. */
  get allowsAnonymous(): boolean {
    return this.#file.anonymous;
  }

  /** Number of users in the file. */
  get userCount(): number {
    return this.#file.users.size;
  }

  /** Whether the file has any ACL rule (without any, every topic is allowed). */
  get hasAcl(): boolean {
    return this.#hasRules;
  }

  async onAuthenticate(_client: ClientInfo, packet: ConnectPacket): Promise<Verdict> {
    const name = packet.username;
    if (name === undefined) return this.#file.anonymous ? "allow" : this.#unknown;
    const user = this.#file.users.get(name);
    const password = packet.password;
    if (password === undefined) return "deny";
    if (user === undefined) {
      await this.#gate.run(() => verifyPassword(password, DUMMY_HASH));
      return this.#unknown;
    }
    if (this.#cache && (await this.#cache.has(name, user.password, password))) return "allow";
    // Hashes are computed a few at a time; when too many wait already, the check is refused unhashed.
    if ((await this.#gate.run(() => verifyPassword(password, user.password))) !== true) return "deny";
    await this.#cache?.add(name, user.password, password);
    return "allow";
  }

  /**
   * Client ids bound to users: a user with `clientIds` connects only with a matching id, and an id that matches
   * some user's pattern is refused (0x87; 3.1.1 0x05) for every other user and for anonymous clients.
   */
  onConnect(client: ClientInfo, _packet: ConnectPacket): void {
    if (!this.#bindsClientIds) return;
    const name = client.username;
    const own = name === undefined ? undefined : this.#file.users.get(name);
    if (own !== undefined && own.clientIds.length > 0) {
      if (!own.clientIds.some((p) => p.matches(client.id, name!))) {
        throw new MqttError(
          RC.notAuthorized,
          `client id ${JSON.stringify(client.id)} is not one of this user's`,
        );
      }
      return;
    }
    for (const [other, user] of this.#file.users) {
      if (other !== name && user.clientIds.some((p) => p.matches(client.id, other))) {
        throw new MqttError(
          RC.notAuthorized,
          `client id ${JSON.stringify(client.id)} is bound to another user`,
        );
      }
    }
  }

  onAclCheck(client: ClientInfo, topic: string, access: Access): Verdict {
    if (!this.#hasRules) return "allow";
    const filter = access === "read" ? aclFilter(topic) : topic;
    if (filter === undefined) return "deny";
    const subject = { username: client.username, clientId: client.id };
    const lists: (readonly AclRule[] | undefined)[] = [
      client.username === undefined ? undefined : this.#file.users.get(client.username)?.acl,
      this.#file.clients.get(client.id),
      this.#file.acl,
    ];
    for (const rules of lists) {
      if (!rules) continue;
      const verdict = checkRules(rules, subject, filter, access);
      if (verdict !== undefined) return verdict;
    }
    return "deny";
  }
}
