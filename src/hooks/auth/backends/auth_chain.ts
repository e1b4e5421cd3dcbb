/**
 * Several auths asked in order (`auth.chain` in the config): the first that allows or denies a CONNECT decides,
 * one with no opinion passes it on, and when none has one the client is refused.
 * @module
 */

import type { Access, ClientInfo, DisconnectInfo, Hook, HookContext, Verdict } from "../../hook.ts";
import type { ConnectPacket } from "../../../packets/types.ts";
import { isPromise } from "../../hook_chain.ts";

/** Options of {@link AuthChainHook}. */
export interface AuthChainHookOptions {
  /** Hook id. Default `auth-chain`. */
  readonly id?: string;
}

/**
 * Runs auth hooks in order.
 *
 * - `onAuthenticate`: the first `allow` or `deny` wins; when every link abstains, `deny` (the last word). A link
 *   that throws (a backend down with `onError: deny`) ends the chain with its refusal.
 * - `onAclCheck`: the link that admitted the client is asked first, then the others in order; the first
 *   definite answer wins, and with none the chain has no opinion (the broker then allows, as with no ACL).
 *   Defined only when some link checks ACLs, so a chain without ACLs costs deliveries nothing.
 * - `init`, `stop` and `onDisconnected` go to every link that has them.
 */
export class AuthChainHook implements Hook {
  readonly id: string;
  /** The links of the chain, in the order they are asked. */
  readonly hooks: Hook[];
  readonly onAclCheck?: (client: ClientInfo, topic: string, access: Access) => Verdict | Promise<Verdict>;
  /** Which link admitted each connected client, and that client's connection. */
  readonly #admittedBy = new Map<string, { owner: ClientInfo; hook: Hook }>();
  readonly #aclHooks: Hook[];

  /** A chain of `hooks` (at least one, or it throws a TypeError). */
  constructor(hooks: readonly Hook[], options: AuthChainHookOptions = {}) {
    if (hooks.length === 0) throw new TypeError("An auth chain needs at least one auth");
    this.id = options.id ?? "auth-chain";
    this.hooks = [...hooks];
    this.#aclHooks = this.hooks.filter((h) => typeof h.onAclCheck === "function");
    if (this.#aclHooks.length > 0) this.onAclCheck = (c, t, a) => this.#aclCheck(c, t, a);
  }

  async init(context: HookContext): Promise<void> {
    context.logger.info("authentication by a chain", { links: this.hooks.map((h) => h.id).join(" → ") });
    for (const hook of this.hooks) await hook.init?.(context);
  }

  async stop(): Promise<void> {
    for (const hook of this.hooks) await hook.stop?.();
  }

  async onAuthenticate(client: ClientInfo, packet: ConnectPacket): Promise<Verdict> {
    for (const hook of this.hooks) {
      if (!hook.onAuthenticate) continue;
      const verdict = await hook.onAuthenticate(client, packet);
      if (verdict === undefined) continue;
      if (verdict === "allow") this.#admittedBy.set(client.id, { owner: client, hook });
      return verdict;
    }
    return "deny";
  }

  onDisconnected(client: ClientInfo, info: DisconnectInfo): void {
    for (const hook of this.hooks) hook.onDisconnected?.(client, info);
    if (this.#admittedBy.get(client.id)?.owner === client) this.#admittedBy.delete(client.id);
  }

  #aclCheck(client: ClientInfo, topic: string, access: Access): Verdict | Promise<Verdict> {
    const first = this.#admittedBy.get(client.id)?.hook;
    const order = first?.onAclCheck ? [first, ...this.#aclHooks.filter((h) => h !== first)] : this.#aclHooks;
    for (let i = 0; i < order.length; i++) {
      const v = order[i]!.onAclCheck!(client, topic, access);
      if (isPromise(v)) {
        return v.then(async (answer) => {
          if (answer !== undefined) return answer;
          for (let j = i + 1; j < order.length; j++) {
            const w = await order[j]!.onAclCheck!(client, topic, access);
            if (w !== undefined) return w;
          }
          return undefined;
        });
      }
      if (v !== undefined) return v;
    }
    return undefined;
  }
}
