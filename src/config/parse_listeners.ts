/**
 * The `listeners:` list and `auth` mappings of the config file.
 * @module
 */

import type { Checker } from "./checker.ts";
import { DEFAULT_WS_PATH } from "./config.ts";
import type { AuthConfig, ListenerConfig, ListenerTlsConfig, ListenerType } from "./config.ts";
import { formatAddress, parseAddress } from "./address.ts";
import type { HostPort } from "./address.ts";
import type { KeyPath } from "./yaml_source.ts";
import { parseAuth } from "./parse_auth.ts";

const LISTENER_TYPES: readonly ListenerType[] = ["tcp", "ws", "unix", "coap"];
const LISTENER_KEYS = [
  "type",
  "id",
  "address",
  "path",
  "mode",
  "tls",
  "maxConnections",
  "auth",
  "allowedOrigins",
];
const TLS_KEYS = ["cert", "key", "clientCa", "useIdentityAsUsername"];
const MAX_CONNECTIONS = 10_000_000;

/**
 * `listeners:`, a list of `{ type, id, address, path, tls, maxConnections, auth }`. Ids default to the kind and a
 * counter: `tcp1`, `ws1`, and `tls1` / `wss1` for tcp / ws listeners with `tls`.
 */
export function parseListeners(check: Checker, value: unknown): ListenerConfig[] {
  const items = check.list(value, ["listeners"]);
  if (!items) return [];
  if (items.length === 0) check.problem(["listeners"], "expected at least one listener");
  const out: ListenerConfig[] = [];
  /** The input index of each entry of `out` (entries with problems are left out, so they differ). */
  const at: number[] = [];
  const counters: Record<string, number> = {};
  const ids = new Map<string, number>();
  items.forEach((item, i) => {
    const path = ["listeners", i];
    const map = check.mapping(item, path, LISTENER_KEYS);
    if (!map) return;
    const type = "type" in map ? check.oneOf(map.type, [...path, "type"], LISTENER_TYPES) : undefined;
    if (!("type" in map)) check.problem(path, `missing key "type" (one of ${LISTENER_TYPES.join(", ")})`);
    // CoAP runs over plain UDP here: DTLS is not supported.
    if (type === "coap" && "tls" in map) {
      check.problem([...path, "tls"], "coap listeners take no tls (no DTLS)");
    }
    const tls = "tls" in map && type !== "coap" && type !== "unix"
      ? parseListenerTls(check, map.tls, [...path, "tls"])
      : undefined;
    const kind = type === undefined ? "?" : "tls" in map ? (type === "tcp" ? "tls" : "wss") : type;
    counters[kind] = (counters[kind] ?? 0) + 1;
    const id = "id" in map ? check.string(map.id, [...path, "id"]) : `${kind}${counters[kind]}`;
    if (id !== undefined) {
      const first = ids.get(id);
      if (first !== undefined) {
        check.problem([...path, "id"], `duplicate id "${id}" (also listeners[${first}])`);
      } else ids.set(id, i);
    }
    if (type === "unix") {
      const unix = parseUnix(check, map, path);
      if (id !== undefined && unix !== undefined) {
        at.push(i);
        out.push({
          type,
          id,
          host: "localhost",
          port: 0,
          ...unix,
          ...listenerExtras(check, map, path, null),
        });
      }
      return;
    }
    if ("mode" in map) check.problem([...path, "mode"], "only unix listeners take a mode");
    const address = "address" in map ? checkAddress(check, map.address, [...path, "address"]) : undefined;
    if (!("address" in map)) {
      const example = `0.0.0.0:${
        ({ tls: 8883, ws: 1882, wss: 8884, coap: 5683 } as Record<string, number>)[kind] ?? 1883
      }`;
      check.problem(path, `missing key "address" (e.g. "${example}")`);
    }
    let wsPath: string | undefined;
    if ("path" in map) {
      if (type === "tcp" || type === "coap") {
        check.problem([...path, "path"], "only ws listeners take a path");
      }
      wsPath = check.string(map.path, [...path, "path"]);
      if (wsPath !== undefined && !wsPath.startsWith("/")) {
        check.problem(
          [...path, "path"],
          `expected a path starting with "/", received ${JSON.stringify(wsPath)}`,
        );
      }
    }
    const { maxConnections, auth } = listenerExtras(check, map, path, tls ?? null);
    const allowedOrigins = "allowedOrigins" in map
      ? parseOrigins(check, map.allowedOrigins, [...path, "allowedOrigins"], type)
      : undefined;
    if (type === undefined || id === undefined || address === undefined) return;
    at.push(i);
    out.push({
      type,
      id,
      ...address,
      ...(type === "ws" ? { path: wsPath ?? DEFAULT_WS_PATH } : {}),
      ...(tls === undefined ? {} : { tls }),
      ...(maxConnections === undefined ? {} : { maxConnections }),
      ...(auth === undefined ? {} : { auth }),
      ...(allowedOrigins === undefined ? {} : { allowedOrigins }),
    });
  });
  const seen = new Map<string, number>();
  out.forEach((l, j) => {
    const i = at[j];
    if (l.port === 0) return;
    // A coap listener binds UDP, so it may share a port number with a TCP one.
    const key = `${l.type === "coap" ? "udp" : "tcp"} ${formatAddress(l)}`;
    const first = seen.get(key);
    if (first !== undefined) {
      check.problem(
        ["listeners", i, "address"],
        `address ${formatAddress(l)} is already used by listeners[${first}]`,
      );
    } else seen.set(key, i);
  });
  return out;
}

/** `maxConnections` and `auth`, which every kind of listener takes. */
function listenerExtras(
  check: Checker,
  map: Record<string, unknown>,
  path: KeyPath,
  tls: ListenerTlsConfig | null,
): { maxConnections?: number; auth?: AuthConfig } {
  const maxConnections = "maxConnections" in map
    ? check.wholeNumber(map.maxConnections, [...path, "maxConnections"], 0, MAX_CONNECTIONS)
    : undefined;
  const auth = "auth" in map ? parseAuth(check, map.auth, [...path, "auth"], tls) : undefined;
  return {
    ...(maxConnections === undefined ? {} : { maxConnections }),
    ...(auth === undefined ? {} : { auth }),
  };
}

/** A unix listener's `path` (the socket file) and `mode` ("0660" or 0o660 written as 432). */
function parseUnix(
  check: Checker,
  map: Record<string, unknown>,
  path: KeyPath,
): { path: string; mode?: number } | undefined {
  for (const key of ["address", "tls", "allowedOrigins"]) {
    if (key in map) check.problem([...path, key], `a unix listener takes no ${key}`);
  }
  if (!("path" in map)) {
    check.problem(path, `missing key "path" (the socket file, e.g. "/run/comqtt.sock")`);
    return undefined;
  }
  const socketPath = check.string(map.path, [...path, "path"]);
  let mode: number | undefined;
  if ("mode" in map) {
    const text = typeof map.mode === "number" ? map.mode.toString(8) : map.mode;
    if (typeof text !== "string" || !/^0?[0-7]{3}$/.test(text)) {
      check.problem(
        [...path, "mode"],
        `expected permission bits such as "0660", received ${JSON.stringify(map.mode)}`,
      );
    } else mode = parseInt(text, 8);
  }
  if (socketPath === undefined) return undefined;
  return { path: socketPath, ...(mode === undefined ? {} : { mode }) };
}

/** A ws listener's `allowedOrigins`: browser origins such as "https://app.example.com", `*` as a wildcard. */
function parseOrigins(
  check: Checker,
  value: unknown,
  path: KeyPath,
  type: ListenerType | undefined,
): string[] | undefined {
  if (type === "tcp") check.problem(path, "only ws listeners take allowedOrigins (browsers use WebSocket)");
  const items = check.list(value, path);
  if (!items) return undefined;
  const out: string[] = [];
  items.forEach((item, i) => {
    const origin = check.string(item, [...path, i]);
    if (origin === undefined) return;
    if (origin !== "*" && !/^[a-z][a-z0-9+.-]*:\/\/[^\s/]+$/i.test(origin)) {
      check.problem(
        [...path, i],
        `expected an origin such as "https://app.example.com" or "*", received ${JSON.stringify(origin)}`,
      );
    } else out.push(origin);
  });
  return out;
}

/** A listener's `tls: { cert, key, clientCa, useIdentityAsUsername }`: PEM file paths and one switch. */
function parseListenerTls(check: Checker, value: unknown, path: KeyPath): ListenerTlsConfig | undefined {
  const map = check.mapping(value, path, TLS_KEYS);
  if (!map) return undefined;
  for (const key of ["cert", "key"]) {
    if (!(key in map)) {
      check.problem(
        path,
        `missing key "${key}" (a PEM file, e.g. "./certs/server.${key === "cert" ? "crt" : "key"}")`,
      );
    }
  }
  const cert = "cert" in map ? check.string(map.cert, [...path, "cert"]) : undefined;
  const key = "key" in map ? check.string(map.key, [...path, "key"]) : undefined;
  const clientCa = "clientCa" in map ? check.string(map.clientCa, [...path, "clientCa"]) : undefined;
  const identity = "useIdentityAsUsername" in map
    ? check.boolean(map.useIdentityAsUsername, [...path, "useIdentityAsUsername"])
    : false;
  if (identity && !("clientCa" in map)) {
    check.problem(
      [...path, "useIdentityAsUsername"],
      `needs "clientCa": the user name comes from a client certificate, which only a client CA asks for`,
    );
  }
  if (cert === undefined || key === undefined) return undefined;
  return {
    cert,
    key,
    ...(clientCa === undefined ? {} : { clientCa }),
    useIdentityAsUsername: identity ?? false,
  };
}

/** `auth` mappings are read by parse_auth.ts; re-exported here, where callers found it before. */
export { parseAuth };

/** A `host:port` value; a bare number (`address: 1883`, read by YAML as an integer) is a port. */
export function checkAddress(check: Checker, value: unknown, path: KeyPath): HostPort | undefined {
  const text = typeof value === "number" && Number.isInteger(value) ? String(value) : value;
  if (typeof text !== "string") {
    check.string(text, path);
    return undefined;
  }
  const parsed = parseAddress(text);
  if ("error" in parsed) {
    check.problem(path, parsed.error);
    return undefined;
  }
  return parsed;
}
