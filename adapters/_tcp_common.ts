/**
 * Options, defaults and messages shared by the three TCP adapters. Pure TypeScript.
 * @module
 */

import { DEFAULT_HIGH_WATER_MARK } from "./_outbox.ts";
import type { ListenerLimitOptions } from "./_limit.ts";

/** Options of every adapter's `createTcpListener`. */
export interface TcpListenerOptions extends ListenerLimitOptions {
  /** Listener id, unique within a broker. Default `tcp`. */
  id?: string;
  /** Interface to bind. Default `0.0.0.0` (the CLI passes `127.0.0.1` when it runs without a config). */
  host?: string;
  /** Port to bind. Default 1883; 0 picks a free port, reported by `port` and `address` after `listen()`. */
  port?: number;
  /** Per-connection write buffer, in bytes, above which `write()` returns false. Default 1 MiB. */
  highWaterMark?: number;
  /**
   * Bind with SO_REUSEPORT, so that several broker workers share the port (the kernel spreads connections).
   * Default false. Deno needs `--unstable-net` for it; Node needs 22.12 or later.
   */
  reusePort?: boolean;
}

/** {@link TcpListenerOptions} with every default filled in. */
export interface ResolvedTcpOptions {
  id: string;
  host: string;
  port: number;
  highWaterMark: number;
  /** Present (true) only when asked for. */
  reusePort?: true;
}

/**
 * How long a connection that was `end()`ed waits for the peer to close, once everything was sent,
 * before it is destroyed. Stops a peer that never answers our FIN from holding the socket forever.
 */
export const END_LINGER_MS = 5_000;

/**
 * Fill in defaults and reject nonsense with a RangeError/TypeError that names the option.
 * `kind` names the listener in messages (`TCP`, `TLS`, `WebSocket`) and, lower-cased, is the default id.
 */
export function resolveTcpOptions(
  options: TcpListenerOptions = {},
  kind = "TCP",
  defaultPort = 1883,
): ResolvedTcpOptions {
  const {
    id = kind.toLowerCase(),
    host = "0.0.0.0",
    port = defaultPort,
    highWaterMark = DEFAULT_HIGH_WATER_MARK,
    reusePort = false,
  } = options;
  if (typeof id !== "string" || id === "") {
    throw new TypeError(
      `Cannot create ${kind} listener: id must be a non-empty string, received ${JSON.stringify(id)}`,
    );
  }
  if (typeof host !== "string" || host === "") {
    throw new TypeError(
      `Cannot create ${kind} listener "${id}": host must be a non-empty string, received ${
        JSON.stringify(host)
      }`,
    );
  }
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new RangeError(
      `Cannot create ${kind} listener "${id}": port must be a whole number from 0 to 65535, received ${
        JSON.stringify(port)
      }`,
    );
  }
  if (!Number.isInteger(highWaterMark) || highWaterMark < 1) {
    throw new RangeError(
      `Cannot create ${kind} listener "${id}": highWaterMark must be a whole number >= 1, received ${
        JSON.stringify(highWaterMark)
      }`,
    );
  }
  return { id, host, port, highWaterMark, ...(reusePort ? { reusePort: true as const } : {}) };
}

/** `host:port`, with brackets around an IPv6 host (`[::1]:1883`). */
export function hostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The error of listen() on a listener that already listens. */
export function alreadyListening(options: { id: string; host: string; port: number }): Error {
  return new Error(
    `Cannot listen on ${hostPort(options.host, options.port)}: listener "${options.id}" already listens`,
  );
}

const LISTEN_REASONS: Record<string, string> = {
  EADDRINUSE: "address already in use",
  EACCES: "permission denied",
  EADDRNOTAVAIL: "address not available",
  ENOTFOUND: "host not found",
};

/**
 * The error `listen()` rejects with, e.g. `Cannot listen on 0.0.0.0:1883: address already in use`.
 * Each runtime reports the same errno code (`EADDRINUSE`...), so the message is the same everywhere;
 * the runtime's own error is kept as `cause`.
 */
export function listenError(host: string, port: number, error: unknown): Error {
  const code = (error as { code?: unknown } | null)?.code;
  const reason = (typeof code === "string" && LISTEN_REASONS[code]) ||
    (error instanceof Error ? error.message : String(error));
  return new Error(`Cannot listen on ${hostPort(host, port)}: ${reason}`, { cause: error });
}

/** An Error for whatever was thrown, so `handler.closed(error)` always gets an Error. */
export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
