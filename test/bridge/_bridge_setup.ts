/**
 * Shared setup of the bridge tests: a local broker with a bridge built from a config, and MQTT.js clients that
 * collect what they receive.
 * @module
 */

import mqtt from "mqtt";
import type { MqttClient } from "mqtt";
import type { Broker } from "../../src/broker.ts";
import type { Bridge } from "../../src/bridge/bridge.ts";
import type { BridgeConfig } from "../../src/config/parse_bridges.ts";
import { createBridge } from "../../adapters/bridge/from_config.ts";
import { until } from "../_helpers/broker.ts";

/** A bridge config with test-friendly defaults (fast reconnects). */
export function bridgeConfig(name: string, url: string, extra: Partial<BridgeConfig> = {}): BridgeConfig {
  return {
    name,
    remote: { url, clientId: `bridge-${name}`, protocolVersion: 5, keepalive: 30 },
    out: [],
    in: [],
    queue: { maxMessages: 100_000, maxBytes: 64 * 1024 * 1024, policy: "drop-oldest" },
    reconnect: { minDelay: 100, maxDelay: 1000 },
    inflight: 64,
    ...extra,
  };
}

/** Install and start a bridge on `broker`; resolves once it is connected. */
export async function startBridge(broker: Broker, config: BridgeConfig, nodeId = "node-a"): Promise<Bridge> {
  const bridge = await createBridge(broker, config, nodeId);
  broker.addHook(bridge);
  bridge.start();
  await until(() => bridge.connected, 10_000, `bridge ${config.name} to connect`);
  return bridge;
}

/** One received message. */
export interface Got {
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
}

/** An MQTT.js client that records what arrives. */
export async function collector(
  port: number,
  filters: Record<string, { qos: 0 | 1 | 2 }>,
  options: mqtt.IClientOptions = {},
): Promise<{ client: MqttClient; got: Got[] }> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, ...options });
  const got: Got[] = [];
  client.on("message", (topic, payload, packet) => {
    got.push({ topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain });
  });
  await client.subscribeAsync(filters);
  return { client, got };
}
