/**
 * The `cluster:` mapping: this broker's node name and how to reach NATS.
 *
 * ```yaml
 * cluster:
 *   node: n1                                   # default: host name and first tcp port
 *   nats:
 *     servers: ["nats://127.0.0.1:4222"]
 *     user: broker                             # or token, or credsFile
 *     pass: secret
 *     tls: { ca: ca.pem, cert: client.pem, key: client-key.pem }
 * ```
 * @module
 */

import type { Checker } from "./checker.ts";
import type { ClusterConfig, ClusterNatsConfig } from "./config.ts";

const CLUSTER_KEYS = [
  "node",
  "nats",
  "prefix",
  "heartbeatMs",
  "deadAfterMs",
  "replicas",
  "shutdownGraceMs",
  "sessionSweepMs",
];
const NATS_KEYS = ["servers", "user", "pass", "token", "credsFile", "tls"];
const TLS_KEYS = ["ca", "cert", "key"];
const NODE_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const SERVER_URL = /^(nats|tls|wss?):\/\/[^\s/]+(:\d+)?\/?$|^[^\s/:]+(:\d+)?$/;

/**
 * A cluster keeps sessions, their queues and retained messages in JetStream, so a `storage` file next to it
 * would hold a second copy of each session that goes stale as soon as the session moves to another node:
 * refused. `storage.durableAcks`, `maxDelay` and `maxPending` still apply, to the cluster's session store.
 */
export function checkClusterStorage(check: Checker, storageType: string): void {
  if (storageType === "memory") return;
  check.problem(
    ["storage", "type"],
    `"${storageType}" cannot be used with "cluster": the cluster keeps sessions, queued and retained messages ` +
      `in JetStream (cluster.nats); remove "storage" or use type "memory"`,
  );
}

/** Parse `cluster:`; file paths are made relative to the config file's folder (`source`). */
export function parseCluster(check: Checker, value: unknown, source: string): ClusterConfig | undefined {
  const map = check.mapping(value, ["cluster"], CLUSTER_KEYS);
  if (!map) return undefined;
  let node: string | undefined;
  if ("node" in map) {
    node = check.string(map.node, ["cluster", "node"]);
    if (node !== undefined && !NODE_NAME.test(node)) {
      check.problem(
        ["cluster", "node"],
        `expected 1 to 64 letters, digits, "_" or "-", received ${JSON.stringify(node)}`,
      );
    }
  }
  const nats = "nats" in map ? parseNats(check, map.nats, source) : undefined;
  if (!("nats" in map)) check.problem(["cluster"], `missing key "nats" (with "servers")`);
  const prefix = "prefix" in map ? check.string(map.prefix, ["cluster", "prefix"]) : undefined;
  if (prefix !== undefined && !/^[A-Za-z0-9_-]{1,32}$/.test(prefix)) {
    check.problem(
      ["cluster", "prefix"],
      `expected 1 to 32 letters, digits, "_" or "-", received ${JSON.stringify(prefix)}`,
    );
  }
  const heartbeatMs = "heartbeatMs" in map
    ? check.wholeNumber(map.heartbeatMs, ["cluster", "heartbeatMs"], 50, 60_000)
    : 1000;
  const deadAfterMs = "deadAfterMs" in map
    ? check.wholeNumber(map.deadAfterMs, ["cluster", "deadAfterMs"], 200, 600_000)
    : 4000;
  if (heartbeatMs !== undefined && deadAfterMs !== undefined && deadAfterMs < heartbeatMs * 2) {
    check.problem(
      ["cluster", "deadAfterMs"],
      `expected at least twice heartbeatMs (${heartbeatMs * 2}), received ${deadAfterMs}`,
    );
  }
  const replicas = "replicas" in map ? check.wholeNumber(map.replicas, ["cluster", "replicas"], 1, 5) : 1;
  const shutdownGraceMs = "shutdownGraceMs" in map
    ? check.wholeNumber(map.shutdownGraceMs, ["cluster", "shutdownGraceMs"], 0, 60_000)
    : 2000;
  const sessionSweepMs = "sessionSweepMs" in map
    ? check.wholeNumber(map.sessionSweepMs, ["cluster", "sessionSweepMs"], 100, 86_400_000)
    : 60_000;
  if (nats === undefined) return undefined;
  return {
    ...(node === undefined ? {} : { node }),
    nats,
    prefix: prefix ?? "mqtt",
    heartbeatMs: heartbeatMs ?? 1000,
    deadAfterMs: deadAfterMs ?? 4000,
    replicas: replicas ?? 1,
    shutdownGraceMs: shutdownGraceMs ?? 2000,
    sessionSweepMs: sessionSweepMs ?? 60_000,
  };
}

function parseNats(check: Checker, value: unknown, source: string): ClusterNatsConfig | undefined {
  const path = ["cluster", "nats"];
  const map = check.mapping(value, path, NATS_KEYS);
  if (!map) return undefined;
  const servers: string[] = [];
  if (!("servers" in map)) check.problem(path, `missing key "servers" (e.g. ["nats://127.0.0.1:4222"])`);
  else {
    const list = typeof map.servers === "string"
      ? [map.servers]
      : check.list(map.servers, [...path, "servers"]);
    if (list !== undefined && list.length === 0) {
      check.problem([...path, "servers"], "expected at least one server");
    }
    list?.forEach((item, i) => {
      const url = check.string(item, [...path, "servers", i]);
      if (url === undefined) return;
      if (!SERVER_URL.test(url)) {
        check.problem(
          [...path, "servers", i],
          `expected a NATS URL like "nats://host:4222", received ${JSON.stringify(url)}`,
        );
      } else servers.push(url);
    });
  }
  const str = (key: string) => (key in map ? check.string(map[key], [...path, key]) : undefined);
  const user = str("user");
  const pass = str("pass");
  const token = str("token");
  const credsFile = str("credsFile");
  if (("user" in map) !== ("pass" in map)) check.problem(path, `"user" and "pass" go together`);

  if (token !== undefined && user !== undefined) {
    check.problem([...path, "token"], `use either "token" or "user"/"pass"`);
  }
  let tls: ClusterNatsConfig["tls"];
  if ("tls" in map) {
    const t = check.mapping(map.tls, [...path, "tls"], TLS_KEYS);
    if (t) {
      const file = (key: string) => {
        const f = key in t ? check.string(t[key], [...path, "tls", key]) : undefined;
        return f === undefined ? undefined : relativeTo(source, f);
      };
      const ca = file("ca");
      const cert = file("cert");
      const key = file("key");
      if ((cert === undefined) !== (key === undefined)) {
        check.problem([...path, "tls"], `"cert" and "key" go together`);
      }
      tls = { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) };
    }
  }
  return {
    servers,
    ...(user === undefined ? {} : { user }),
    ...(pass === undefined ? {} : { pass }),
    ...(token === undefined ? {} : { token }),
    ...(credsFile === undefined ? {} : { credsFile: relativeTo(source, credsFile) }),
    ...(tls === undefined ? {} : { tls }),
  };
}

/** `file` relative to the folder of the config file `source` (absolute paths stay). */
function relativeTo(source: string, file: string): string {
  if (file.startsWith("/")) return file;
  const slash = source.lastIndexOf("/");
  return slash < 0 ? file : `${source.slice(0, slash)}/${file}`;
}
