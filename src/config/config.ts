/**
 * The broker's configuration as the CLI uses it, and its defaults.
 *
 * Defaults for a config file follow Mosquitto 2.0's safe choice: a file that names no `auth` gets
 * `{ type: "deny" }`, so opening a listener to the network never also opens it to anonymous clients.
 * (The CLI run with no config file at all is different: it listens on 127.0.0.1 only and allows everyone.)
 * @module
 */

import { DEFAULT_CAPABILITIES, DEFAULT_LIMITS } from "../options.ts";
import type { Capabilities, Limits } from "../options.ts";
import type { LogLevel } from "../logger.ts";
import type { AuthChainConfig, BackendAuthConfig } from "./auth_config.ts";
import type { BridgeConfig } from "./parse_bridges.ts";
import type { RuleConfig } from "../rules/rule.ts";

/** Kinds of listener the config accepts: MQTT over TCP, WebSocket or a Unix socket, and the CoAP gateway (UDP). */
export type ListenerType = "tcp" | "ws" | "unix" | "coap";

/** One MQTT listener. */
export interface ListenerConfig {
  /** What the listener speaks: `tcp`, `ws`, `unix` or `coap`. */
  readonly type: ListenerType;
  /** Unique id; defaults to the type and a counter: `tcp1`, `tcp2`, `ws1`. */
  readonly id: string;
  /** Address to bind, e.g. `0.0.0.0` or `127.0.0.1`. */
  readonly host: string;
  /** 0 asks for an ephemeral port. */
  readonly port: number;
  /**
   * HTTP path of a WebSocket listener (default `/mqtt`); the socket file of a unix listener (its host is then
   * `localhost` and its port 0: a Unix socket only takes connections from this machine).
   */
  readonly path?: string;
  /** unix only: permission bits of the socket file (who may connect), e.g. 0o660. */
  readonly mode?: number;
  /** TLS: a tcp listener becomes MQTT over TLS, a ws listener WSS. Undefined for plain ones. */
  readonly tls?: ListenerTlsConfig;
  /** Most connections open at once on this listener; undefined (or 0) for no limit. */
  readonly maxConnections?: number;
  /** This listener's own authentication, used instead of the top-level `auth` for its clients. */
  readonly auth?: AuthConfig;
  /**
   * ws only: browser origins allowed to connect (`*` wildcards). Undefined: any origin, except on a listener
   * that lets anonymous clients in (auth allow), where only pages from this machine (localhost) may connect.
   */
  readonly allowedOrigins?: readonly string[];
}

/**
 * The TLS of one listener, with PEM file paths as written in the config (the CLI reads them relative to the
 * config file's folder).
 */
export interface ListenerTlsConfig {
  /** Server certificate chain file (PEM). */
  readonly cert: string;
  /** Private key file (PEM). */
  readonly key: string;
  /** CA file (PEM): when set, clients must present a certificate signed by it. */
  readonly clientCa?: string;
  /** Take the user name from the client certificate's common name (Mosquitto's use_identity_as_username). */
  readonly useIdentityAsUsername: boolean;
}

/**
 * Who may use the dashboard and the HTTP API: a bearer token, basic auth, or both. Healthz and readyz stay open.
 */
export interface HttpAuthConfig {
  /** `Authorization: Bearer TOKEN`; at least {@link MIN_HTTP_TOKEN_LENGTH} characters. */
  readonly token?: string;
  /** Basic auth user name (given with `password`). */
  readonly username?: string;
  /** Basic auth password (given with `username`). */
  readonly password?: string;
  /** True: reading (the page, GET requests, /metrics) needs no credentials; changes still do. Default false. */
  readonly publicRead: boolean;
}

/** The shortest bearer token the config accepts. */
export const MIN_HTTP_TOKEN_LENGTH = 16;

/** The dashboard / HTTP API listener. */
export interface HttpConfig {
  /** Address the dashboard binds. Default `127.0.0.1`. */
  readonly host: string;
  /** Port of the dashboard. Default 8080. */
  readonly port: number;
  /** Credentials; undefined leaves the dashboard open to whoever can reach its address. */
  readonly auth?: HttpAuthConfig;
  /** Live dashboard (SSE) connections at once; more are refused with 503. Absent: 32 (DEFAULT_MAX_EVENT_STREAMS). */
  readonly maxEventStreams?: number;
}

/** Which authentication hook to install. */
export type AuthConfig =
  | { readonly type: "allow" }
  | { readonly type: "deny" }
  /** `file` as written in the config; the CLI resolves a relative path against the config file's folder. */
  | { readonly type: "file"; readonly file: string }
  /** HTTP, Redis, PostgreSQL, MySQL, JWT, or several in order: see auth_config.ts. */
  | BackendAuthConfig
  | AuthChainConfig
  /**
   * A listener's own: clients with a verified certificate are let in, and `file` (a users file, usually only
   * ACL rules) checks their topics under the certificate's common name. Needs `tls.clientCa` and
   * `tls.useIdentityAsUsername` on that listener.
   */
  | { readonly type: "certificate"; readonly file: string };

/** A whole, validated configuration: every key present. */
export interface Config {
  /** The MQTT (and CoAP) listeners. Default one `tcp` listener on 0.0.0.0:1883. */
  readonly listeners: readonly ListenerConfig[];
  /** Undefined when there is no `http` key (no dashboard). */
  readonly http?: HttpConfig;
  /** Authentication for every listener that has no `auth` of its own. Default `{ type: "deny" }`. */
  readonly auth: AuthConfig;
  /**
   * Size and count limits (packet size, inflight, queues, ...); keys left out take {@link DEFAULT_LIMITS}.
   */
  readonly limits: Readonly<Limits>;
  /** What the broker offers (advertised to MQTT 5 clients, enforced for all). */
  readonly capabilities: Readonly<Capabilities>;
  /** Protocol choices: shared subscription strategy, MQTT 5 Response Information. */
  readonly mqtt: MqttConfig;
  /** Persistence. */
  readonly storage: StorageConfig;
  /** `$SYS` publication interval in seconds; 0 turns it off. */
  readonly sys: { readonly interval: number };
  /** Logging: the lowest level written (default `info`) and the line format (default `text`). */
  readonly log: { readonly level: LogLevel; readonly format: "text" | "json" };
  /** Bridges to other brokers (src/bridge/); none when absent. */
  readonly bridges?: readonly BridgeConfig[];
  /** Rules (src/rules/); none when absent. */
  readonly rules?: readonly RuleConfig[];
  /** Cluster membership over NATS; absent for a broker on its own. */
  readonly cluster?: ClusterConfig;
  /** Broker worker threads sharing each listener's port; `auto` is one per core. Absent: 1 (no workers). */
  readonly workers?: number | "auto";
}

/** `cluster`: this node and the NATS it joins through. */
export interface ClusterConfig {
  /** Unique node name; the CLI defaults it to the host name and first tcp port. */
  readonly node?: string;
  /** How to reach NATS. */
  readonly nats: ClusterNatsConfig;
  /** NATS subject and KV bucket prefix (several clusters may share one NATS). Default `mqtt`. */
  readonly prefix: string;
  /** Milliseconds between liveness beats. Default 1000. */
  readonly heartbeatMs: number;
  /** A node silent this long is dead and a survivor publishes its wills. Default 4000. */
  readonly deadAfterMs: number;
  /** JetStream replicas of the cluster's KV buckets (3 with a 3-server NATS cluster). Default 1. */
  readonly replicas: number;
  /** On a graceful stop, how long (ms) clients of persistent sessions get to take them over elsewhere. Default 2000. */
  readonly shutdownGraceMs: number;
  /** How often (ms) one live node ends the expired sessions of departed nodes. Default 60000. */
  readonly sessionSweepMs: number;
}

/** `cluster.nats`: how to reach NATS. */
export interface ClusterNatsConfig {
  /** NATS server URLs, e.g. `nats://127.0.0.1:4222`. */
  readonly servers: readonly string[];
  /** User name, with `pass`. */
  readonly user?: string;
  /** Password, with `user`. */
  readonly pass?: string;
  /** Authentication token. */
  readonly token?: string;
  /** Credentials file (relative to the config file). */
  readonly credsFile?: string;
  /** PEM files (relative to the config file): CA, client certificate and key. */
  readonly tls?: { readonly ca?: string; readonly cert?: string; readonly key?: string };
}

/** `mqtt`: protocol choices that are not limits or capabilities. */
export interface MqttConfig {
  /** How a shared subscription group picks the member that gets a message. */
  readonly sharedSubscriptionStrategy: "round-robin" | "random";
  /** Response Information sent in a v5 CONNACK to clients that ask for it. */
  readonly responseInformation?: string;
  /** Let a client resume or take over a session created under another user name. Default false. */
  readonly allowCrossUserTakeover: boolean;
}

/** `storage`: where sessions and messages are kept. */
export interface StorageConfig {
  /** `memory` (nothing survives a restart, the default), `denokv` or `sqlite`. */
  readonly type: "memory" | "denokv" | "sqlite";
  /** Database file for `denokv` and `sqlite` (relative paths are relative to the config file). */
  readonly path?: string;
  /** Acknowledge QoS 1/2 only once durable. */
  readonly durableAcks: boolean;
  /** Longest delay (ms) before a batch of changes is written. */
  readonly maxDelay: number;
  /** Changes waiting to be written above which clients are paused until half are written. */
  readonly maxPending: number;
  /** Acknowledgements one client may have waiting for storage before it is paused. */
  readonly maxPendingAcks: number;
}

/** Log levels accepted by `log.level`. */
export const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error", "silent"];

/** Defaults of the WebSocket path and of the `http` address when the `http` key is present. */
export const DEFAULT_WS_PATH = "/mqtt";
/** The dashboard binds to loopback unless told otherwise: without `http.auth` it has no login. */
export const DEFAULT_HTTP: HttpConfig = Object.freeze({ host: "127.0.0.1", port: 8080 });

/** What a config file gets for each key it leaves out. */
export const DEFAULT_CONFIG: Config = Object.freeze({
  listeners: Object.freeze([
    Object.freeze({ type: "tcp", id: "tcp1", host: "0.0.0.0", port: 1883 } as const),
  ]),
  http: undefined,
  auth: Object.freeze({ type: "deny" } as const),
  limits: DEFAULT_LIMITS,
  capabilities: DEFAULT_CAPABILITIES,
  mqtt: Object.freeze({ sharedSubscriptionStrategy: "round-robin", allowCrossUserTakeover: false } as const),
  storage: Object.freeze(
    { type: "memory", durableAcks: true, maxDelay: 5, maxPending: 10_000, maxPendingAcks: 256 } as const,
  ),
  sys: Object.freeze({ interval: 10 }),
  log: Object.freeze({ level: "info", format: "text" } as const),
});

/**
 * The configuration the CLI uses when it is given no config file: local connections only, every client
 * allowed, the dashboard on 127.0.0.1:8080. Safe because nothing outside this machine can reach it.
 */
export const LOCAL_CONFIG: Config = Object.freeze({
  ...DEFAULT_CONFIG,
  listeners: Object.freeze([
    Object.freeze({ type: "tcp", id: "tcp1", host: "127.0.0.1", port: 1883 } as const),
  ]),
  http: DEFAULT_HTTP,
  auth: Object.freeze({ type: "allow" } as const),
});
