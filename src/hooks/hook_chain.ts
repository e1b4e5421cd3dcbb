/**
 * The ordered chain that runs hooks. Per-event lists are built when a hook is added, so an event that
 * no hook takes costs one length check; synchronous hooks never allocate a promise.
 * @module
 */

import type { Logger } from "../logger.ts";
import type { Message } from "../message.ts";
import type { ConnectPacket, SubscriptionRequest } from "../packets/types.ts";
import type { Access, ClientInfo, EnhancedAuthResult, EnhancedAuthStep, Hook, Verdict } from "./hook.ts";

type Observer =
  | "onConnected"
  | "onDisconnected"
  | "onSubscribed"
  | "onUnsubscribed"
  | "onPublished"
  | "onRetained"
  | "onWillSent"
  | "onSessionCreated"
  | "onSessionExpired"
  | "onMessageDropped"
  | "onError";

// deno-lint-ignore no-explicit-any
type Args<K extends keyof Hook> = Parameters<Extract<Hook[K], (...args: any[]) => any>>;

/** A value or a promise of it. */
export type MaybePromise<T> = T | Promise<T>;

function isPromise<T>(v: MaybePromise<T>): v is Promise<T> {
  return typeof (v as { then?: unknown } | null)?.then === "function";
}

/** Runs hooks in order and combines their answers as src/hooks/hook.ts documents. */
export class HookChain {
  readonly hooks: Hook[] = [];
  #lists = new Map<keyof Hook, Hook[]>();
  #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** Add a hook at the end of the chain. */
  add(hook: Hook): void {
    if (this.hooks.some((h) => h.id === hook.id)) {
      throw new TypeError(`Cannot add hook "${hook.id}": a hook with that id is already added`);
    }
    this.hooks.push(hook);
    this.#lists.clear();
  }

  /** Put `fresh` where `old` stands in the chain (same position, so the order of answers is kept). */
  replace(old: Hook, fresh: Hook): void {
    const at = this.hooks.indexOf(old);
    if (at < 0) throw new TypeError(`Cannot replace hook "${old.id}": it is not in the chain`);
    if (this.hooks.some((h, i) => i !== at && h.id === fresh.id)) {
      throw new TypeError(`Cannot add hook "${fresh.id}": a hook with that id is already added`);
    }
    this.hooks[at] = fresh;
    this.#lists.clear();
  }

  /** Hooks that implement `event`, in order. */
  list(event: keyof Hook): Hook[] {
    let list = this.#lists.get(event);
    if (list === undefined) {
      list = this.hooks.filter((h) => typeof h[event] === "function");
      this.#lists.set(event, list);
    }
    return list;
  }

  /** True when at least one hook takes `event`. */
  has(event: keyof Hook): boolean {
    return this.list(event).length > 0;
  }

  /** Gate: authentication. No opinion from any hook denies. */
  authenticate(client: ClientInfo, packet: ConnectPacket): MaybePromise<boolean> {
    return this.#gate(this.list("onAuthenticate"), (h) => h.onAuthenticate!(client, packet), false);
  }

  /** Gate: ACL. No opinion from any hook allows. */
  aclCheck(client: ClientInfo, topic: string, access: Access): MaybePromise<boolean> {
    const list = this.list("onAclCheck");
    if (list.length === 0) return true;
    return this.#gate(list, (h) => h.onAclCheck!(client, topic, access), true);
  }

  /** Enhanced authentication: the first hook that answers handles the step; undefined when none does. */
  async enhancedAuth(client: ClientInfo, step: EnhancedAuthStep): Promise<EnhancedAuthResult | undefined> {
    for (const hook of this.list("onEnhancedAuth")) {
      const answer = await hook.onEnhancedAuth!(client, step);
      if (answer !== undefined) return answer;
    }
    return undefined;
  }

  /** Run every onConnect; the first to throw refuses (the error propagates). */
  connect(client: ClientInfo, packet: ConnectPacket): MaybePromise<void> {
    const list = this.list("onConnect");
    for (let i = 0; i < list.length; i++) {
      const r = list[i]!.onConnect!(client, packet);
      if (isPromise(r)) {
        return r.then(async () => {
          for (let j = i + 1; j < list.length; j++) await list[j]!.onConnect!(client, packet);
        });
      }
    }
  }

  /** Chain onSubscribe transforms. */
  subscribe(client: ClientInfo, subs: SubscriptionRequest[]): MaybePromise<SubscriptionRequest[]> {
    return this.#transform(this.list("onSubscribe"), subs, (h, v) => h.onSubscribe!(client, v));
  }

  /** Chain onUnsubscribe transforms. */
  unsubscribe(client: ClientInfo, filters: string[]): MaybePromise<string[]> {
    return this.#transform(this.list("onUnsubscribe"), filters, (h, v) => h.onUnsubscribe!(client, v));
  }

  /** Chain onPublish transforms; null means dropped. */
  publish(client: ClientInfo | undefined, message: Message): MaybePromise<Message | null> {
    return this.#transform<Message | null>(
      this.list("onPublish"),
      message,
      (h, v) => (v === null ? null : h.onPublish!(client, v)),
    );
  }

  /** Tell observers; errors are logged, never thrown, and nothing waits for them. */
  notify<K extends Observer>(event: K, ...args: Args<K>): void {
    const list = this.list(event);
    for (const hook of list) {
      try {
        const r = (hook[event] as (...a: Args<K>) => unknown).apply(hook, args);
        if (isPromise(r)) r.then(undefined, (err) => this.#observerFailed(hook, event, err));
      } catch (err) {
        this.#observerFailed(hook, event, err);
      }
    }
  }

  #observerFailed(hook: Hook, event: string, err: unknown): void {
    this.#logger.error("hook failed", {
      hook: hook.id,
      event,
      error: err instanceof Error ? err.message : String(err),
    });
  }

  #gate(list: Hook[], ask: (h: Hook) => MaybePromise<Verdict>, fallback: boolean): MaybePromise<boolean> {
    for (let i = 0; i < list.length; i++) {
      const v = ask(list[i]!);
      if (isPromise(v)) {
        return v.then(async (first) => {
          if (first !== undefined) return first === "allow";
          for (let j = i + 1; j < list.length; j++) {
            const w = await ask(list[j]!);
            if (w !== undefined) return w === "allow";
          }
          return fallback;
        });
      }
      if (v !== undefined) return v === "allow";
    }
    return fallback;
  }

  #transform<T>(list: Hook[], value: T, step: (h: Hook, v: T) => MaybePromise<T>): MaybePromise<T> {
    let v = value;
    for (let i = 0; i < list.length; i++) {
      const r = step(list[i]!, v);
      if (isPromise(r)) {
        return r.then(async (first) => {
          let w = first;
          for (let j = i + 1; j < list.length; j++) w = await step(list[j]!, w);
          return w;
        });
      }
      v = r;
    }
    return v;
  }
}

export { isPromise };
