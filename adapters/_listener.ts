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

class BindingListener implements Listener {
  readonly id: string;
  readonly protocol: string;
  readonly #identity: ListenerIdentity;
  readonly #bind: Bind;
  #binding: Binding | undefined;
  #started = false;
  #host: string;
  #port: number;

  constructor(identity: ListenerIdentity, bind: Bind) {
    this.id = identity.id;
    this.protocol = identity.protocol;
    this.#identity = identity;
    this.#bind = bind;
    this.#host = identity.host;
    this.#port = identity.port;
  }

  get port(): number {
    return this.#port;
  }

  get address(): string {
    return hostPort(this.#host, this.#port);
  }

  async listen(accept: Accept): Promise<void> {
    if (this.#started) throw alreadyListening(this.#identity);
    this.#started = true;
    try {
      this.#binding = await this.#bind(accept);
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
