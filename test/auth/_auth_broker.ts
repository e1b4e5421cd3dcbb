/**
 * A broker on a free TCP port whose auth comes from an `auth:` YAML snippet, the way the CLI builds it
 * (parseConfig → createAuthHook), with its warnings and errors captured.
 * @module
 */

import { parseConfig } from "../../src/config/parse_config.ts";
import { createAuthHook } from "../../adapters/backends/auth_from_config.ts";
import type { Broker } from "../../src/broker.ts";
import type { Hook } from "../../src/hooks/hook.ts";
import type { Logger } from "../../src/logger.ts";
import { tcpBroker } from "../_helpers/broker.ts";

/** A broker, its port, its auth hook, and the log lines at warn and above. */
export interface AuthBroker {
  broker: Broker;
  port: number;
  hook: Hook;
  logs: string[];
  close(): Promise<void>;
}

/** Build from `auth:` YAML (indented under `auth:`), with relative files read from `configDir`. */
export async function authBroker(authYaml: string, configDir = "."): Promise<AuthBroker> {
  const config = parseConfig(`auth:\n${authYaml}`, "test.yaml");
  const hook = await createAuthHook(config.auth, { configDir });
  const logs: string[] = [];
  const record = (level: string) => (message: string, fields?: Record<string, unknown>) =>
    logs.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`);
  const logger: Logger = { debug() {}, info: record("info"), warn: record("warn"), error: record("error") };
  // These suites log in wrongly on purpose, many times, from 127.0.0.1: the per-address slow-down of repeated
  // failures (limits.authFailureDelay, tested in test/hardening/auth_flood_test.ts) would only add waiting here.
  const { broker, port } = await tcpBroker({ auth: hook, logger, limits: { authFailureDelay: 0 } });
  return { broker, port, hook, logs, close: () => broker.close() };
}
