/**
 * The broker's configuration as the CLI uses it, and its defaults.
 *
 * Defaults for a config file follow Mosquitto 2.0's safe choice: a file that names no `auth` gets
 * `{ type: "deny" }`, so opening a listener to the network never also opens it to anonymous clients.
 * (The CLI run with no config file at all is different: it listens on 127.0.0.1 only and allows everyone.)
 * @module
 */

import { DEFAULT_LIMITS } from "../options.ts";
import type { Limits } from "../options.ts";
import type { LogLevel } from "../logger.ts";

/** Kinds of MQTT listener the config accepts. */
export type ListenerType = "tcp" | "ws";

/** One MQTT listener. */
export interface ListenerConfig {
  readonly type: ListenerType;
  /** Unique id; defaults to the type and a counter: `tcp1`, `tcp2`, `ws1`. */
  readonly id: string;
  readonly host: string;
  /** 0 asks for an ephemeral port. */
  readonly port: number;
  /** HTTP path of a WebSocket listener (default `/mqtt`); undefined for tcp. */
  readonly path?: string;
}

/** The dashboard / HTTP API listener. */
export interface HttpConfig {
  readonly host: string;
  readonly port: number;
}

/** Which authentication hook to install. */
export type AuthConfig =
  | { readonly type: "allow" }
  | { readonly type: "deny" }
  /** `file` as written in the config; the CLI resolves a relative path against the config file's folder. */
  | { readonly type: "file"; readonly file: string };

/** A whole, validated configuration: every key present. */
export interface Config {
  readonly listeners: readonly ListenerConfig[];
  /** Undefined when there is no `http` key (no dashboard). */
  readonly http?: HttpConfig;
  readonly auth: AuthConfig;
  readonly limits: Readonly<Limits>;
  /** `$SYS` publication interval in seconds; 0 turns it off. */
  readonly sys: { readonly interval: number };
  readonly log: { readonly level: LogLevel; readonly format: "text" | "json" };
}

/** Log levels accepted by `log.level`. */
export const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error", "silent"];

/** Defaults of the WebSocket path and of the `http` address when the `http` key is present. */
export const DEFAULT_WS_PATH = "/mqtt";
/** The dashboard binds to loopback unless told otherwise: it has no login of its own yet. */
export const DEFAULT_HTTP: HttpConfig = Object.freeze({ host: "127.0.0.1", port: 8080 });

/** What a config file gets for each key it leaves out. */
export const DEFAULT_CONFIG: Config = Object.freeze({
  listeners: Object.freeze([
    Object.freeze({ type: "tcp", id: "tcp1", host: "0.0.0.0", port: 1883 } as const),
  ]),
  http: undefined,
  auth: Object.freeze({ type: "deny" } as const),
  limits: DEFAULT_LIMITS,
  sys: Object.freeze({ interval: 10 }),
  log: Object.freeze({ level: "info", format: "text" } as const),
});

/**
 * The configuration the CLI uses when it is given no config file: local connections only, every client
 * allowed. Safe because nothing outside this machine can reach it.
 */
export const LOCAL_CONFIG: Config = Object.freeze({
  ...DEFAULT_CONFIG,
  listeners: Object.freeze([
    Object.freeze({ type: "tcp", id: "tcp1", host: "127.0.0.1", port: 1883 } as const),
  ]),
  auth: Object.freeze({ type: "allow" } as const),
});
