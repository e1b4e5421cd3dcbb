/**
 * Per-listener connection limits, shared by every adapter (TCP, TLS, WebSocket). Pure TypeScript.
 *
 * A listener at its `maxConnections` refuses new connections at the transport, as Mosquitto's per-listener
 * `max_connections` does: a TCP or TLS socket is closed at once (no CONNACK: the client has not said which
 * protocol version it speaks yet), a WebSocket upgrade is answered with HTTP 503. Each refusal is counted and
 * logged, at most once per {@link REFUSAL_LOG_INTERVAL_MS} so that a flood cannot flood the log too.
 * @module
 */

import type { Accept, Connection, ConnectionHandler, Listener } from "../src/transport/connection.ts";
import { type Logger, silentLogger } from "../src/logger.ts";

/** Options every adapter's listener takes on top of its own. */
export interface ListenerLimitOptions {
  /** Most connections open at once on this listener; 0 (the default) for no limit. */
  maxConnections?: number;
  /** Where refusals are logged. Default: nowhere. */
  logger?: Logger;
}

/** Refusals are logged at most this often per listener; the line counts the refusals since the last one. */
export const REFUSAL_LOG_INTERVAL_MS = 10_000;

const NOOP_HANDLER: ConnectionHandler = { data() {}, drain() {}, closed() {} };

/** Check `maxConnections` and fill in the defaults. */
export function resolveLimitOptions(
  options: ListenerLimitOptions,
  what: string,
): { maxConnections: number; logger: Logger } {
  const { maxConnections = 0, logger = silentLogger } = options;
  if (!Number.isInteger(maxConnections) || maxConnections < 0) {
    throw new RangeError(
      `Cannot create ${what}: maxConnections must be a whole number >= 0 (0 for no limit), received ${
        JSON.stringify(maxConnections)
      }`,
    );
  }
  return { maxConnections, logger };
}

/** The open-connection count of one listener. */
export class ConnectionLimit {
  /** 0: no limit. */
  readonly maxConnections: number;
  readonly #listener: string;
  readonly #logger: Logger;
  #open = 0;
  #refused = 0;
  #unlogged = 0;
  #lastLog = -Infinity;

  constructor(listener: string, options: { maxConnections: number; logger: Logger }) {
    this.#listener = listener;
    this.maxConnections = options.maxConnections;
    this.#logger = options.logger;
  }

  /** Connections admitted and not yet released. */
  get open(): number {
    return this.#open;
  }

  /** Connections refused since the listener was created. */
  get refused(): number {
    return this.#refused;
  }

  /** True: admitted, and the caller must {@link release} it once closed. False: refused (and logged). */
  admit(remoteAddress: string): boolean {
    if (this.maxConnections === 0 || this.#open < this.maxConnections) {
      this.#open++;
      return true;
    }
    this.#refused++;
    this.#unlogged++;
    const now = Date.now();
    if (now - this.#lastLog >= REFUSAL_LOG_INTERVAL_MS) {
      this.#logger.warn("listener connection limit reached: refusing connection", {
        listener: this.#listener,
        maxConnections: this.maxConnections,
        remote: remoteAddress,
        refused: this.#unlogged,
      });
      this.#lastLog = now;
      this.#unlogged = 0;
    }
    return false;
  }

  /** One admitted connection closed. */
  release(): void {
    if (this.#open > 0) this.#open--;
  }

  /**
   * `accept` behind this limit: a connection over it is destroyed and never reaches `accept`; an admitted one
   * is released when its handler hears `closed`.
   */
  wrap(accept: Accept): Accept {
    return (connection: Connection, info) => {
      if (!this.admit(connection.remoteAddress)) {
        connection.destroy();
        return NOOP_HANDLER;
      }
      let handler: ConnectionHandler;
      try {
        handler = accept(connection, info);
      } catch (error) {
        this.release();
        throw error;
      }
      let released = false;
      return {
        data: (bytes) => handler.data(bytes),
        drain: () => handler.drain(),
        closed: (error) => {
          if (!released) {
            released = true;
            this.release();
          }
          handler.closed(error);
        },
      };
    };
  }
}

/**
 * `listener` with a connection limit, or `listener` itself when `maxConnections` is 0.
 * Used by the socket listeners (TCP, TLS); the WebSocket listeners check their limit before the upgrade.
 */
export function withConnectionLimit(
  listener: Listener,
  options: { maxConnections: number; logger: Logger },
): Listener {
  return options.maxConnections === 0 ? listener : new LimitedListener(listener, options);
}

class LimitedListener implements Listener {
  readonly limit: ConnectionLimit;
  readonly #inner: Listener;

  constructor(inner: Listener, options: { maxConnections: number; logger: Logger }) {
    this.#inner = inner;
    this.limit = new ConnectionLimit(inner.id, options);
  }

  get id(): string {
    return this.#inner.id;
  }

  get protocol(): string {
    return this.#inner.protocol;
  }

  get address(): string {
    return this.#inner.address;
  }

  get port(): number {
    return this.#inner.port;
  }

  listen(accept: Accept): Promise<void> {
    return this.#inner.listen(this.limit.wrap(accept));
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}
