/**
 * Options, defaults and the HTTP upgrade rules shared by the three WebSocket adapters (`Deno.upgradeWebSocket`,
 * `Bun.serve`, the `ws` package). Pure TypeScript.
 * @module
 */

import { type ListenerLimitOptions, resolveLimitOptions } from "./_limit.ts";
import { type ResolvedTls, resolveTls, type TlsOptions } from "./_tls_common.ts";
import { resolveTcpOptions } from "./_tcp_common.ts";
import type { Logger } from "../src/logger.ts";

/** Options of every adapter's `createWsListener`. */
export interface WsListenerOptions extends ListenerLimitOptions {
  /** Listener id, unique within a broker. Default `ws` (`wss` with `tls`). */
  id?: string;
  /** Interface to bind. Default `0.0.0.0`. */
  host?: string;
  /** Port to bind. Default 1882 (8884 with `tls`); 0 picks a free port. */
  port?: number;
  /** HTTP path of the endpoint. Default `/mqtt`; other paths get 404. */
  path?: string;
  /** Serve WSS (WebSocket over TLS) with this certificate, and optionally verify client certificates. */
  tls?: TlsOptions;
  /** Per-connection write buffer, in bytes, above which `write()` returns false. Default 1 MiB. */
  highWaterMark?: number;
  /**
   * Largest WebSocket message accepted, in bytes; a larger one closes the connection (1009). Default 16 MiB.
   * Applied by Bun and by the `ws` adapter; Deno's server has no such setting (its own cap is 64 MiB).
   */
  maxMessageSize?: number;
  /**
   * Browser origins allowed to open a connection (the `Origin` header of the upgrade), as full origins
   * (`https://app.example.com`) where `*` matches any run of characters (`http://localhost:*`). A request with
   * no `Origin` (not a browser) is always allowed. Undefined: any origin. A refused origin gets HTTP 403, which
   * stops cross-site WebSocket hijacking: a page elsewhere using the visitor's network position to reach a
   * broker that trusts it.
   */
  allowedOrigins?: readonly string[];
}

/** {@link WsListenerOptions} with every default filled in. */
export interface ResolvedWsOptions {
  id: string;
  host: string;
  port: number;
  path: string;
  tls?: ResolvedTls;
  highWaterMark: number;
  maxMessageSize: number;
  /** Undefined: any origin. */
  allowedOrigins?: readonly RegExp[];
  maxConnections: number;
  logger: Logger;
}

/** Default port of a WebSocket listener (as CoMQTT's). */
export const DEFAULT_WS_PORT = 1882;
/** Default port of a WSS listener. */
export const DEFAULT_WSS_PORT = 8884;
/** Default HTTP path of the MQTT endpoint. */
export const DEFAULT_WS_PATH = "/mqtt";
/** Default largest WebSocket message. */
export const DEFAULT_MAX_MESSAGE_SIZE = 16 * 1024 * 1024;

/**
 * Subprotocols accepted, best first: `mqtt` (MQTT 3.1.1 and 5.0) [MQTT-6.0.0-4], and `mqttv3.1`, which MQTT 3.1
 * clients (old Paho JavaScript) offer.
 */
export const SUBPROTOCOLS: readonly string[] = ["mqtt", "mqttv3.1"];

/** Fill in defaults and reject nonsense with a RangeError/TypeError that names the option. */
export function resolveWsOptions(options: WsListenerOptions = {}): ResolvedWsOptions {
  const secure = options.tls !== undefined;
  const kind = secure ? "WSS" : "WebSocket";
  const id = options.id ?? (secure ? "wss" : "ws");
  const what = `${kind} listener "${id}"`;
  const base = resolveTcpOptions(
    { ...options, id },
    kind,
    secure ? DEFAULT_WSS_PORT : DEFAULT_WS_PORT,
  );
  const { path = DEFAULT_WS_PATH, maxMessageSize = DEFAULT_MAX_MESSAGE_SIZE } = options;
  if (typeof path !== "string" || !path.startsWith("/") || /[?#\s]/.test(path)) {
    throw new TypeError(
      `Cannot create ${what}: path must start with "/" and hold no "?", "#" or spaces, received ${
        JSON.stringify(path)
      }`,
    );
  }
  if (!Number.isInteger(maxMessageSize) || maxMessageSize < 2) {
    throw new RangeError(
      `Cannot create ${what}: maxMessageSize must be a whole number >= 2, received ${
        JSON.stringify(maxMessageSize)
      }`,
    );
  }
  const limits = resolveLimitOptions(options, what);
  const tls = secure ? resolveTls(options.tls, what) : undefined;
  const origins = options.allowedOrigins === undefined
    ? undefined
    : originPatterns(options.allowedOrigins, what);
  return {
    ...base,
    path,
    maxMessageSize,
    ...limits,
    ...(tls ? { tls } : {}),
    ...(origins ? { allowedOrigins: origins } : {}),
  };
}

/** The origins browsers send for pages on this machine: the default for a loopback listener open to anyone. */
export const LOOPBACK_ORIGINS: readonly string[] = [
  "http://localhost",
  "http://localhost:*",
  "http://127.0.0.1",
  "http://127.0.0.1:*",
  "http://[::1]",
  "http://[::1]:*",
  "https://localhost",
  "https://localhost:*",
  "https://127.0.0.1",
  "https://127.0.0.1:*",
  "https://[::1]",
  "https://[::1]:*",
];

function originPatterns(origins: readonly string[], what: string): RegExp[] {
  if (!Array.isArray(origins)) {
    throw new TypeError(
      `Cannot create ${what}: allowedOrigins must be a list of origins, received ${JSON.stringify(origins)}`,
    );
  }
  return origins.map((origin) => {
    if (typeof origin !== "string" || origin === "" || /\s/.test(origin)) {
      throw new TypeError(
        `Cannot create ${what}: allowedOrigins holds ${
          JSON.stringify(origin)
        }, expected an origin such as "https://app.example.com"`,
      );
    }
    const escaped = origin.toLowerCase().split("*").map((part) =>
      part.replace(/[.+?^${}()|[\]\\/]/g, "\\$&")
    );
    return new RegExp(`^${escaped.join(".*")}$`);
  });
}

/**
 * The subprotocol to answer with, from a `Sec-WebSocket-Protocol` request header: `mqtt` when offered, else
 * `mqttv3.1`, else undefined (the upgrade is refused).
 */
export function chooseSubprotocol(header: string | null | undefined): string | undefined {
  if (!header) return undefined;
  const offered = header.split(",").map((p) => p.trim());
  return SUBPROTOCOLS.find((p) => offered.includes(p));
}

/** The parts of an HTTP request the upgrade rules look at. */
export interface UpgradeRequest {
  method: string;
  /** Request target as sent (`/mqtt?x=1`) or a full URL. */
  url: string;
  upgrade: string | null | undefined;
  protocol: string | null | undefined;
  /** The `Origin` header, sent by browsers. */
  origin?: string | null | undefined;
}

/** An HTTP answer that refuses a request. */
export interface Refusal {
  status: number;
  message: string;
}

/**
 * Check a request against the endpoint: the subprotocol to answer with, or the HTTP refusal: 404 for another
 * path, 426 for a plain HTTP request, 403 for a browser origin that is not allowed, 400 for an upgrade that
 * offers neither `mqtt` nor `mqttv3.1`.
 */
export function checkUpgrade(
  request: UpgradeRequest,
  path: string,
  allowedOrigins?: readonly RegExp[],
): { protocol: string } | Refusal {
  const target = request.url.startsWith("/") ? request.url : new URL(request.url).pathname;
  const pathname = target.split("?")[0];
  if (pathname !== path) {
    return { status: 404, message: `Not found: MQTT over WebSocket is served at ${path}\n` };
  }
  if (request.method !== "GET" || request.upgrade?.toLowerCase() !== "websocket") {
    return { status: 426, message: `Upgrade required: ${path} speaks MQTT over WebSocket only\n` };
  }
  const origin = request.origin;
  if (allowedOrigins !== undefined && origin && !allowedOrigins.some((p) => p.test(origin.toLowerCase()))) {
    return { status: 403, message: `Forbidden: pages from ${JSON.stringify(origin)} may not connect here\n` };
  }
  const protocol = chooseSubprotocol(request.protocol);
  if (protocol === undefined) {
    return {
      status: 400,
      message: `Bad request: offer the WebSocket subprotocol "mqtt" (or "mqttv3.1"), received ${
        JSON.stringify(request.protocol ?? "")
      }\n`,
    };
  }
  return { protocol };
}

/** The refusal for a listener at its `maxConnections`. */
export const BUSY: Refusal = { status: 503, message: "Service unavailable: too many connections\n" };
/** The refusal while a listener is closing. */
export const CLOSING: Refusal = { status: 503, message: "Service unavailable: the listener is closing\n" };

/** The upgrade-relevant parts of a Web `Request` (Deno.serve, Bun.serve). */
export function webUpgradeRequest(request: Request): UpgradeRequest {
  const headers = request.headers;
  return {
    method: request.method,
    url: request.url,
    upgrade: headers.get("upgrade"),
    protocol: headers.get("sec-websocket-protocol"),
    origin: headers.get("origin"),
  };
}

/** A refusal as a Web `Response`. */
export function respond({ status, message }: Refusal): Response {
  return new Response(message, { status, headers: { "content-type": "text/plain; charset=utf-8" } });
}
