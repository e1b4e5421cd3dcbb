/**
 * Authentication chosen per listener.
 * @module
 */

import type {
  Access,
  ClientInfo,
  DisconnectInfo,
  EnhancedAuthResult,
  EnhancedAuthStep,
  Hook,
  HookContext,
  Verdict,
} from "../hook.ts";
import type { ConnectPacket } from "../../packets/types.ts";

/** Options of {@link ListenerAuthHook}. */
export interface ListenerAuthHookOptions {
  /** The auth hook of each listener that has its own, by listener id. */
  readonly listeners: Readonly<Record<string, Hook>> | ReadonlyMap<string, Hook>;
  /** The auth hook of every other listener. */
  readonly fallback: Hook;
  /** Hook id. Default `listener-auth`. */
  readonly id?: string;
}

/**
 * Hands authentication and ACL checks to the hook of the listener the client came through
 * (`client.listener`), or to `fallback` for listeners without their own. The CLI builds it from the `auth` key
 * of each entry in `listeners:`. The chosen hook's answer is this hook's answer, "no opinion" included.
 *
 * @example A TLS listener whose clients are vouched for by their certificates, and users elsewhere
 * ```ts
 * import { AllowHook, Broker, FileAuthHook, hashPassword, ListenerAuthHook } from "@comqtt/broker";
 *
 * const usersYaml = `users:\n  alice:\n    password: "${await hashPassword("alice-password")}"\n`;
 * const hook = new ListenerAuthHook({
 *   listeners: { "tls-devices": new AllowHook() },
 *   fallback: FileAuthHook.fromYaml(usersYaml, "users.yaml"),
 * });
 * const broker = new Broker({ hooks: [hook] });
 * ```
 */
export class ListenerAuthHook implements Hook {
  readonly id: string;
  /**
   * Defined only when one of the hooks checks ACLs: with none, the broker skips ACL checks (and the read check
   * of every delivery) as it does without this hook.
   */
  readonly onAclCheck?: (client: ClientInfo, topic: string, access: Access) => Verdict | Promise<Verdict>;
  /** Defined only when one of the hooks does enhanced authentication. */
  readonly onEnhancedAuth?: (
    client: ClientInfo,
    step: EnhancedAuthStep,
  ) => EnhancedAuthResult | undefined | Promise<EnhancedAuthResult | undefined>;
  /** Defined only when one of the hooks tracks connections (auth backends forget a client's rules then). */
  readonly onDisconnected?: (client: ClientInfo, info: DisconnectInfo) => void | Promise<void>;
  /** Defined only when one of the hooks has onConnect (the file hook's client-id bindings). */
  readonly onConnect?: (client: ClientInfo, packet: ConnectPacket) => void | Promise<void>;
  readonly #byListener: ReadonlyMap<string, Hook>;
  readonly #fallback: Hook;

  /** A hook that dispatches by listener id as `options` says. */
  constructor(options: ListenerAuthHookOptions) {
    this.id = options.id ?? "listener-auth";
    const listeners = options.listeners;
    this.#byListener = listeners instanceof Map ? listeners : new Map(Object.entries(listeners));
    this.#fallback = options.fallback;
    if (this.hooks.some((h) => typeof h.onAclCheck === "function")) {
      this.onAclCheck = (client, topic, access) =>
        this.hookFor(client.listener).onAclCheck?.(client, topic, access);
    }
    if (this.hooks.some((h) => typeof h.onDisconnected === "function")) {
      this.onDisconnected = (client, info) => this.hookFor(client.listener).onDisconnected?.(client, info);
    }
    if (this.hooks.some((h) => typeof h.onConnect === "function")) {
      this.onConnect = (client, packet) => this.hookFor(client.listener).onConnect?.(client, packet);
    }
    if (this.hooks.some((h) => typeof h.onEnhancedAuth === "function")) {
      this.onEnhancedAuth = (client, step) => this.hookFor(client.listener).onEnhancedAuth?.(client, step);
    }
  }

  /** The hook of every listener without its own. */
  get fallback(): Hook {
    return this.#fallback;
  }

  /** The hook that decides for clients of `listener`. */
  hookFor(listener: string): Hook {
    return this.#byListener.get(listener) ?? this.#fallback;
  }

  /** Every distinct hook, each once. */
  get hooks(): Hook[] {
    return [...new Set([this.#fallback, ...this.#byListener.values()])];
  }

  async init(context: HookContext): Promise<void> {
    for (const hook of this.hooks) await hook.init?.(context);
  }

  async stop(): Promise<void> {
    for (const hook of this.hooks) await hook.stop?.();
  }

  onAuthenticate(client: ClientInfo, packet: ConnectPacket): Verdict | Promise<Verdict> {
    return this.hookFor(client.listener).onAuthenticate?.(client, packet);
  }
}
