/**
 * The `listeners:` list and `auth` mappings of the config file.
 * @module
 */

import type { Checker } from "./checker.ts";
import { DEFAULT_CONFIG, DEFAULT_WS_PATH } from "./config.ts";
import type { AuthConfig, ListenerConfig, ListenerTlsConfig, ListenerType } from "./config.ts";
import { formatAddress, parseAddress } from "./address.ts";
import type { HostPort } from "./address.ts";
import type { KeyPath } from "./yaml_source.ts";

const LISTENER_TYPES: readonly ListenerType[] = ["tcp", "ws"];
const LISTENER_KEYS = ["type", "id", "address", "path", "tls", "maxConnections", "auth"];
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
  const counters: Record<string, number> = {};
  const ids = new Map<string, number>();
  items.forEach((item, i) => {
    const path = ["listeners", i];
    const map = check.mapping(item, path, LISTENER_KEYS);
    if (!map) return;
    const type = "type" in map ? check.oneOf(map.type, [...path, "type"], LISTENER_TYPES) : undefined;
    if (!("type" in map)) check.problem(path, `missing key "type" (one of ${LISTENER_TYPES.join(", ")})`);
    const tls = "tls" in map ? parseListenerTls(check, map.tls, [...path, "tls"]) : undefined;
    const kind = type === undefined ? "?" : "tls" in map ? (type === "tcp" ? "tls" : "wss") : type;
    counters[kind] = (counters[kind] ?? 0) + 1;
    const id = "id" in map ? check.string(map.id, [...path, "id"]) : `${kind}${counters[kind]}`;
    if (id !== undefined) {
      const first = ids.get(id);
      if (first !== undefined) {
        check.problem([...path, "id"], `duplicate id "${id}" (also listeners[${first}])`);
      } else ids.set(id, i);
    }
    const address = "address" in map ? checkAddress(check, map.address, [...path, "address"]) : undefined;
    if (!("address" in map)) {
      const example = `0.0.0.0:${
        ({ tls: 8883, ws: 1882, wss: 8884 } as Record<string, number>)[kind] ?? 1883
      }`;
      check.problem(path, `missing key "address" (e.g. "${example}")`);
    }
    let wsPath: string | undefined;
    if ("path" in map) {
      if (type === "tcp") check.problem([...path, "path"], "only ws listeners take a path");
      wsPath = check.string(map.path, [...path, "path"]);
      if (wsPath !== undefined && !wsPath.startsWith("/")) {
        check.problem(
          [...path, "path"],
          `expected a path starting with "/", received ${JSON.stringify(wsPath)}`,
        );
      }
    }
    const maxConnections = "maxConnections" in map
      ? check.wholeNumber(map.maxConnections, [...path, "maxConnections"], 0, MAX_CONNECTIONS)
      : undefined;
    const auth = "auth" in map ? parseAuth(check, map.auth, [...path, "auth"], tls ?? null) : undefined;
    if (type === undefined || id === undefined || address === undefined) return;
    out.push({
      type,
      id,
      ...address,
      ...(type === "ws" ? { path: wsPath ?? DEFAULT_WS_PATH } : {}),
      ...(tls === undefined ? {} : { tls }),
      ...(maxConnections === undefined ? {} : { maxConnections }),
      ...(auth === undefined ? {} : { auth }),
    });
  });
  const seen = new Map<string, number>();
  out.forEach((l, i) => {
    if (l.port === 0) return;
    const key = formatAddress(l);
    const first = seen.get(key);
    if (first !== undefined) {
      check.problem(["listeners", i, "address"], `address ${key} is already used by listeners[${first}]`);
    } else seen.set(key, i);
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

/**
 * `auth: { type: allow | deny | file | certificate, file }` at `path` (the top-level `auth`, or a listener's;
 * `certificate` only for a listener, given `tls` to check it against).
 */
export function parseAuth(
  check: Checker,
  value: unknown,
  path: KeyPath = ["auth"],
  tls?: ListenerTlsConfig | null,
): AuthConfig {
  const map = check.mapping(value, path, ["type", "file"]);
  if (!map) return DEFAULT_CONFIG.auth;
  const types = tls === undefined
    ? ["allow", "deny", "file"] as const
    : ["allow", "deny", "file", "certificate"] as const;
  if (!("type" in map)) {
    check.problem(path, `missing key "type" (one of ${types.join(", ")})`);
    return DEFAULT_CONFIG.auth;
  }
  const type = check.oneOf(map.type, [...path, "type"], types);
  if (type === "certificate" && (tls == null || tls.clientCa === undefined || !tls.useIdentityAsUsername)) {
    check.problem(
      [...path, "type"],
      `"certificate" needs this listener's tls.clientCa and tls.useIdentityAsUsername: true (the certificate ` +
        `is the credential, and its common name the user name the ACL rules see)`,
    );
  }
  if (type === "file" || type === "certificate") {
    if (!("file" in map)) {
      check.problem(
        path,
        type === "file"
          ? `missing key "file" (the users file, e.g. "./users.yaml")`
          : `missing key "file" (the ACL rules for certificate users, e.g. "./devices.yaml")`,
      );
      return DEFAULT_CONFIG.auth;
    }
    const file = check.string(map.file, [...path, "file"]);
    return file === undefined ? DEFAULT_CONFIG.auth : { type, file };
  }
  if ("file" in map && type !== undefined) {
    check.problem(
      [...path, "file"],
      tls === undefined
        ? `only auth type "file" takes a file`
        : `only auth types "file" and "certificate" take a file`,
    );
  }
  return type === undefined ? DEFAULT_CONFIG.auth : { type };
}

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
