/**
 * YAML text → a validated {@link Config}, reporting every problem with its key path and line.
 * @module
 */

import { Checker } from "./checker.ts";
import { DEFAULT_CONFIG, DEFAULT_HTTP, LOG_LEVELS, MIN_HTTP_TOKEN_LENGTH } from "./config.ts";
import type {
  Config,
  HttpAuthConfig,
  HttpConfig,
  ListenerConfig,
  MqttConfig,
  StorageConfig,
} from "./config.ts";
import { formatAddress } from "./address.ts";
import { readYaml } from "./yaml_source.ts";
import { checkAddress, parseAuth, parseListeners } from "./parse_listeners.ts";
import { checkClusterStorage, parseCluster } from "./parse_cluster.ts";
import { type Capabilities, DEFAULT_CAPABILITIES, type Limits } from "../options.ts";
import type { LogLevel } from "../logger.ts";
import { parseBridges } from "./parse_bridges.ts";
import { parseRules } from "./parse_rules.ts";
import { parseWorkers } from "./parse_workers.ts";

const TOP_KEYS = [
  "listeners",
  "http",
  "auth",
  "limits",
  "capabilities",
  "mqtt",
  "storage",
  "sys",
  "log",
  "cluster",
];
// Bridges and rules (src/config/parse_bridges.ts, parse_rules.ts), on a line of their own.
TOP_KEYS.push("bridges", "rules");
// Worker threads sharing the listeners' ports (src/config/parse_workers.ts).
TOP_KEYS.push("workers");
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
  maxSubscribeEntries: [0, MAX_COUNT],
  authFailureDelay: [0, 60_000],
  maxPersistentSessions: [0, MAX_COUNT],
  maxRetainedMessages: [0, MAX_COUNT],
  maxRetainedBytes: [0, Number.MAX_SAFE_INTEGER],
  maxQueuedBytes: [0, Number.MAX_SAFE_INTEGER],
  v3SessionExpiryInterval: [1, 0xffff_ffff],
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
  const capabilities = parseCapabilities(check, top.capabilities);
  const mqtt = parseMqtt(check, top.mqtt);
  const storage = parseStorage(check, top.storage, source);
  const sys = parseSys(check, top.sys);
  const log = parseLog(check, top.log);
  if (http) checkAddressClash(check, listeners, http);
  const bridges = "bridges" in top ? parseBridges(check, top.bridges) : [];
  const rules = "rules" in top ? parseRules(check, top.rules, bridges.map((b) => b.name)) : [];

  const extras = { ...(bridges.length > 0 ? { bridges } : {}), ...(rules.length > 0 ? { rules } : {}) };

  const cluster = "cluster" in top ? parseCluster(check, top.cluster, source) : undefined;
  if (cluster !== undefined) checkClusterStorage(check, storage.type);

  const workers = "workers" in top ? parseWorkers(check, top.workers, storage, cluster) : undefined;

  check.throwIfAny();
  return {
    listeners,
    http,
    auth,
    limits,
    capabilities,
    mqtt,
    storage,
    sys,
    log,
    ...extras,
    ...(cluster === undefined ? {} : { cluster }),
    ...(workers === undefined ? {} : { workers }),
  };
}

function parseHttp(check: Checker, value: unknown): HttpConfig | undefined {
  const map = check.mapping(value, ["http"], ["address", "auth", "maxEventStreams"]);
  if (!map) return undefined;
  const address = "address" in map ? checkAddress(check, map.address, ["http", "address"]) : DEFAULT_HTTP;
  const auth = "auth" in map ? parseHttpAuth(check, map.auth) : undefined;
  const maxEventStreams = "maxEventStreams" in map
    ? check.wholeNumber(map.maxEventStreams, ["http", "maxEventStreams"], 1, 100_000)
    : undefined;
  if (address === undefined) return undefined;
  const http = {
    host: address.host,
    port: address.port,
    ...(maxEventStreams === undefined ? {} : { maxEventStreams }),
  };
  return auth === undefined ? http : { ...http, auth };
}

/** `http.auth`: a bearer token and/or basic auth credentials, and whether reading is public. */
function parseHttpAuth(check: Checker, value: unknown): HttpAuthConfig | undefined {
  const path = ["http", "auth"];
  const map = check.mapping(value, path, ["token", "username", "password", "publicRead"]);
  if (!map) return undefined;
  const token = "token" in map ? check.string(map.token, [...path, "token"]) : undefined;
  if (token !== undefined && token.length < MIN_HTTP_TOKEN_LENGTH) {
    check.problem(
      [...path, "token"],
      `expected at least ${MIN_HTTP_TOKEN_LENGTH} characters, received ${token.length}`,
    );
  }
  const username = "username" in map ? check.string(map.username, [...path, "username"]) : undefined;
  if (username?.includes(":")) {
    check.problem([...path, "username"], `a basic auth user name cannot contain ":"`);
  }
  const password = "password" in map ? check.string(map.password, [...path, "password"]) : undefined;
  if (("username" in map) !== ("password" in map)) {
    check.problem(path, `basic auth needs both "username" and "password"`);
  }
  if (!("token" in map) && !("username" in map) && !("password" in map)) {
    check.problem(path, `expected "token" or "username" and "password"`);
  }
  const publicRead = "publicRead" in map ? check.boolean(map.publicRead, [...path, "publicRead"]) : false;
  return {
    ...(token === undefined ? {} : { token }),
    ...(username === undefined || password === undefined ? {} : { username, password }),
    publicRead: publicRead ?? false,
  };
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

function parseCapabilities(check: Checker, value: unknown): Capabilities {
  const caps: Capabilities = { ...DEFAULT_CAPABILITIES };
  if (value === undefined) return caps;
  const map = check.mapping(value, ["capabilities"], Object.keys(DEFAULT_CAPABILITIES));
  if (!map) return caps;
  for (const [key, raw] of Object.entries(map)) {
    if (key === "maximumQoS") {
      const q = check.wholeNumber(raw, ["capabilities", key], 0, 2);
      if (q !== undefined) caps.maximumQoS = q as 0 | 1 | 2;
      continue;
    }
    const b = check.boolean(raw, ["capabilities", key]);
    if (b !== undefined) (caps as unknown as Record<string, boolean>)[key] = b;
  }
  return caps;
}

/** `mqtt`: protocol choices that are not limits or capabilities. */
function parseMqtt(check: Checker, value: unknown): MqttConfig {
  if (value === undefined) return DEFAULT_CONFIG.mqtt;
  const map = check.mapping(value, ["mqtt"], [
    "sharedSubscriptionStrategy",
    "responseInformation",
    "allowCrossUserTakeover",
  ]);
  if (!map) return DEFAULT_CONFIG.mqtt;
  const strategy = "sharedSubscriptionStrategy" in map
    ? check.oneOf(
      map.sharedSubscriptionStrategy,
      ["mqtt", "sharedSubscriptionStrategy"],
      ["round-robin", "random"] as const,
    )
    : undefined;
  const info = "responseInformation" in map
    ? check.string(map.responseInformation, ["mqtt", "responseInformation"])
    : undefined;
  const takeover = "allowCrossUserTakeover" in map
    ? check.boolean(map.allowCrossUserTakeover, ["mqtt", "allowCrossUserTakeover"])
    : undefined;
  return {
    sharedSubscriptionStrategy: strategy ?? DEFAULT_CONFIG.mqtt.sharedSubscriptionStrategy,
    ...(info === undefined ? {} : { responseInformation: info }),
    allowCrossUserTakeover: takeover ?? false,
  };
}

/** `storage`: `memory` (nothing kept across restarts, the default), or `denokv` or `sqlite` with a file path. */
function parseStorage(check: Checker, value: unknown, _source: string): StorageConfig {
  if (value === undefined) return DEFAULT_CONFIG.storage;
  const map = check.mapping(value, ["storage"], [
    "type",
    "path",
    "durableAcks",
    "maxDelay",
    "maxPending",
    "maxPendingAcks",
  ]);
  if (!map) return DEFAULT_CONFIG.storage;
  const type = "type" in map
    ? check.oneOf(map.type, ["storage", "type"], ["memory", "denokv", "sqlite"] as const)
    : "memory";
  const path = "path" in map ? check.string(map.path, ["storage", "path"]) : undefined;
  if ((type === "denokv" || type === "sqlite") && path === undefined && !("path" in map)) {
    check.problem(["storage"], `type "${type}" needs a "path" to the database file`);
  }
  if (type === "memory" && "path" in map) {
    check.problem(["storage", "path"], `only used with type "denokv" or "sqlite"`);
  }
  const durableAcks = "durableAcks" in map
    ? check.boolean(map.durableAcks, ["storage", "durableAcks"])
    : true;
  const maxDelay = "maxDelay" in map
    ? check.wholeNumber(map.maxDelay, ["storage", "maxDelay"], 0, 10_000)
    : 5;
  const defaults = DEFAULT_CONFIG.storage;
  const maxPending = "maxPending" in map
    ? check.wholeNumber(map.maxPending, ["storage", "maxPending"], 1, 10_000_000)
    : defaults.maxPending;
  const maxPendingAcks = "maxPendingAcks" in map
    ? check.wholeNumber(map.maxPendingAcks, ["storage", "maxPendingAcks"], 1, 65_535)
    : defaults.maxPendingAcks;
  return {
    type: type ?? "memory",
    ...(path === undefined ? {} : { path }),
    durableAcks: durableAcks ?? true,
    maxDelay: maxDelay ?? 5,
    maxPending: maxPending ?? defaults.maxPending,
    maxPendingAcks: maxPendingAcks ?? defaults.maxPendingAcks,
  };
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

function checkAddressClash(check: Checker, listeners: readonly ListenerConfig[], http: HttpConfig): void {
  if (http.port === 0) return;
  const i = listeners.findIndex((l) => l.port === http.port && l.host === http.host);
  if (i >= 0) {
    check.problem(["http", "address"], `address ${formatAddress(http)} is already used by listeners[${i}]`);
  }
}
