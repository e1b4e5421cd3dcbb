/**
 * The `bridges:` list of the config file.
 *
 * ```yaml
 * bridges:
 *   - name: cloud
 *     remote: { url: "mqtts://cloud.example:8883", clientId: edge-1, ca: ./ca.pem, protocolVersion: 5 }
 *     out: [ { local: "sensors/#", remote: "site1/sensors/#", qos: 1 } ]
 *     in:  [ { remote: "site1/cmd/#", local: "cmd/#", qos: 1 } ]
 *     queue: { maxMessages: 100000, maxBytes: 64MiB, policy: drop-oldest }
 * ```
 * @module
 */

import type { Checker } from "./checker.ts";
import type { KeyPath } from "./yaml_source.ts";
import { checkTopicFilter } from "../topics/topic_rules.ts";
import { mappingProblem, type TopicMapping } from "../bridge/topic_mapping.ts";
import type { QueueFullPolicy } from "../bridge/bridge_queue.ts";

/** One bridge as configured. File paths (ca, cert, key) are as written; the CLI resolves them. */
export interface BridgeConfig {
  /** Unique name of the bridge, used in logs, status and storage keys. */
  readonly name: string;
  /** Where and how to connect to the remote broker. */
  readonly remote: BridgeRemoteConfig;
  /** Local filter -> remote filter. */
  readonly out: readonly TopicMapping[];
  /** Remote filter -> local filter. */
  readonly in: readonly TopicMapping[];
  /** Store-and-forward queue bounds. Defaults 100 000 messages, 64 MiB, `drop-oldest`. */
  readonly queue: {
    readonly maxMessages: number;
    readonly maxBytes: number;
    readonly policy: QueueFullPolicy;
  };
  /** Reconnect back-off bounds in milliseconds. Defaults 500 and 30 000. */
  readonly reconnect: { readonly minDelay: number; readonly maxDelay: number };
  /** Messages sent and not yet acknowledged at one time. */
  readonly inflight: number;
}

/** `bridges[].remote`. */
export interface BridgeRemoteConfig {
  /** `mqtt://`, `mqtts://`, `ws://` or `wss://` URL of the remote broker. */
  readonly url: string;
  /** Client id the bridge connects with. */
  readonly clientId: string;
  /** User name for the remote, if it needs one. */
  readonly username?: string;
  /** Password for the remote, if it needs one. */
  readonly password?: string;
  /** Path of a PEM file of CA certificates to verify the remote with. */
  readonly ca?: string;
  /** Path of a PEM client certificate, for remotes that ask for one. */
  readonly cert?: string;
  /** Path of the PEM private key of `cert`. */
  readonly key?: string;
  /** MQTT protocol level to connect with (3, 4 or 5). Default 5. */
  readonly protocolVersion: 3 | 4 | 5;
  /** Keep-alive in seconds. Default 30. */
  readonly keepalive: number;
}

/** Defaults of the optional bridge keys. */
export const BRIDGE_DEFAULTS = Object.freeze({
  maxMessages: 100_000,
  maxBytes: 64 * 1024 * 1024,
  policy: "drop-oldest" as QueueFullPolicy,
  minDelay: 500,
  maxDelay: 30_000,
  inflight: 64,
  protocolVersion: 5 as const,
  keepalive: 30,
});

const KEYS = ["name", "remote", "out", "in", "queue", "reconnect", "inflight"];
const REMOTE_KEYS = [
  "url",
  "clientId",
  "username",
  "password",
  "ca",
  "cert",
  "key",
  "protocolVersion",
  "keepalive",
];
const NAME = /^[A-Za-z0-9_-]{1,64}$/;
const UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

/** `64MiB`, `500kB`, `1048576`: a size in bytes; undefined (and a problem) for anything else. */
export function parseSize(check: Checker, value: unknown, path: KeyPath): number | undefined {
  if (typeof value === "number" && Number.isInteger(value) && value > 0) return value;
  const m = typeof value === "string" ? /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$/.exec(value) : null;
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined || Number(m[1]) <= 0) {
    check.problem(
      path,
      `expected a size such as 67108864, "64MiB" or "500kB", received ${JSON.stringify(value)}`,
    );
    return undefined;
  }
  return Math.round(Number(m[1]) * unit);
}

/** `bridges:`. */
export function parseBridges(check: Checker, value: unknown): BridgeConfig[] {
  const items = check.list(value, ["bridges"]) ?? [];
  const out: BridgeConfig[] = [];
  const names = new Map<string, number>();
  items.forEach((item, i) => {
    const path = ["bridges", i];
    const map = check.mapping(item, path, KEYS);
    if (!map) return;
    const name = "name" in map ? check.string(map.name, [...path, "name"]) : undefined;
    if (!("name" in map)) check.problem(path, 'missing key "name"');
    if (name !== undefined) {
      if (!NAME.test(name)) {
        check.problem(
          [...path, "name"],
          `expected 1 to 64 letters, digits, "_" or "-", received ${JSON.stringify(name)}`,
        );
      }
      const first = names.get(name);
      if (first !== undefined) {
        check.problem([...path, "name"], `duplicate name "${name}" (also bridges[${first}])`);
      } else names.set(name, i);
    }
    const remote = "remote" in map ? parseRemote(check, map.remote, [...path, "remote"]) : undefined;
    if (!("remote" in map)) check.problem(path, 'missing key "remote" (with at least "url")');
    const outMaps = "out" in map ? parseMappings(check, map.out, [...path, "out"], "local", "remote") : [];
    const inMaps = "in" in map ? parseMappings(check, map.in, [...path, "in"], "remote", "local") : [];
    if (!("out" in map) && !("in" in map)) {
      check.problem(path, 'expected at least one topic mapping in "out" or "in"');
    }
    const q = "queue" in map
      ? check.mapping(map.queue, [...path, "queue"], ["maxMessages", "maxBytes", "policy"])
      : {};
    const maxMessages = q && "maxMessages" in q
      ? check.wholeNumber(q.maxMessages, [...path, "queue", "maxMessages"], 1, 100_000_000)
      : BRIDGE_DEFAULTS.maxMessages;
    const maxBytes = q && "maxBytes" in q
      ? parseSize(check, q.maxBytes, [...path, "queue", "maxBytes"])
      : BRIDGE_DEFAULTS.maxBytes;
    const policy = q && "policy" in q
      ? check.oneOf(q.policy, [...path, "queue", "policy"], ["drop-oldest", "refuse-new"] as const)
      : BRIDGE_DEFAULTS.policy;
    const r = "reconnect" in map
      ? check.mapping(map.reconnect, [...path, "reconnect"], ["minDelay", "maxDelay"])
      : {};
    const minDelay = r && "minDelay" in r
      ? check.wholeNumber(r.minDelay, [...path, "reconnect", "minDelay"], 10, 3_600_000)
      : BRIDGE_DEFAULTS.minDelay;
    const maxDelay = r && "maxDelay" in r
      ? check.wholeNumber(r.maxDelay, [...path, "reconnect", "maxDelay"], 10, 3_600_000)
      : Math.max(BRIDGE_DEFAULTS.maxDelay, minDelay ?? 0);
    if (minDelay !== undefined && maxDelay !== undefined && maxDelay < minDelay) {
      check.problem([...path, "reconnect", "maxDelay"], `must be at least minDelay (${minDelay})`);
    }
    const inflight = "inflight" in map
      ? check.wholeNumber(map.inflight, [...path, "inflight"], 1, 65_535)
      : BRIDGE_DEFAULTS.inflight;
    if (
      name === undefined || remote === undefined || maxMessages === undefined || maxBytes === undefined ||
      policy === undefined || minDelay === undefined || maxDelay === undefined || inflight === undefined
    ) return;
    out.push({
      name,
      remote,
      out: outMaps,
      in: inMaps,
      queue: { maxMessages, maxBytes, policy },
      reconnect: { minDelay, maxDelay },
      inflight,
    });
  });
  return out;
}

function parseRemote(check: Checker, value: unknown, path: KeyPath): BridgeRemoteConfig | undefined {
  const map = check.mapping(value, path, REMOTE_KEYS);
  if (!map) return undefined;
  const url = "url" in map ? check.string(map.url, [...path, "url"]) : undefined;
  if (!("url" in map)) check.problem(path, 'missing key "url" (e.g. "mqtt://cloud.example:1883")');
  if (url !== undefined && !/^(mqtts?|wss?|tcp|ssl|tls):\/\/[^/]+/.test(url)) {
    check.problem(
      [...path, "url"],
      `expected mqtt://, mqtts://, ws:// or wss:// and a host, received ${JSON.stringify(url)}`,
    );
  }
  const str = (key: string): string | undefined =>
    key in map ? check.string(map[key], [...path, key]) : undefined;
  const clientId = str("clientId");
  if (!("clientId" in map)) {
    check.problem(path, 'missing key "clientId" (the id this broker uses on the remote)');
  }
  const protocolVersion = "protocolVersion" in map
    ? check.oneOf(String(map.protocolVersion), [...path, "protocolVersion"], ["3", "4", "5"] as const)
    : "5";
  const keepalive = "keepalive" in map
    ? check.wholeNumber(map.keepalive, [...path, "keepalive"], 0, 65_535)
    : BRIDGE_DEFAULTS.keepalive;
  if (("cert" in map) !== ("key" in map)) {
    check.problem(path, 'a client certificate needs both "cert" and "key"');
  }
  if (
    url === undefined || clientId === undefined || protocolVersion === undefined || keepalive === undefined
  ) {
    return undefined;
  }
  const optional: Record<string, string> = {};
  for (const key of ["username", "password", "ca", "cert", "key"]) {
    const v = str(key);
    if (v !== undefined) optional[key] = v;
  }
  return { url, clientId, protocolVersion: Number(protocolVersion) as 3 | 4 | 5, keepalive, ...optional };
}

function parseMappings(
  check: Checker,
  value: unknown,
  path: KeyPath,
  fromKey: string,
  toKey: string,
): TopicMapping[] {
  const items = check.list(value, path) ?? [];
  const out: TopicMapping[] = [];
  items.forEach((item, i) => {
    const p = [...path, i];
    const map = check.mapping(item, p, [fromKey, toKey, "qos"]);
    if (!map) return;
    const filter = (key: string): string | undefined => {
      if (!(key in map)) {
        check.problem(p, `missing key "${key}"`);
        return undefined;
      }
      const f = check.string(map[key], [...p, key]);
      if (f === undefined) return undefined;
      const problem = checkTopicFilter(f, { maxTopicLength: 65_535, maxTopicLevels: 0 });
      if (problem !== undefined) check.problem([...p, key], problem);
      return problem === undefined ? f : undefined;
    };
    const from = filter(fromKey);
    const to = filter(toKey);
    const qos = "qos" in map ? check.wholeNumber(map.qos, [...p, "qos"], 0, 2) : 1;
    if (from === undefined || to === undefined || qos === undefined) return;
    const problem = mappingProblem(from, to);
    if (problem !== undefined) {
      check.problem(p, problem);
      return;
    }
    out.push({ from, to, qos: qos as 0 | 1 | 2 });
  });
  return out;
}
