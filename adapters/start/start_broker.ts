/**
 * From a validated config to a running broker: storage, the broker with its hooks, listeners, the dashboard.
 * The CLI is a thin shell over this (flags, signals, exit codes); embedders call {@link startFromConfig}.
 * @module
 */

import pkg from "../../package.json" with { type: "json" };
import { Broker } from "../../src/broker.ts";
import type { Config } from "../../src/config/config.ts";
import type { ConfigOverrides } from "../../src/config/cli_overrides.ts";
import type { Hook } from "../../src/hooks/hook.ts";
import { createLogger } from "../../src/logger.ts";
import { writeConsoleLine } from "./console_lines.ts";
import type { Logger } from "../../src/logger.ts";
import type { Storage } from "../../src/storage/storage.ts";
import type { ClusterBus } from "../../src/cluster/cluster_bus.ts";
import { storageLatency, timeStorage } from "../../src/http/storage_timing.ts";
import * as adapters from "../mod.ts";
import type { HttpServer } from "../mod.ts";
import { describeAccess } from "./auth_from_config.ts";
import { listenerFromConfig } from "./listeners_from_config.ts";
import type { Reloadable, ReloadResult } from "./reload.ts";
import { type ConfigSource, loadConfig, type LoadedConfig } from "./load_config.ts";

/** What {@link startFromConfig} and {@link startBroker} take besides the config. */
export interface StartOptions {
  /** Replace parts of the config, as the CLI's flags do (`--tcp`, `--ws`, `--http`, `--log-level`). */
  overrides?: ConfigOverrides;
  /** More hooks, run after the auth hook the config asks for. */
  hooks?: readonly Hook[];
  /** Where log lines go (one string per line). Default: standard output. */
  writeLog?: (line: string) => void;
  /**
   * Run as broker worker `index` of `workers: N` (adapters/workers/): the bus joins the workers, plain TCP listeners
   * bind with reusePort on every worker, and the other listeners and the dashboard run on worker 0 only.
   */
  worker?: { readonly index: number; readonly bus: ClusterBus };
}

/** A broker started from a config. */
export interface RunningBroker {
  /** The broker, listening. */
  readonly broker: Broker;
  /** The effective configuration (file, defaults and overrides merged). */
  readonly config: Config;
  /** The logger the broker and its parts write to. */
  readonly logger: Logger;
  /** The dashboard's server, when the config has `http`. */
  readonly http: HttpServer | undefined;
  /**
   * Read the users/ACL files (and rebuild the auth backends) and the TLS certificates again, without dropping
   * connected clients; what fails to load is logged and refused, and the old one stays. The CLI runs it on SIGHUP.
   */
  reload(): Promise<ReloadResult>;
  /** Stop the dashboard, then the broker (listeners, clients, storage). */
  close(): Promise<void>;
}

/**
 * Start a broker exactly as the CLI does from the same config: a file path, YAML text, or undefined for the
 * no-config default (127.0.0.1:1883, every client allowed, the dashboard on 127.0.0.1:8080).
 *
 * @example Load the user's comqtt.yaml and add a hook of your own
 * ```ts
 * import { startFromConfig } from "@comqtt/broker";
 * const running = await startFromConfig("./comqtt.yaml", {
 *   hooks: [{ id: "audit", onConnected: (client) => console.log("connected", client.id) }],
 * });
 * // ...
 * await running.close();
 * ```
 */
export async function startFromConfig(
  source: ConfigSource,
  options: StartOptions = {},
): Promise<RunningBroker> {
  return await startBroker(await loadConfig(source, options.overrides), options);
}

/**
 * Start a broker from a loaded config. Logs and rethrows what stops it from starting (storage that cannot open,
 * an address in use), after closing whatever had started.
 */
export async function startBroker(loaded: LoadedConfig, options: StartOptions = {}): Promise<RunningBroker> {
  const { config } = loaded;
  const logger = createLogger({
    level: config.log.level,
    format: config.log.format,
    write: options.writeLog ?? writeConsoleLine,
  });
  const fail = (error: unknown): never => {
    logger.error("cannot start", { error: (error as Error).message });
    throw error;
  };
  let storage: Storage | undefined;
  if (config.storage.type !== "memory") {
    try {
      const open = config.storage.type === "sqlite" ? adapters.openSqliteStorage : adapters.openKvStorage;
      storage = await open(config.storage.path!);
    } catch (error) {
      logger.error("cannot open storage", { path: config.storage.path, error: (error as Error).message });
      throw error;
    }
  }
  let cluster: ClusterBus | undefined = options.worker?.bus;
  if (cluster === undefined) {
    try {
      // Nothing NATS is loaded without a `cluster` key.
      cluster = config.cluster === undefined
        ? undefined
        : await (await import("../cluster/from_config.ts")).clusterFromConfig(config, logger);
    } catch (error) {
      logger.error("cannot join the cluster", { error: (error as Error).message });
      throw error;
    }
  }
  // Storage calls are timed for the dashboard's /metrics (two clock reads per batch).
  const latency = storageLatency();
  const broker = new Broker({
    logger,
    hooks: [loaded.authHook, ...(options.hooks ?? [])],
    limits: config.limits,
    capabilities: config.capabilities,
    sharedSubscriptionStrategy: config.mqtt.sharedSubscriptionStrategy,
    responseInformation: config.mqtt.responseInformation,
    allowCrossUserTakeover: config.mqtt.allowCrossUserTakeover,
    storage: storage === undefined ? undefined : timeStorage(storage, latency),
    durableAcks: config.storage.durableAcks,
    storageMaxDelay: config.storage.maxDelay,
    storageMaxPending: config.storage.maxPending,
    storageMaxPendingAcks: config.storage.maxPendingAcks,
    sysInterval: config.sys.interval,
    version: pkg.version,
    cluster,
  });
  try {
    const worker = options.worker?.index;
    for (const l of config.listeners) {
      const shared = worker !== undefined && l.type === "tcp" && l.tls === undefined;
      if (worker !== undefined && worker > 0 && !shared) continue;
      await broker.addListener(await listenerFromConfig(l, config, logger, undefined, shared));
    }
    if (config.bridges !== undefined || config.rules !== undefined) {
      // Bridges restore their stored queues (the broker's storage is restored first), so this comes before
      // listen(); the bridge and rule modules load only for a config that has them.
      await (await import("../bridge/from_config.ts")).startBridgesAndRules(broker, config);
    }
    if (broker.listeners.length === 0) {
      throw new Error(
        "no listener could be created: add a tcp listener (--tcp HOST:PORT or listeners in the config)",
      );
    }
  } catch (error) {
    await broker.close().catch(() => {});
    return fail(error);
  }
  describeAccess(logger, config, loaded.authHook, loaded.fromFile);
  let http: HttpServer | undefined;
  let closeDashboard = (): void => {};
  try {
    // Built before listen() so that its observer hook sees the first client.
    // Loaded only when asked for: Hono and the page stay out of a broker without a dashboard.
    const dashboard = config.http && !(options.worker !== undefined && options.worker.index > 0)
      ? (await import("./dashboard.ts")).startDashboard(broker, config, latency, logger)
      : undefined;
    closeDashboard = () => dashboard?.close();
    await broker.listen();
    http = await dashboard?.listen();
  } catch (error) {
    closeDashboard();
    await broker.close().catch(() => {});
    return fail(error);
  }
  logger.info("broker started", {
    version: pkg.version,
    runtime: `${adapters.runtimeName()} ${adapters.runtimeVersion()}`,
  });
  const reloadable: Reloadable = { broker, config, dir: loaded.dir, logger, authHook: loaded.authHook };
  return {
    broker,
    config,
    logger,
    http,
    reload: async () => (await import("./reload.ts")).reload(reloadable),
    async close() {
      // The dashboard first: its live-update streams end, and /readyz says 503 no more (the server is gone).
      closeDashboard();
      await http?.close();
      await broker.close();
    },
  };
}
