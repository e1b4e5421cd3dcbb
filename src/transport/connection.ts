/**
 * The one seam between the pure core and a runtime: a byte stream to one client.
 *
 * Adapters (adapters/deno, adapters/bun, adapters/node) turn a runtime socket into a {@link Connection}
 * and feed what arrives to the {@link ConnectionHandler} that the broker returns from {@link Accept}.
 * @module
 */

/** One client's byte stream, as the broker sees it. Implemented by each adapter. */
export interface Connection {
  /** Peer address, for logs and the API, e.g. `127.0.0.1:53122`. */
  readonly remoteAddress: string;
  /**
   * Queue bytes for sending. Returns false once the adapter holds more than its high-water mark;
   * the adapter then calls {@link ConnectionHandler.drain} when it has room again.
   * The adapter must not keep a reference to `bytes` past the call unless it copies them,
   * except that the caller promises not to mutate `bytes` afterwards.
   */
  write(bytes: Uint8Array): boolean;
  /** Send what is queued, then close. Safe to call more than once. */
  end(): void;
  /** Close at once, dropping anything queued. Safe to call more than once. */
  destroy(): void;
  /**
   * Stop reading from the peer until {@link resume}: no {@link ConnectionHandler.data} calls meanwhile (bytes
   * already read may still arrive once). The broker pauses a publisher while storage is behind, so the socket's
   * receive window, not the broker's memory, holds what it sends. Optional: without it the broker stops decoding
   * but the bytes still arrive. Safe to call more than once.
   */
  pause?(): void;
  /** Read again after {@link pause}. Safe to call more than once. */
  resume?(): void;
}

/** The broker's side of a connection: the adapter calls these. */
export interface ConnectionHandler {
  /** Bytes arrived. The handler does not keep `bytes` beyond the call without copying. */
  data(bytes: Uint8Array): void;
  /** The write buffer went below its low-water mark after `write` returned false. */
  drain(): void;
  /** The stream is closed (by either side). Called exactly once. */
  closed(error?: Error): void;
}

/** What a listener tells the broker about a new connection. */
export interface AcceptInfo {
  /** Id of the listener that accepted it. */
  readonly listener: string;
  /** Common name of a verified TLS client certificate, when there is one. */
  readonly certificateCommonName?: string;
  /**
   * True when the listener takes the user name from the certificate (Mosquitto's `use_identity_as_username`):
   * the client's user name is then {@link certificateCommonName}, whatever its CONNECT says.
   */
  readonly useIdentityAsUsername?: boolean;
}

/** Called by a listener for each accepted connection; returns the handler to feed. */
export type Accept = (connection: Connection, info: AcceptInfo) => ConnectionHandler;

/** A server socket that produces connections. Implemented by each adapter. */
export interface Listener {
  /** Unique id, e.g. `tcp`. */
  readonly id: string;
  /** `tcp`, `tls`, `ws` or `wss`. */
  readonly protocol: string;
  /** Bound address as `host:port` (the real port once listening, when 0 was asked for). */
  readonly address: string;
  /** The bound port (valid after `listen` resolved). */
  readonly port: number;
  /** Start accepting; resolves once bound. Rejects with a clear error when the address is taken. */
  listen(accept: Accept): Promise<void>;
  /** Stop accepting (already accepted connections are the broker's to close). */
  close(): Promise<void>;
}
