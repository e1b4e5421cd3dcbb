/**
 * The hook that puts an {@link AuthBackend} in front of the broker: timeouts, a decision cache, the `onError`
 * outcome, superusers, ACL rules given with the CONNECT answer, expiring credentials, and per-backend metrics.
 * @module
 */

import type { Access, ClientInfo, DisconnectInfo, Hook, HookContext, Verdict } from "../../hook.ts";
import type { ConnectPacket } from "../../../packets/types.ts";
import type { Logger } from "../../../logger.ts";
import { silentLogger } from "../../../logger.ts";
import type { Clock, TimerHandle } from "../../../clock.ts";
import { systemClock } from "../../../clock.ts";
import { MqttError } from "../../../errors.ts";
import type { AclRule } from "../acl_rules.ts";
import { aclFilter, covers } from "../acl_topic.ts";
import { matchMostSpecific } from "./acl_match.ts";
import type { AclRequest, AuthAnswer, AuthBackend, AuthRequest } from "./backend.ts";
import { AuthBackendStats } from "./backend_stats.ts";
import { DecisionCache } from "./decision_cache.ts";
import { callWithTimeout, FailureLog } from "./backend_call.ts";

/** What to answer when the backend is down, slow or answers garbage. */
export type OnError = "deny" | "ignore";

/** Options of {@link BackendAuthHook}. */
export interface BackendAuthHookOptions {
  /** Hook id, used in logs and as the metrics label. Default `auth-<kind>`. */
  readonly id?: string;
  /** Most milliseconds one backend call may take. Default 5000. */
  readonly timeoutMs?: number;
  /** Decision cache: seconds an answer is kept, and most entries. Default `{ ttl: 60, size: 100000 }`. */
  readonly cache?: { readonly ttl: number; readonly size: number };
  /** `deny` (default) refuses; `ignore` has no opinion, so the next auth in a chain decides. */
  readonly onError?: OnError;
  /** Time and timers; default the system clock (the broker's clock replaces it at init). */
  readonly clock?: Clock;
  /** Warnings about the configuration, logged once at init (a plain-text password format, for instance). */
  readonly warnings?: readonly string[];
}

/** What this hook keeps about a client it let in. */
interface ClientState {
  readonly owner: ClientInfo;
  readonly superuser: boolean;
  acl: readonly AclRule[] | undefined;
  /** Verdicts of `acl` by access and topic: deliveries on a topic repeat the same check. */
  memo: Map<string, Verdict>;
  /** Wildcard filters the backend's ACL call allowed for reading (subscriptions of this connection). */
  readonly readFilters: Set<string>;
  aclLoadedAt: number;
  aclReloading: boolean;
  timer?: TimerHandle;
}

/** Longest delay a timer is armed with (setTimeout's limit); a later expiry re-arms. */
const MAX_TIMER_MS = 2_147_000_000;
/** Most remembered ACL verdicts per client; past it the memo starts over. */
const MEMO_ENTRIES = 1024;
/** CONNACK code of a CONNECT refused because the backend failed (onError deny). */
const RC_SERVER_UNAVAILABLE = 0x88;
/** v5 reason code sent to a client whose credentials expired: Maximum connect time. */
const RC_MAXIMUM_CONNECT_TIME = 0xa0;

/**
 * Authenticates and checks ACLs through a backend.
 *
 * - CONNECT answers are cached per (client id, user name, password, listener); the password is kept only as an
 *   HMAC under a key made at start. Identical CONNECTs in flight share one backend call.
 * - ACL checks are answered, in order: superuser → allow; rules given with the CONNECT answer (most specific
 *   filter wins; none matching → deny); a wildcard subscription the backend's ACL call allowed, for the
 *   messages it matches; the cached answer of the backend's own ACL call; a call. With none of these the hook
 *   has no opinion. So a delivery never waits for the backend once the subscription was allowed.
 * - A failing backend: one log line naming the backend (then one per 10 s while it keeps failing, and one when
 *   it recovers), an error metric, and the `onError` answer: `deny` refuses a CONNECT with 0x88 Server
 *   unavailable (3.1.1: 0x03) and an ACL check with a plain deny; `ignore` has no opinion. For connected clients
 *   an expired cached ACL answer is used instead, so they keep being served.
 */
export class BackendAuthHook implements Hook {
  readonly id: string;
  /** The backend the hook asks. */
  readonly backend: AuthBackend;
  /** Calls, errors, cache hits and latency of the backend, for `/metrics` and the dashboard. */
  readonly stats: AuthBackendStats;
  readonly #timeoutMs: number;
  readonly #onError: OnError;
  readonly #authCache: DecisionCache<AuthAnswer>;
  readonly #aclCache: DecisionCache<"allow" | "deny" | "ignore">;
  readonly #ttlMs: number;
  readonly #inflight = new Map<string, Promise<AuthAnswer | Error>>();
  readonly #aclInflight = new Map<string, Promise<"allow" | "deny" | "ignore" | Error>>();
  readonly #clients = new Map<string, ClientState>();
  #clock: Clock;
  #logger: Logger = silentLogger;
  #failures: FailureLog;
  #disconnect: ((clientId: string, reasonCode?: number) => boolean) | undefined;
  #macKey: Promise<CryptoKey> | undefined;
  readonly #warnings: readonly string[];

  /** Wrap `backend` with caching, timeouts and the `onError` policy. */
  constructor(backend: AuthBackend, options: BackendAuthHookOptions = {}) {
    this.backend = backend;
    this.id = options.id ?? `auth-${backend.kind}`;
    this.#timeoutMs = options.timeoutMs ?? 5000;
    this.#onError = options.onError ?? "deny";
    this.#clock = options.clock ?? systemClock;
    const cache = options.cache ?? { ttl: 60, size: 100_000 };
    this.#ttlMs = cache.ttl * 1000;
    const now = () => this.#clock.now();
    this.#authCache = new DecisionCache({ ttlMs: this.#ttlMs, maxEntries: cache.size, now });
    this.#aclCache = new DecisionCache({ ttlMs: this.#ttlMs, maxEntries: cache.size, now });
    this.#warnings = options.warnings ?? [];
    this.stats = new AuthBackendStats(this.id, backend.kind);
    this.#failures = new FailureLog(this.id, backend.kind, () => this.#logger, now);
  }

  /** For `/metrics`: this backend's counters. */
  authStats(): AuthBackendStats[] {
    return [this.stats];
  }

  init(context: HookContext): void {
    this.#logger = context.logger;
    if (context.clock) this.#clock = context.clock;
    this.#disconnect = context.disconnectClient;
    // No URL here: a Redis or SQL URL may carry a password.
    this.#logger.info(`authentication by ${this.backend.kind} backend`, {
      backend: this.id,
      timeoutMs: this.#timeoutMs,
      cacheSeconds: this.#ttlMs / 1000,
      onError: this.#onError,
    });
    for (const warning of this.#warnings) this.#logger.warn(warning, { backend: this.id });
    // Opened in the background: a store that is down at start must not hold up the broker; every call
    // connects on demand, and the failure is logged (and later the recovery).
    this.backend.open?.().then(
      () => this.#logger.info(`auth backend ${this.backend.kind} ready`, { backend: this.id }),
      (err) => this.#failures.failed("open", err, this.#onError),
    );
  }

  async stop(): Promise<void> {
    for (const state of this.#clients.values()) state.timer?.cancel();
    this.#clients.clear();
    await this.backend.close?.();
  }

  async onAuthenticate(client: ClientInfo, packet: ConnectPacket): Promise<Verdict> {
    const request: AuthRequest = {
      clientId: client.id,
      username: packet.username,
      password: packet.password,
      peerhost: client.remoteAddress,
      protocol: packet.protocolVersion,
      listener: client.listener,
    };
    const key = await this.#authKey(request);
    let answer = this.#authCache.get(key);
    if (answer !== undefined) this.stats.cacheHits++;
    else {
      this.stats.cacheMisses++;
      let pending = this.#inflight.get(key);
      if (pending === undefined) {
        pending = this.#askAuth(request, key);
        this.#inflight.set(key, pending);
        pending.finally(() => this.#inflight.delete(key));
      }
      const result = await pending;
      if (result instanceof Error) {
        if (this.#onError === "ignore") return undefined;
        // Refused as "server unavailable" (3.1.1: 0x03), not "bad user name or password": many clients give up
        // for good on the latter, while this one is worth retrying.
        throw new MqttError(RC_SERVER_UNAVAILABLE, `auth backend ${this.id} unavailable: ${result.message}`);
      }
      answer = result;
    }
    return this.#admit(client, answer);
  }

  onAclCheck(client: ClientInfo, topic: string, access: Access): Verdict | Promise<Verdict> {
    const state = this.#clients.get(client.id);
    if (state?.superuser) return "allow";
    const filter = access === "read" ? aclFilter(topic) : topic;
    if (filter === undefined) return "deny";
    if (state?.acl !== undefined) {
      this.#maybeReloadAcl(client, state);
      const memoKey = access + filter;
      const known = state.memo.get(memoKey);
      if (known !== undefined) return known;
      const subject = { username: client.username, clientId: client.id };
      const verdict = matchMostSpecific(state.acl, subject, filter, access) ?? "deny";
      if (state.memo.size >= MEMO_ENTRIES) state.memo.clear();
      state.memo.set(memoKey, verdict);
      return verdict;
    }
    if (!this.backend.checkAcl) return undefined;
    // A message matching a wildcard subscription the backend allowed is delivered without asking again.
    if (access === "read" && state !== undefined) {
      for (const allowed of state.readFilters) if (covers(allowed, filter)) return "allow";
    }
    const request: AclRequest = { clientId: client.id, username: client.username, topic: filter, access };
    const key = `${client.username ?? ""}\u0000${client.id}\u0000${access}\u0000${filter}`;
    const cached = this.#aclCache.get(key);
    if (cached !== undefined) {
      this.stats.cacheHits++;
      return cached === "ignore" ? undefined : cached;
    }
    this.stats.cacheMisses++;
    let pending = this.#aclInflight.get(key);
    if (pending === undefined) {
      pending = this.#askAcl(request, key);
      this.#aclInflight.set(key, pending);
      pending.finally(() => this.#aclInflight.delete(key));
    }
    return pending.then((answer) => {
      if (answer instanceof Error) {
        const stale = this.#aclCache.stale(key);
        if (stale !== undefined) {
          this.stats.staleAnswers++;
          return stale === "ignore" ? undefined : stale;
        }
        return this.#onError === "deny" ? "deny" : undefined;
      }
      if (answer === "allow" && access === "read" && state !== undefined && /[+#]/.test(filter)) {
        if (state.readFilters.size >= MEMO_ENTRIES) state.readFilters.clear();
        state.readFilters.add(filter);
      }
      return answer === "ignore" ? undefined : answer;
    });
  }

  onDisconnected(client: ClientInfo, _info: DisconnectInfo): void {
    const state = this.#clients.get(client.id);
    if (state === undefined || state.owner !== client) return; // a newer connection took the id over
    state.timer?.cancel();
    this.#clients.delete(client.id);
  }

  /** Clients this hook let in and still tracks (for tests and the dashboard). */
  get trackedClients(): number {
    return this.#clients.size;
  }

  async #askAuth(request: AuthRequest, key: string): Promise<AuthAnswer | Error> {
    this.stats.calls.auth++;
    const started = this.#clock.now();
    try {
      const answer = await callWithTimeout(
        (signal) => this.backend.authenticate(request, signal),
        this.#timeoutMs,
      );
      this.stats.observe((this.#clock.now() - started) / 1000);
      this.#failures.succeeded();
      const left = answer.expiresAt === undefined ? this.#ttlMs : answer.expiresAt - this.#clock.now();
      if (left > 0) this.#authCache.set(key, answer, left);
      return answer;
    } catch (err) {
      this.stats.observe((this.#clock.now() - started) / 1000);
      this.stats.errors.auth++;
      this.#failures.failed("auth", err, this.#onError);
      return err instanceof Error ? err : new Error(String(err));
    }
  }

  async #askAcl(request: AclRequest, key: string): Promise<"allow" | "deny" | "ignore" | Error> {
    this.stats.calls.acl++;
    const started = this.#clock.now();
    try {
      const answer = await callWithTimeout(
        (signal) => this.backend.checkAcl!(request, signal),
        this.#timeoutMs,
      );
      this.stats.observe((this.#clock.now() - started) / 1000);
      this.#failures.succeeded();
      this.#aclCache.set(key, answer);
      return answer;
    } catch (err) {
      this.stats.observe((this.#clock.now() - started) / 1000);
      this.stats.errors.acl++;
      this.#failures.failed("acl", err, this.#onError);
      return err instanceof Error ? err : new Error(String(err));
    }
  }

  /** Turn an answer into a verdict, and remember what the ACL checks of an admitted client need. */
  #admit(client: ClientInfo, answer: AuthAnswer): Verdict {
    if (answer.result === "ignore") return undefined;
    if (answer.result === "deny") return "deny";
    const now = this.#clock.now();
    if (answer.expiresAt !== undefined && answer.expiresAt <= now) return "deny";
    this.#clients.get(client.id)?.timer?.cancel();
    const state: ClientState = {
      owner: client,
      superuser: answer.superuser === true,
      acl: answer.acl,
      memo: new Map(),
      readFilters: new Set(),
      aclLoadedAt: now,
      aclReloading: false,
    };
    this.#clients.set(client.id, state);
    if (answer.expiresAt !== undefined) this.#armExpiry(client, state, answer.expiresAt);
    return "allow";
  }

  #armExpiry(client: ClientInfo, state: ClientState, expiresAt: number): void {
    const wait = Math.min(Math.max(0, expiresAt - this.#clock.now()), MAX_TIMER_MS);
    state.timer = this.#clock.after(wait, () => {
      if (this.#clients.get(client.id) !== state) return;
      if (this.#clock.now() < expiresAt) return this.#armExpiry(client, state, expiresAt);
      this.#clients.delete(client.id);
      this.#logger.info("credentials expired: disconnecting client", { hook: this.id, clientId: client.id });
      this.#disconnect?.(client.id, RC_MAXIMUM_CONNECT_TIME);
    });
  }

  /** Rules given at CONNECT are refreshed in the background once they are older than the cache ttl. */
  #maybeReloadAcl(client: ClientInfo, state: ClientState): void {
    const reload = this.backend.reloadAcl;
    if (!reload || state.aclReloading || this.#ttlMs <= 0) return;
    if (this.#clock.now() - state.aclLoadedAt < this.#ttlMs) return;
    state.aclReloading = true;
    this.stats.calls.acl++;
    const started = this.#clock.now();
    callWithTimeout((signal) => reload.call(this.backend, client.username, signal), this.#timeoutMs).then(
      (rules) => {
        this.stats.observe((this.#clock.now() - started) / 1000);
        this.#failures.succeeded();
        if (rules !== undefined) {
          state.acl = rules;
          state.memo.clear();
        }
        state.aclLoadedAt = this.#clock.now();
      },
      (err) => {
        this.stats.errors.acl++;
        // Keep the rules already held: the client goes on being served while the backend is away.
        this.#failures.failed("acl", err, "the rules already loaded");
        state.aclLoadedAt = this.#clock.now();
      },
    ).finally(() => (state.aclReloading = false));
  }

  async #authKey(request: AuthRequest): Promise<string> {
    const key = await (this.#macKey ??= crypto.subtle.generateKey(
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    ) as Promise<CryptoKey>);
    const parts = [request.clientId, request.username ?? "\u0001", request.listener];
    const text = new TextEncoder().encode(parts.join("\u0000") + "\u0000");
    const password = request.password ?? new Uint8Array(0);
    const data = new Uint8Array(text.length + password.length + 1);
    data.set(text);
    data.set(password, text.length);
    data[data.length - 1] = request.password === undefined ? 0 : 1;
    const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, data));
    let out = "";
    for (const b of mac) out += b.toString(16).padStart(2, "0");
    return out;
  }
}
