/**
 * The listener skeleton every adapter shares: id, protocol, the address before and after binding, the
 * "already listens" error and closing. A runtime file gives only `bind`: open its server socket, start
 * accepting, and say where it is bound and how to stop. Pure TypeScript.
 * @module
 */

import type { Accept, Listener } from "../src/transport/connection.ts";
import { type ListenerLimitOptions, resolveLimitOptions, withConnectionLimit } from "./_limit.ts";
import { alreadyListening, hostPort } from "./_tcp_common.ts";

/** A bound server socket, as a runtime's `bind` returns it. */
export interface Binding {
  /** The address really bound (the real port when 0 was asked for). */
  readonly host: string;
  readonly port: number;
  /** Stop accepting; connections already accepted stay open (they are the broker's to close). */
  close(): void | Promise<void>;
}

/** Open the runtime's server socket and hand each accepted connection to `accept`. Rejects when binding fails. */
export type Bind = (accept: Accept) => Binding | Promise<Binding>;

/** What the skeleton needs to know before binding. */
export interface ListenerIdentity {
  readonly id: string;
  /** `tcp`, `tls`, `ws`, `wss`, ... */
  readonly protocol: string;
  readonly host: string;
  readonly port: number;
}

/** A {@link Listener} around `bind`. */
export function bindingListener(identity: ListenerIdentity, bind: Bind): Listener {
  return new BindingListener(identity, bind);
}

/**
 * A socket listener (TCP, TLS): {@link bindingListener} behind the listener's connection limit, which refuses
 * connections over `maxConnections` at the transport.
 */
export function socketListener(
  identity: ListenerIdentity,
  limits: ListenerLimitOptions,
  bind: Bind,
): Listener {
  const what = `${identity.protocol.toUpperCase()} listener "${identity.id}"`;
  return withConnectionLimit(bindingListener(identity, bind), resolveLimitOptions(limits, what));
}

/**
 * A server socket bound by `bind(arg)` on `listen(arg)`: the address before and after binding, a second
 * `listen()` refused with `already()`, `close()` that allows listening again. Listeners and HTTP servers share it.
 */
export class BoundServer<T> {
  readonly #bind: (arg: T) => Binding | Promise<Binding>;
  readonly #already: () => Error;
  #binding: Binding | undefined;
  #started = false;
  #host: string;
  #port: number;

  constructor(
    where: { readonly host: string; readonly port: number },
    already: () => Error,
    bind: (arg: T) => Binding | Promise<Binding>,
  ) {
    this.#bind = bind;
    this.#already = already;
    this.#host = where.host;
    this.#port = where.port;
  }

  get port(): number {
    return this.#port;
  }

  get address(): string {
    return hostPort(this.#host, this.#port);
  }

  async listen(arg: T): Promise<void> {
    if (this.#started) throw this.#already();
    this.#started = true;
    try {
      this.#binding = await this.#bind(arg);
    } catch (error) {
      this.#started = false;
      throw error;
    }
    this.#host = this.#binding.host;
    this.#port = this.#binding.port;
  }

  async close(): Promise<void> {
    const binding = this.#binding;
    this.#binding = undefined;
    this.#started = false;
    await binding?.close();
  }
}

class BindingListener extends BoundServer<Accept> implements Listener {
  readonly id: string;
  readonly protocol: string;

  constructor(identity: ListenerIdentity, bind: Bind) {
    super(identity, () => alreadyListening(identity), bind);
    this.id = identity.id;
    this.protocol = identity.protocol;
  }
}
