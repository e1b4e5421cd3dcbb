/**
 * The ordered chain that runs hooks. Per-event lists are built when a hook is added, so an event that
 * no hook takes costs one length check; synchronous hooks never allocate a promise.
 *
 * A hook that throws or rejects never escapes as an exception the broker did not plan for (some events run from
 * timers, where one would stop the process): a gate's fault is logged and counts as "deny", an enhanced
 * authentication fault as a failed step, and an observer's is logged and ignored. Transforms (`onSubscribe`,
 * `onUnsubscribe`, `onPublish`) and `onConnect` pass the error on, logged unless it is an {@link MqttError}
 * (a deliberate refusal), and the caller turns it into that packet's refusal.
 * @module
 */

import type { Logger } from "../logger.ts";
import type { Message } from "../message.ts";
import type { ConnectPacket, SubscriptionRequest } from "../packets/types.ts";
import type { Access, ClientInfo, EnhancedAuthResult, EnhancedAuthStep, Hook, Verdict } from "./hook.ts";
import { MqttError } from "../errors.ts";

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
    return this.#gate(
      "onAuthenticate",
      this.list("onAuthenticate"),
      (h) => h.onAuthenticate!(client, packet),
      false,
    );
  }

  /** Gate: ACL. No opinion from any hook allows. */
  aclCheck(client: ClientInfo, topic: string, access: Access): MaybePromise<boolean> {
    const list = this.list("onAclCheck");
    if (list.length === 0) return true;
    return this.#gate("onAclCheck", list, (h) => h.onAclCheck!(client, topic, access), true);
  }

  /** Enhanced authentication: the first hook that answers handles the step; undefined when none does. */
  async enhancedAuth(client: ClientInfo, step: EnhancedAuthStep): Promise<EnhancedAuthResult | undefined> {
    for (const hook of this.list("onEnhancedAuth")) {
      let answer: EnhancedAuthResult | undefined;
      try {
        answer = await hook.onEnhancedAuth!(client, step);
      } catch (err) {
        // A fault fails the step: the client is refused (or disconnected when re-authenticating).
        this.failed(hook, "onEnhancedAuth", err);
        return { result: "fail", reason: "authentication failed" };
      }
      if (answer !== undefined) return answer;
    }
    return undefined;
  }

  /** Run every onConnect; the first to throw refuses (the error propagates). */
  connect(client: ClientInfo, packet: ConnectPacket): MaybePromise<void> {
    const list = this.list("onConnect");
    for (let i = 0; i < list.length; i++) {
      const hook = list[i]!;
      let r: void | Promise<void>;
      try {
        r = hook.onConnect!(client, packet);
      } catch (err) {
        this.#passOn(hook, "onConnect", err);
      }
      if (isPromise(r)) {
        return r.then(undefined, (err) => this.#passOn(hook, "onConnect", err)).then(async () => {
          for (let j = i + 1; j < list.length; j++) {
            try {
              await list[j]!.onConnect!(client, packet);
            } catch (err) {
              this.#passOn(list[j]!, "onConnect", err);
            }
          }
        });
      }
    }
  }

  /** Chain onSubscribe transforms. */
  subscribe(client: ClientInfo, subs: SubscriptionRequest[]): MaybePromise<SubscriptionRequest[]> {
    return this.#transform(
      "onSubscribe",
      this.list("onSubscribe"),
      subs,
      (h, v) => h.onSubscribe!(client, v),
    );
  }

  /** Chain onUnsubscribe transforms. */
  unsubscribe(client: ClientInfo, filters: string[]): MaybePromise<string[]> {
    return this.#transform(
      "onUnsubscribe",
      this.list("onUnsubscribe"),
      filters,
      (h, v) => h.onUnsubscribe!(client, v),
    );
  }

  /** Chain onPublish transforms; null means dropped. */
  publish(client: ClientInfo | undefined, message: Message): MaybePromise<Message | null> {
    return this.#transform<Message | null>(
      "onPublish",
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
        if (isPromise(r)) r.then(undefined, (err) => this.failed(hook, event, err));
      } catch (err) {
        this.failed(hook, event, err);
      }
    }
  }

  /** Log a hook's fault (the event it failed in, its message). */
  failed(hook: Hook | undefined, event: string, err: unknown): void {
    this.#logger.error("hook failed", {
      hook: hook?.id,
      event,
      error: err instanceof Error ? err.message : String(err),
    });
  }

  /**
   * A gate's error: an authentication hook's {@link MqttError} is a deliberate refusal with its own code (a
   * backend that is down answers 0x88 Server unavailable) and goes on to the CONNECT handler; anything else is
   * a fault, logged, and the gate denies.
   */
  #refusedOrFailed(hook: Hook, event: "onAuthenticate" | "onAclCheck", err: unknown): void {
    if (event === "onAuthenticate" && err instanceof MqttError) throw err;
    this.failed(hook, event, err);
  }

  /** Log a transform's or onConnect's error unless it is a deliberate refusal (MqttError), and throw it on. */
  #passOn(hook: Hook, event: string, err: unknown): never {
    if (!(err instanceof MqttError)) this.failed(hook, event, err);
    throw err;
  }

  #gate(
    event: "onAuthenticate" | "onAclCheck",
    list: Hook[],
    ask: (h: Hook) => MaybePromise<Verdict>,
    fallback: boolean,
  ): MaybePromise<boolean> {
    // A gate that throws or rejects denies: a fault never lets a client in, nor past an ACL. The synchronous
    // path allocates nothing more than before (gates run for every delivery when an ACL hook is set).
    for (let i = 0; i < list.length; i++) {
      const hook = list[i]!;
      let v: MaybePromise<Verdict>;
      try {
        v = ask(hook);
      } catch (err) {
        this.#refusedOrFailed(hook, event, err);
        return false;
      }
      if (isPromise(v)) {
        const denied = (h: Hook) => (err: unknown): Verdict => {
          this.#refusedOrFailed(h, event, err);
          return "deny";
        };
        return v.then(undefined, denied(hook)).then(async (first) => {
          if (first !== undefined) return first === "allow";
          for (let j = i + 1; j < list.length; j++) {
            const next = list[j]!;
            let w: Verdict;
            try {
              w = await ask(next);
            } catch (err) {
              w = denied(next)(err);
            }
            if (w !== undefined) return w === "allow";
          }
          return fallback;
        });
      }
      if (v !== undefined) return v === "allow";
    }
    return fallback;
  }

  #transform<T>(
    event: "onSubscribe" | "onUnsubscribe" | "onPublish",
    list: Hook[],
    value: T,
    step: (h: Hook, v: T) => MaybePromise<T>,
  ): MaybePromise<T> {
    let v = value;
    for (let i = 0; i < list.length; i++) {
      const hook = list[i]!;
      let r: MaybePromise<T>;
      try {
        r = step(hook, v);
      } catch (err) {
        this.#passOn(hook, event, err);
      }
      if (isPromise(r)) {
        return r.then(undefined, (err) => this.#passOn(hook, event, err)).then(async (first) => {
          let w = first;
          for (let j = i + 1; j < list.length; j++) {
            try {
              w = await step(list[j]!, w);
            } catch (err) {
              this.#passOn(list[j]!, event, err);
            }
          }
          return w;
        });
      }
      v = r;
    }
    return v;
  }
}

export { isPromise };
