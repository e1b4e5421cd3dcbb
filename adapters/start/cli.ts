/**
 * The comqtt-ts command line: run a broker from flags and an optional YAML config, or hash a password. A thin
 * shell over {@link startFromConfig}: flags become overrides, signals stop the broker, failures become exit codes.
 * @module
 */

import { parseArgs } from "node:util";
import process from "node:process";
import pkg from "../../package.json" with { type: "json" };
import * as adapters from "../mod.ts";
import { DEFAULT_ITERATIONS } from "../../src/hooks/auth/password.ts";
import { loadConfig, type LoadedConfig } from "./load_config.ts";
import { createLogger } from "../../src/logger.ts";
import { type RunningBroker, startBroker } from "./start_broker.ts";

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
  comqtt check-config FILE         check a config, the users files and TLS files it names; exit 0 when
                                   good, 2 with every problem (file:line: key: message) when not

Signals: SIGINT and SIGTERM stop the broker; SIGHUP reads the users/ACL files and TLS certificates again
(connected clients stay; a file that fails to load is refused and the old one kept).

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
    return await (await import("./hash_password.ts")).hashPasswordCommand(
      positionals[1],
      values.iterations,
      usageError,
    );
  }
  if (positionals[0] === "check-config") {
    if (positionals.length !== 2) return usageError("check-config takes one config file");
    return await checkConfigCommand(positionals[1]);
  }
  if (positionals.length > 0) return usageError(`unknown command ${JSON.stringify(positionals[0])}`);
  if (values.iterations !== undefined) return usageError("--iterations only goes with hash-password");

  let loaded: LoadedConfig;
  try {
    loaded = await loadConfig(values.config, {
      tcp: values.tcp,
      ws: values.ws,
      http: values.http,
      logLevel: values["log-level"],
    });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return EXIT_USAGE;
  }
  if (loaded.config.workers !== undefined && loaded.config.workers !== 1) {
    // `workers: N`: the supervisor (adapters/workers/) runs N brokers sharing the ports; nothing of it loads
    // for a single broker.
    const workers = await import("../workers/supervisor.ts");
    const count = workers.workerCount(loaded.config);
    if (count > 1) {
      return await workers.runWorkers(
        count,
        values.config,
        {
          tcp: values.tcp,
          ws: values.ws,
          http: values.http,
          logLevel: values["log-level"],
        },
        createLogger({ ...loaded.config.log, write: (line) => process.stdout.write(`${line}\n`) }),
        loaded.config.listeners.some((l) => l.port === 0),
      );
    }
  }
  const stopped = waitForSignal();
  let running: RunningBroker;
  try {
    running = await startBroker(loaded);
  } catch {
    stopped.dispose();
    return EXIT_FAILED; // startBroker logged why
  }
  // SIGHUP: read the users/ACL files and TLS certificates again (Mosquitto's reload), clients stay connected.
  const onHangup = () => void running.reload();
  process.on("SIGHUP", onHangup);
  const signal = await stopped.promise;
  process.off("SIGHUP", onHangup);
  running.logger.info("stopping", { signal });
  const timer = setTimeout(() => {
    running.logger.error("graceful stop took too long: exiting", { timeoutMs: STOP_TIMEOUT_MS });
    process.exit(EXIT_FAILED);
  }, STOP_TIMEOUT_MS);
  try {
    await running.close();
  } catch (err) {
    running.logger.error("stop failed", { error: (err as Error).message });
    return EXIT_FAILED;
  } finally {
    clearTimeout(timer);
    stopped.dispose();
  }
  return EXIT_OK;
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

/** `check-config FILE`: everything loadConfig checks, plus the TLS files; nothing listens. */
async function checkConfigCommand(path: string): Promise<number> {
  try {
    process.stdout.write(`${await (await import("./check_config.ts")).checkConfig(path)}\n`);
    return EXIT_OK;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return EXIT_USAGE;
  }
}

function usageError(message: string): number {
  process.stderr.write(`${message}\nRun with --help for usage.\n`);
  return EXIT_USAGE;
}
