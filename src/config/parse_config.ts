/**
 * YAML text → a validated {@link Config}, reporting every problem with its key path and line.
 * @module
 */

import { Checker } from "./checker.ts";
import { DEFAULT_CONFIG, DEFAULT_HTTP, DEFAULT_WS_PATH, LOG_LEVELS } from "./config.ts";
import type { AuthConfig, Config, HttpConfig, ListenerConfig, ListenerType } from "./config.ts";
import { formatAddress, parseAddress } from "./address.ts";
import type { HostPort } from "./address.ts";
import { readYaml } from "./yaml_source.ts";
import type { KeyPath } from "./yaml_source.ts";
import type { Limits } from "../options.ts";
import type { LogLevel } from "../logger.ts";

const TOP_KEYS = ["listeners", "http", "auth", "limits", "sys", "log"];
const LISTENER_TYPES: readonly ListenerType[] = ["tcp", "ws"];
const MAX_COUNT = 10_000_000;

/** Accepted range of each limit. Kept within what `resolveLimits` accepts. */
const LIMIT_RANGES: Readonly<Record<keyof Limits, readonly [number, number]>> = {
  maxPacketSize: [2, 268_435_460],
  maxInflight: [1, 65_535],
  receiveMaximum: [1, 65_535],
  maxQueuedMessages: [0, MAX_COUNT],
  maxConnections: [0, MAX_COUNT],
  maxSubscriptionsPerClient: [0, MAX_COUNT],
  maxTopicLength: [1, 65_535],
  maxTopicLevels: [1, 65_535],
  // [MQTT-3.1.3-5] the server must accept client ids of 1 to 23 characters.
  maxClientIdLength: [23, 65_535],
  maxKeepAlive: [0, 65_535],
  connectTimeout: [1, 3600],
  topicAliasMaximum: [0, 65_535],
  maxSessionExpiryInterval: [0, 0xffff_ffff],
};

/**
 * Parse and validate a config file. Keys left out take {@link DEFAULT_CONFIG}; an empty file is all defaults.
 * Unknown keys are errors.
 *
 * @param text YAML text.
 * @param source File name used in messages, e.g. `config.yaml`.
 * @throws {ConfigError} listing every problem as `source:line: key.path: message`.
 *
 * @example
 * ```ts
 * const config = parseConfig("limits: { maxInflight: 32 }", "config.yaml");
 * config.limits.maxInflight; // 32
 * ```
 */
export function parseConfig(text: string, source: string): Config {
  const yaml = readYaml(text, source);
  const check = new Checker(source, yaml.lineOf);
  check.addAll(yaml.problems);
  check.throwIfAny();
  // Not a mapping: recorded, and the rest reads as empty (the throw below reports it).
  const top = check.mapping(yaml.value, [], TOP_KEYS) ?? {};

  const listeners = "listeners" in top ? parseListeners(check, top.listeners) : DEFAULT_CONFIG.listeners;
  const http = "http" in top ? parseHttp(check, top.http) : undefined;
  const auth = "auth" in top ? parseAuth(check, top.auth) : DEFAULT_CONFIG.auth;
  const limits = parseLimits(check, top.limits);
  const sys = parseSys(check, top.sys);
  const log = parseLog(check, top.log);
  if (http) checkAddressClash(check, listeners, http);

  check.throwIfAny();
  return { listeners, http, auth, limits, sys, log };
}

function parseListeners(check: Checker, value: unknown): ListenerConfig[] {
  const items = check.list(value, ["listeners"]);
  if (!items) return [];
  if (items.length === 0) check.problem(["listeners"], "expected at least one listener");
  const out: ListenerConfig[] = [];
  const counters: Record<string, number> = {};
  const ids = new Map<string, number>();
  items.forEach((item, i) => {
    const path = ["listeners", i];
    const map = check.mapping(item, path, ["type", "id", "address", "path"]);
    if (!map) return;
    const type = "type" in map ? check.oneOf(map.type, [...path, "type"], LISTENER_TYPES) : undefined;
    if (!("type" in map)) check.problem(path, `missing key "type" (one of ${LISTENER_TYPES.join(", ")})`);
    counters[type ?? "?"] = (counters[type ?? "?"] ?? 0) + 1;
    const id = "id" in map ? check.string(map.id, [...path, "id"]) : `${type}${counters[type ?? "?"]}`;
    if (id !== undefined) {
      const first = ids.get(id);
      if (first !== undefined) {
        check.problem([...path, "id"], `duplicate id "${id}" (also listeners[${first}])`);
      } else ids.set(id, i);
    }
    const address = "address" in map ? checkAddress(check, map.address, [...path, "address"]) : undefined;
    if (!("address" in map)) check.problem(path, `missing key "address" (e.g. "0.0.0.0:1883")`);
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
    if (type === undefined || id === undefined || address === undefined) return;
    out.push(
      type === "ws" ? { type, id, ...address, path: wsPath ?? DEFAULT_WS_PATH } : { type, id, ...address },
    );
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

function parseHttp(check: Checker, value: unknown): HttpConfig | undefined {
  const map = check.mapping(value, ["http"], ["address"]);
  if (!map) return undefined;
  if (!("address" in map)) return DEFAULT_HTTP;
  return checkAddress(check, map.address, ["http", "address"]);
}

function parseAuth(check: Checker, value: unknown): AuthConfig {
  const map = check.mapping(value, ["auth"], ["type", "file"]);
  if (!map) return DEFAULT_CONFIG.auth;
  if (!("type" in map)) {
    check.problem(["auth"], `missing key "type" (one of allow, deny, file)`);
    return DEFAULT_CONFIG.auth;
  }
  const type = check.oneOf(map.type, ["auth", "type"], ["allow", "deny", "file"] as const);
  if (type === "file") {
    if (!("file" in map)) {
      check.problem(["auth"], `missing key "file" (the users file, e.g. "./users.yaml")`);
      return DEFAULT_CONFIG.auth;
    }
    const file = check.string(map.file, ["auth", "file"]);
    return file === undefined ? DEFAULT_CONFIG.auth : { type, file };
  }
  if ("file" in map && type !== undefined) {
    check.problem(["auth", "file"], `only auth type "file" takes a file`);
  }
  return type === undefined ? DEFAULT_CONFIG.auth : { type };
}

function parseLimits(check: Checker, value: unknown): Limits {
  const limits: Limits = { ...DEFAULT_CONFIG.limits };
  if (value === undefined) return limits;
  const ranges = LIMIT_RANGES as Record<string, readonly [number, number]>;
  const map = check.mapping(value, ["limits"], Object.keys(ranges));
  if (!map) return limits;
  for (const [key, raw] of Object.entries(map)) {
    const range = ranges[key];
    if (!range) continue;
    const n = check.wholeNumber(raw, ["limits", key], range[0], range[1]);
    if (n !== undefined) (limits as unknown as Record<string, number>)[key] = n;
  }
  return limits;
}

function parseSys(check: Checker, value: unknown): Config["sys"] {
  if (value === undefined) return DEFAULT_CONFIG.sys;
  const map = check.mapping(value, ["sys"], ["interval"]);
  if (!map || !("interval" in map)) return DEFAULT_CONFIG.sys;
  return {
    interval: check.wholeNumber(map.interval, ["sys", "interval"], 0, 86_400) ?? DEFAULT_CONFIG.sys.interval,
  };
}

function parseLog(check: Checker, value: unknown): Config["log"] {
  if (value === undefined) return DEFAULT_CONFIG.log;
  const map = check.mapping(value, ["log"], ["level", "format"]);
  if (!map) return DEFAULT_CONFIG.log;
  const level: LogLevel | undefined = "level" in map
    ? check.oneOf(map.level, ["log", "level"], LOG_LEVELS)
    : undefined;
  const format = "format" in map
    ? check.oneOf(map.format, ["log", "format"], ["text", "json"] as const)
    : undefined;
  return { level: level ?? DEFAULT_CONFIG.log.level, format: format ?? DEFAULT_CONFIG.log.format };
}

function checkAddress(check: Checker, value: unknown, path: KeyPath): HostPort | undefined {
  // A bare number (`address: 1883`) is read by YAML as an integer: accept it as a port.
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

function checkAddressClash(check: Checker, listeners: readonly ListenerConfig[], http: HttpConfig): void {
  if (http.port === 0) return;
  const i = listeners.findIndex((l) => l.port === http.port && l.host === http.host);
  if (i >= 0) {
    check.problem(["http", "address"], `address ${formatAddress(http)} is already used by listeners[${i}]`);
  }
}
