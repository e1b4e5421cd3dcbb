/**
 * Config -> bridges and rule engine on a broker: the one call the CLI makes (main.ts), kept outside src/ because
 * it reads certificate files and picks the MQTT.js link.
 * @module
 */

import { readFile } from "node:fs/promises";
import type { Broker } from "../../src/broker.ts";
import { Bridge } from "../../src/bridge/bridge.ts";
import type { Config } from "../../src/config/config.ts";
import type { BridgeConfig } from "../../src/config/parse_bridges.ts";
import { compileRule } from "../../src/rules/rule.ts";
import { RuleEngine } from "../../src/rules/rule_engine.ts";
import { mqttConnector, redact } from "./mqtt_link.ts";

/** What {@link startBridgesAndRules} installed. */
export interface BridgesAndRules {
  /** The bridges installed as hooks, one per `bridges[]` entry. */
  bridges: Bridge[];
  /** Undefined when the config has no rules: then no hook runs on the publish path for rules. */
  rules?: RuleEngine;
}

/**
 * Install the config's bridges and rules on `broker` (before or after `listen()`): the broker's stored state is
 * restored first, so each bridge starts from the queue a previous run left (nothing acknowledged is lost), then
 * the bridges start connecting. `broker.close()` stops them (they are hooks). Rejects when a certificate file
 * cannot be read.
 */
export async function startBridgesAndRules(broker: Broker, config: Config): Promise<BridgesAndRules> {
  const out: BridgesAndRules = { bridges: [] };
  const bridgeConfigs = config.bridges ?? [];
  const ruleConfigs = config.rules ?? [];
  if (bridgeConfigs.length === 0 && ruleConfigs.length === 0) return out;
  await broker.restore();
  // Marks this broker in the path of messages it forwards over v5 bridges (loop prevention). The client id of its
  // first bridge: stable across restarts (a message restored from storage keeps its path), and distinct from
  // other brokers' (two brokers bridging each other, or to one remote, use different client ids).
  const nodeId = (bridgeConfigs[0]?.remote.clientId ?? "rules").replaceAll(",", "_");
  for (const b of bridgeConfigs) out.bridges.push(await createBridge(broker, b, nodeId));
  for (const bridge of out.bridges) broker.addHook(bridge);
  if (ruleConfigs.length > 0) {
    out.rules = new RuleEngine({
      rules: ruleConfigs.map(compileRule),
      host: broker,
      bridges: new Map(out.bridges.map((b) => [b.name, b])),
    });
    broker.addHook(out.rules);
  }
  for (const bridge of out.bridges) bridge.start();
  return out;
}

/** A bridge from its config, with an MQTT.js link; PEM files are read here. */
export async function createBridge(broker: Broker, b: BridgeConfig, nodeId: string): Promise<Bridge> {
  const r = b.remote;
  const pem = async (path: string | undefined, what: string) => {
    if (path === undefined) return undefined;
    try {
      return await readFile(path, "utf8");
    } catch (err) {
      throw new Error(
        `Cannot read the ${what} of bridge ${b.name} ${JSON.stringify(path)}: ${(err as Error).message}`,
      );
    }
  };
  const [ca, cert, key] = [
    await pem(r.ca, "CA file"),
    await pem(r.cert, "certificate"),
    await pem(r.key, "key"),
  ];
  return new Bridge({
    name: b.name,
    host: broker,
    connector: mqttConnector({
      url: r.url,
      clientId: r.clientId,
      protocolVersion: r.protocolVersion,
      keepalive: r.keepalive,
      ...(r.username === undefined ? {} : { username: r.username }),
      ...(r.password === undefined ? {} : { password: r.password }),
      ...(ca === undefined ? {} : { ca }),
      ...(cert === undefined ? {} : { cert }),
      ...(key === undefined ? {} : { key }),
    }),
    protocolVersion: r.protocolVersion,
    remote: redact(r.url),
    out: [...b.out],
    in: [...b.in],
    queue: { ...b.queue },
    inflight: b.inflight,
    reconnect: { minDelayMs: b.reconnect.minDelay, maxDelayMs: b.reconnect.maxDelay },
    nodeId,
  });
}

export { withBridgePaths } from "./bridge_paths.ts";
