/**
 * The comqtt-ts command line: run a broker from flags and an optional YAML config, or hash a password.
 *
 * ```sh
 * deno run -A main.ts --config examples/auth.yaml
 * bun main.ts --tcp 127.0.0.1:1883
 * node main.ts hash-password < password.txt
 * ```
 *
 * Without `--config` the broker listens on 127.0.0.1:1883 only and allows every client (it says so when it starts);
 * its dashboard, HTTP API and /metrics are on http://127.0.0.1:8080/.
 * A config file that has no `auth` key refuses every client, as Mosquitto 2.0 does: see examples/config.yaml.
 * @module
 */

import { parseArgs } from "node:util";
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import process from "node:process";
import pkg from "./package.json" with { type: "json" };
import { Broker } from "./src/broker.ts";
import * as adapters from "./adapters/mod.ts";
import { createLogger } from "./src/logger.ts";
import type { Logger } from "./src/logger.ts";
import type { Hook } from "./src/hooks/hook.ts";
import type { Listener } from "./src/transport/connection.ts";
import type { Storage } from "./src/storage/storage.ts";
import { AllowHook } from "./src/hooks/auth/allow_hook.ts";
import { DenyHook } from "./src/hooks/auth/deny_hook.ts";
import { FileAuthHook } from "./src/hooks/auth/file_auth_hook.ts";
import { ListenerAuthHook } from "./src/hooks/auth/listener_auth_hook.ts";
import {
  DEFAULT_ITERATIONS,
  hashPassword,
  MAX_ITERATIONS,
  MIN_ITERATIONS,
} from "./src/hooks/auth/password.ts";
import { LOCAL_CONFIG } from "./src/config/config.ts";
import type { AuthConfig, Config, ListenerConfig, ListenerTlsConfig } from "./src/config/config.ts";
import { parseConfig } from "./src/config/parse_config.ts";
import { applyOverrides } from "./src/config/cli_overrides.ts";
import { formatAddress, isLoopback } from "./src/config/address.ts";
import { createHttpApp } from "./src/http/http_app.ts";
import type { HttpApp } from "./src/http/http_app.ts";
import { storageLatency, timeStorage } from "./src/http/storage_timing.ts";
import type { StorageLatency } from "./src/http/storage_timing.ts";
import type { HttpServer } from "./adapters/mod.ts";
import { clusterFromConfig } from "./adapters/cluster/from_config.ts";

/** Exit codes: 0 clean stop, 1 could not start or stop, 2 bad flags or config. */
const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;
/** How long a graceful stop may take before the process gives up and exits with 1. */
const STOP_TIMEOUT_MS = 10_000;

const HELP = `comqtt-ts ${pkg.version}: an MQTT 3.1, 3.1.1 and 5.0 broker

Usage:
  comqtt [options]                 run the broker
  comqtt hash-password [PASSWORD]  print an encoded hash for the users file
                                   (reads the password from stdin when PASSWORD is omitted, unechoed on a
                                   terminal; an argument is visible to other users in the process list)

Options:
  -c, --config FILE       YAML config (see examples/config.yaml). Without it the broker listens on
                          127.0.0.1:1883 only and allows every client.
      --tcp HOST:PORT     MQTT over TCP; repeatable; replaces the config's tcp listeners (port 0: any free port)
      --ws HOST:PORT      MQTT over WebSocket (path /mqtt); repeatable; replaces the config's ws listeners
                          (TLS and WSS listeners come from the config only: see examples/tls.yaml)
      --http HOST:PORT    dashboard, HTTP API and /metrics (default 127.0.0.1:8080 without --config;
                          with --config, only when the config has an http key or this flag is given)
      --log-level LEVEL   debug, info, warn, error or silent (default info)
      --iterations N      hash-password only: PBKDF2 iterations (default ${DEFAULT_ITERATIONS})
  -h, --help              show this help
  -V, --version           show the version

Exit status: 0 after a clean stop (SIGINT, SIGTERM), 1 when the broker cannot start, 2 for bad flags or config.
`;

/** Run the CLI with `args` (without the runtime and script); resolves to the exit code once the broker stopped. */
export async function main(args: readonly string[]): Promise<number> {
  let flags;
  try {
    flags = parseArgs({
      args: [...args],
      allowPositionals: true,
      strict: true,
      options: {
        config: { type: "string", short: "c" },
        tcp: { type: "string", multiple: true },
        ws: { type: "string", multiple: true },
        http: { type: "string" },
        "log-level": { type: "string" },
        iterations: { type: "string" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "V" },
      },
    });
  } catch (err) {
    return usageError((err as Error).message);
  }
  const { values, positionals } = flags;
  if (values.help) {
    process.stdout.write(HELP);
    return EXIT_OK;
  }
  if (values.version) {
    process.stdout.write(
      `comqtt-ts ${pkg.version} (${adapters.runtimeName()} ${adapters.runtimeVersion()})\n`,
    );
    return EXIT_OK;
  }
  if (positionals[0] === "hash-password") {
    if (positionals.length > 2) return usageError("hash-password takes at most one password");
    return await hashPasswordCommand(positionals[1], values.iterations);
  }
  if (positionals.length > 0) return usageError(`unknown command ${JSON.stringify(positionals[0])}`);
  if (values.iterations !== undefined) return usageError("--iterations only goes with hash-password");

  let config: Config;
  let hook: Hook;
  try {
    const base = values.config === undefined ? LOCAL_CONFIG : parseConfig(
      await readText(values.config, "config file"),
      values.config,
    );
    config = applyOverrides(base, {
      tcp: values.tcp,
      ws: values.ws,
      http: values.http,
      logLevel: values["log-level"],
    });
    config = withConfigRelativePaths(config, values.config);
    hook = await authHook(config, values.config);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return EXIT_USAGE;
  }
  return await run(config, hook, values.config !== undefined);
}

/** Build the broker, start it, and wait for SIGINT or SIGTERM. */
async function run(config: Config, hook: Hook, fromFile: boolean): Promise<number> {
  const logger = createLogger({
    level: config.log.level,
    format: config.log.format,
    write: (line) => console.log(line),
  });
  let storage: Storage | undefined;
  if (config.storage.type === "denokv") {
    try {
      storage = await adapters.openKvStorage(config.storage.path!);
    } catch (err) {
      logger.error("cannot open storage", { path: config.storage.path, error: (err as Error).message });
      return EXIT_FAILED;
    }
  }
  let cluster;
  try {
    cluster = await clusterFromConfig(config, logger);
  } catch (err) {
    logger.error("cannot join the cluster", { error: (err as Error).message });
    return EXIT_FAILED;
  }
  // Storage calls are timed for the dashboard's /metrics (two clock reads per batch).
  const latency = storageLatency();
  const broker = new Broker({
    logger,
    hooks: [hook],
    limits: config.limits,
    capabilities: config.capabilities,
    sharedSubscriptionStrategy: config.mqtt.sharedSubscriptionStrategy,
    responseInformation: config.mqtt.responseInformation,
    storage: storage === undefined ? undefined : timeStorage(storage, latency),
    durableAcks: config.storage.durableAcks,
    storageMaxDelay: config.storage.maxDelay,
    sysInterval: config.sys.interval,
    version: pkg.version,
    cluster,
  });
  try {
    for (const l of config.listeners) await broker.addListener(await createListener(l, logger, config));
  } catch (err) {
    logger.error("cannot start", { error: (err as Error).message });
    return EXIT_FAILED;
  }
  if (broker.listeners.length === 0) {
    logger.error(
      "no listener could be created: add a tcp listener (--tcp HOST:PORT or listeners in the config)",
    );
    return EXIT_FAILED;
  }
  describeAccess(logger, config, hook, fromFile);
  // Built before listen() so that its observer hook sees the first client.
  const dashboard = config.http ? createDashboard(broker, config, latency) : undefined;

  const stopped = waitForSignal();
  let httpServer: HttpServer | undefined;
  try {
    await broker.listen();
    if (dashboard) httpServer = await startDashboard(dashboard, config, logger);
  } catch (err) {
    logger.error("cannot start", { error: (err as Error).message });
    dashboard?.close();
    await broker.close().catch(() => {});
    stopped.dispose();
    return EXIT_FAILED;
  }
  if (dashboard) dashboard.ready = true;
  logger.info("broker started", {
    version: pkg.version,
    runtime: `${adapters.runtimeName()} ${adapters.runtimeVersion()}`,
  });

  const signal = await stopped.promise;
  logger.info("stopping", { signal });
  const timer = setTimeout(() => {
    logger.error("graceful stop took too long: exiting", { timeoutMs: STOP_TIMEOUT_MS });
    process.exit(EXIT_FAILED);
  }, STOP_TIMEOUT_MS);
  try {
    // The dashboard first: its live-update streams end, and /readyz says 503 no more (the server is gone).
    dashboard?.close();
    await httpServer?.close();
    await broker.close();
  } catch (err) {
    logger.error("stop failed", { error: (err as Error).message });
    return EXIT_FAILED;
  } finally {
    clearTimeout(timer);
    stopped.dispose();
  }
  return EXIT_OK;
}

/** The dashboard app for `broker`, showing `config` (secrets masked) and the storage latency. */
function createDashboard(broker: Broker, config: Config, latency: StorageLatency): HttpApp {
  return createHttpApp({
    broker,
    storageLatency: latency,
    auth: config.http?.auth,
    loopbackHostOnly: config.http !== undefined && isLoopback(config.http.host),
    config,
    runtime: { name: adapters.runtimeName(), version: adapters.runtimeVersion() },
  });
}

/** Serve the dashboard on `http.address`; rejects when the address cannot be bound. */
async function startDashboard(dashboard: HttpApp, config: Config, logger: Logger): Promise<HttpServer> {
  const http = config.http!;
  const server = await adapters.createHttpServer(dashboard.app, { host: http.host, port: http.port });
  await server.listen();
  const auth = http.auth;
  const methods = [auth?.token ? "token" : "", auth?.username ? "basic" : ""].filter((m) => m !== "").join(
    "+",
  );
  logger.info("dashboard listening", {
    address: server.address,
    url: `http://${server.address}/`,
    auth: methods || "none",
    ...(auth?.publicRead ? { reading: "public" } : {}),
  });
  if (!auth && !isLoopback(http.host)) {
    logger.warn(
      "the dashboard has no credentials and listens on a non-local address: anyone who reaches it may " +
        "disconnect clients and publish",
      { address: formatAddress(http), hint: "set http.auth.token" },
    );
  }
  return server;
}

/**
 * The auth hook the config asks for: the top-level `auth`, or a {@link ListenerAuthHook} when listeners have
 * their own. A relative users file is read relative to the config file's folder.
 */
async function authHook(config: Config, configPath: string | undefined): Promise<Hook> {
  const fallback = await hookForAuth(config.auth, configPath);
  const own = config.listeners.filter((l) => l.auth !== undefined);
  if (own.length === 0) return fallback;
  const listeners: Record<string, Hook> = {};
  for (const l of own) listeners[l.id] = await hookForAuth(l.auth!, configPath);
  return new ListenerAuthHook({ listeners, fallback });
}

async function hookForAuth(auth: AuthConfig, configPath: string | undefined): Promise<Hook> {
  switch (auth.type) {
    case "allow":
      return new AllowHook();
    case "deny":
      return new DenyHook();
    case "file": {
      const path = resolve(configPath === undefined ? "." : dirname(configPath), auth.file);
      return FileAuthHook.fromYaml(await readText(path, "users file"), path);
    }
  }
}

/** Log, once at start, who may connect and from where. Nothing here ever contains a password. */
function describeAccess(logger: Logger, config: Config, chosen: Hook, fromFile: boolean): void {
  // Listeners with their own `auth` are described one by one; the rest share the top-level one.
  const hook = chosen instanceof ListenerAuthHook ? chosen.fallback : chosen;
  for (const l of config.listeners) {
    if (l.auth === undefined) continue;
    const open = l.auth.type === "allow" && !isLoopback(l.host) && l.tls?.clientCa === undefined;
    logger[open ? "warn" : "info"]("listener with its own auth", {
      listener: l.id,
      auth: l.auth.type,
      file: l.auth.type === "file" ? l.auth.file : undefined,
      ...(open ? { warning: "anonymous clients are allowed on a non-local address" } : {}),
    });
  }
  const open = config.listeners.filter((l) => l.auth === undefined && !isLoopback(l.host))
    .map((l) => formatAddress(l));
  if (hook instanceof AllowHook) {
    if (!fromFile && open.length === 0) {
      logger.info("no config file: anonymous clients are allowed and only local connections are accepted");
    } else if (open.length === 0) {
      logger.warn("auth type allow: every client is allowed, without a password (local connections only)");
    } else {
      logger.warn(
        "anonymous clients are allowed on non-local addresses: anyone who can reach them may connect",
        {
          addresses: open.join(","),
          hint: fromFile ? "set auth.type to file" : "use --config with an auth section",
        },
      );
    }
  } else if (hook instanceof DenyHook) {
    logger.warn("every client will be refused: the config has no auth section (or auth type deny)", {
      hint: "set auth: { type: file, file: ./users.yaml } or auth: { type: allow }",
    });
  } else if (hook instanceof FileAuthHook) {
    logger.info("authentication by users file", {
      file: config.auth.type === "file" ? config.auth.file : undefined,
      users: hook.userCount,
      anonymous: hook.allowsAnonymous ? "allowed" : "refused",
      acl: hook.hasAcl ? "rules" : "none (every topic allowed)",
    });
  }
}

/** A listener from the running runtime's adapter: TCP, TLS, WebSocket or WSS, with its connection limit. */
async function createListener(l: ListenerConfig, logger: Logger, config: Config): Promise<Listener> {
  const common = {
    id: l.id,
    host: l.host,
    port: l.port,
    logger,
    ...(l.maxConnections === undefined ? {} : { maxConnections: l.maxConnections }),
  };
  const tls = l.tls === undefined ? undefined : await readTls(l.tls);
  if (l.type === "tcp") {
    return tls === undefined
      ? await adapters.createTcpListener(common)
      : await adapters.createTlsListener({ ...common, tls });
  }
  return await adapters.createWsListener({
    ...common,
    path: l.path,
    ...(tls === undefined ? {} : { tls }),
    // A client may send its largest packet as one WebSocket message.
    maxMessageSize: Math.max(16 * 1024 * 1024, config.limits.maxPacketSize + 8),
  });
}

/** The PEM files of a listener's `tls`. */
async function readTls(tls: ListenerTlsConfig): Promise<adapters.TlsOptions> {
  return {
    cert: await readText(tls.cert, "TLS certificate file"),
    key: await readText(tls.key, "TLS key file"),
    ...(tls.clientCa === undefined ? {} : { clientCa: await readText(tls.clientCa, "TLS client CA file") }),
    useIdentityAsUsername: tls.useIdentityAsUsername,
  };
}

/** `config` with the TLS file paths of its listeners made absolute, relative to the config file's folder. */
function withConfigRelativePaths(config: Config, configPath: string | undefined): Config {
  const base = configPath === undefined ? "." : dirname(configPath);
  if (config.storage.path !== undefined) {
    config = { ...config, storage: { ...config.storage, path: resolve(base, config.storage.path) } };
  }
  if (!config.listeners.some((l) => l.tls !== undefined)) return config;
  return {
    ...config,
    listeners: config.listeners.map((l) =>
      l.tls === undefined ? l : {
        ...l,
        tls: {
          ...l.tls,
          cert: resolve(base, l.tls.cert),
          key: resolve(base, l.tls.key),
          ...(l.tls.clientCa === undefined ? {} : { clientCa: resolve(base, l.tls.clientCa) }),
        },
      }
    ),
  };
}

/** Resolves with the first SIGINT or SIGTERM; a second one exits at once. */
function waitForSignal(): { promise: Promise<string>; dispose(): void } {
  let resolveSignal: (signal: string) => void = () => {};
  const promise = new Promise<string>((r) => (resolveSignal = r));
  let received = false;
  const onSignal = (signal: string) => {
    if (received) process.exit(EXIT_FAILED); // impatient second Ctrl-C
    received = true;
    resolveSignal(signal);
  };
  const signals = ["SIGINT", "SIGTERM"] as const;
  for (const s of signals) process.on(s, onSignal);
  return {
    promise,
    dispose() {
      for (const s of signals) process.off(s, onSignal);
    },
  };
}

/** `hash-password [PASSWORD]`: print the encoded hash of the argument or of the first line of stdin. */
async function hashPasswordCommand(
  argument: string | undefined,
  iterationsFlag: string | undefined,
): Promise<number> {
  let iterations = DEFAULT_ITERATIONS;
  if (iterationsFlag !== undefined) {
    iterations = Number(iterationsFlag);
    if (!/^\d+$/.test(iterationsFlag) || iterations < MIN_ITERATIONS || iterations > MAX_ITERATIONS) {
      return usageError(
        `--iterations: expected a whole number from ${MIN_ITERATIONS} to ${MAX_ITERATIONS}, received ${
          JSON.stringify(iterationsFlag)
        }`,
      );
    }
  }
  const password = argument ?? (await readPasswordFromStdin());
  if (password === "") return usageError("Cannot hash an empty password");
  process.stdout.write(`${await hashPassword(password, { iterations })}\n`);
  return EXIT_OK;
}

/** The first line of stdin. On a terminal: a prompt on stderr, and the typed characters are not shown. */
async function readPasswordFromStdin(): Promise<string> {
  const stdin = process.stdin;
  if (stdin.isTTY && typeof stdin.setRawMode === "function") return await readHidden(stdin);
  let text = "";
  const decoder = new TextDecoder();
  for await (const chunk of stdin) {
    text += typeof chunk === "string" ? chunk : decoder.decode(chunk as Uint8Array, { stream: true });
    if (text.includes("\n")) break;
  }
  return text.split(/\r?\n/)[0];
}

/** Read one line from a terminal in raw mode, echoing nothing. Ctrl-C and Ctrl-D abort. */
function readHidden(stdin: typeof process.stdin): Promise<string> {
  process.stderr.write("Password: ");
  stdin.setRawMode(true);
  stdin.resume();
  const decoder = new TextDecoder();
  return new Promise((resolve) => {
    let text = "";
    const finish = (result: string | undefined) => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write("\n");
      if (result === undefined) process.exit(130);
      resolve(result);
    };
    const onData = (chunk: Uint8Array | string) => {
      for (const ch of typeof chunk === "string" ? chunk : decoder.decode(chunk)) {
        if (ch === "\r" || ch === "\n") return finish(text);
        if (ch === "\u0003" || ch === "\u0004") return finish(undefined);
        if (ch === "\u007f" || ch === "\b") text = text.slice(0, -1);
        else text += ch;
      }
    };
    stdin.on("data", onData);
  });
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    const code = (err as { code?: string }).code;
    const reason = code === "ENOENT"
      ? "no such file"
      : code === "EACCES"
      ? "permission denied"
      : (err as Error).message;
    throw new Error(`Cannot read ${what} ${JSON.stringify(path)}: ${reason}`);
  }
}

function usageError(message: string): number {
  process.stderr.write(`${message}\nRun with --help for usage.\n`);
  return EXIT_USAGE;
}

if (import.meta.main) {
  const code = await main(process.argv.slice(2));
  // Exit explicitly: an adapter or a timer that keeps a handle must not keep a stopped broker's process alive.
  process.exit(code);
}
