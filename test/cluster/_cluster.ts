/**
 * Cluster nodes for tests: in-process Brokers joined through NATS, each on a free TCP port, and MQTT.js
 * clients that record what they receive.
 * @module
 */

import mqtt from "mqtt";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, type Run, startProcess } from "../_helpers/cli_process.ts";
import type { Broker } from "../../src/broker.ts";
import type { BrokerOptions } from "../../src/options.ts";
import { createNatsCluster, type NatsClusterOptions } from "../../adapters/cluster/nats_cluster.ts";
import { tcpBroker } from "../_helpers/broker.ts";

export type MqttClient = Awaited<ReturnType<typeof mqtt.connectAsync>>;
// deno-lint-ignore no-explicit-any
export type Packet = any;

/** A received message. */
export interface Received {
  topic: string;
  payload: string;
  packet: Packet;
}

/** A broker node of a test cluster. */
export interface TestNode {
  broker: Broker;
  port: number;
  url: string;
}

/** Start a broker that joins the cluster on `servers` as `node`. */
export async function startNode(
  node: string,
  servers: string[],
  options: BrokerOptions & Partial<NatsClusterOptions> = {},
): Promise<TestNode> {
  const {
    heartbeatMs,
    deadAfterMs,
    prefix,
    replicas,
    noRandomize,
    ignoreDiscoveredServers,
    shutdownGraceMs,
    sessionSweepMs,
    ...brokerOptions
  } = options;
  const cluster = await createNatsCluster({
    node,
    servers,
    heartbeatMs: heartbeatMs ?? 250,
    // Short for fast failover tests, yet twice what an event-loop stall on a loaded 2-core machine reaches.
    deadAfterMs: deadAfterMs ?? 2000,
    ...(prefix === undefined ? {} : { prefix }),
    ...(replicas === undefined ? {} : { replicas }),
    ...(noRandomize === undefined ? {} : { noRandomize }),
    ...(ignoreDiscoveredServers === undefined ? {} : { ignoreDiscoveredServers }),
    // Tests close nodes holding sessions nobody comes back for: leave at once unless a test asks.
    shutdownGraceMs: shutdownGraceMs ?? 0,
    ...(sessionSweepMs === undefined ? {} : { sessionSweepMs }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
  // A node that cannot start must not leave its NATS connections open (the test process would never end).
  const { broker, port } = await tcpBroker({ ...brokerOptions, cluster }).catch(async (err) => {
    await cluster.close().catch(() => {});
    throw err;
  });
  return { broker, port, url: `mqtt://127.0.0.1:${port}` };
}

const decoder = new TextDecoder();

/** The YAML config of a CLI cluster node on an ephemeral port of 127.0.0.1. */
export function cliNodeConfig(node: string, servers: string[], extra = ""): string {
  return [
    'listeners: [{ type: tcp, address: "127.0.0.1:0" }]',
    "auth: { type: allow }",
    "sys: { interval: 0 }",
    "cluster:",
    `  node: ${node}`,
    `  nats: { servers: [${servers.map((s) => JSON.stringify(s)).join(", ")}] }`,
    "  heartbeatMs: 250",
    "  deadAfterMs: 2000",
    extra,
  ].join("\n");
}

/** A broker node run by the CLI (main.ts) in a child process. */
export interface CliNode {
  run: Run;
  port: number;
  url: string;
}

/** Start main.ts under `runtime` (from node_modules/.bin) as cluster node `node`; resolves once it listens. */
export async function startCliNode(
  node: string,
  servers: string[],
  runtime: "deno" | "bun" | "node",
  extra = "",
): Promise<CliNode> {
  const dir = await mkdtemp(join(tmpdir(), "comqtt-cluster-"));
  const config = join(dir, `${node}.yaml`);
  await writeFile(config, cliNodeConfig(node, servers, extra));
  const exe = join(ROOT, "node_modules", ".bin", runtime);
  const args = runtime === "deno" ? ["run", "-A", "main.ts"] : ["main.ts"];
  const run = startProcess(exe, [...args, "--config", config]);
  const m = await run.waitFor(/listening .*address=127\.0\.0\.1:(\d+)/, 30_000);
  await run.waitFor(/broker started/, 30_000);
  const port = Number(m[1]);
  return { run, port, url: `mqtt://127.0.0.1:${port}` };
}

/** Clients made by {@link connect}, ended by {@link endClients}. */
const clients: MqttClient[] = [];

/**
 * An MQTT.js client (v5 unless told otherwise) that never reconnects by itself. Its `subscribeAsync` resolves
 * 50 ms after SUBACK: the new interest reaches NATS within about a round trip after SUBACK, and a test that
 * publishes on another node at once would race it.
 */
export async function connect(url: string, options: Record<string, unknown> = {}): Promise<MqttClient> {
  const c = await mqtt.connectAsync(url, {
    protocolVersion: 5,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...options,
  });
  clients.push(c);
  const subscribe = c.subscribeAsync.bind(c);
  c.subscribeAsync = (async (...args: Parameters<typeof subscribe>) => {
    const granted = await subscribe(...args);
    await settle(50);
    return granted;
  }) as typeof c.subscribeAsync;
  return c;
}

/**
 * A client that connects when its `connect()` is called, so that handlers (the CONNACK's Session Present, the
 * first messages) can be in place first.
 */
export function connectLater(url: string, options: Record<string, unknown> = {}): MqttClient {
  const c = mqtt.connect(url, {
    protocolVersion: 5,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...options,
    manualConnect: true,
  });
  clients.push(c);
  return c;
}

/** End every client made here. */
export async function endClients(): Promise<void> {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true).catch(() => {})));
}

/** Record a client's messages from now on. */
export function inbox(c: MqttClient): Received[] {
  const got: Received[] = [];
  c.on("message", (topic: string, payload: Uint8Array, packet: Packet) => {
    got.push({ topic, payload: decoder.decode(payload), packet });
  });
  return got;
}

/** Wait `ms` (to let stray copies arrive before asserting that they did not). */
export function settle(ms = 200): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
