/**
 * The one call the CLI makes to join a cluster: nothing NATS is loaded unless the config has `cluster`.
 * @module
 */

import { hostname } from "node:os";
import type { Config } from "../../src/config/config.ts";
import type { ClusterBus } from "../../src/cluster/cluster_bus.ts";
import type { Logger } from "../../src/logger.ts";

/**
 * Connect to the cluster the config names, or resolve undefined when it names none. Rejects with a message that
 * names the NATS servers when none can be reached.
 */
export async function clusterFromConfig(config: Config, logger: Logger): Promise<ClusterBus | undefined> {
  const c = config.cluster;
  if (c === undefined) return undefined;
  const { createNatsCluster } = await import("./nats_cluster.ts");
  const tls = c.nats.tls;
  return await createNatsCluster({
    node: c.node ?? defaultNodeName(config),
    servers: [...c.nats.servers],
    ...(c.nats.user === undefined ? {} : { user: c.nats.user, pass: c.nats.pass }),
    ...(c.nats.token === undefined ? {} : { token: c.nats.token }),
    ...(c.nats.credsFile === undefined ? {} : { credsFile: c.nats.credsFile }),
    ...(tls === undefined ? {} : { tls: { caFile: tls.ca, certFile: tls.cert, keyFile: tls.key } }),
    prefix: c.prefix,
    heartbeatMs: c.heartbeatMs,
    deadAfterMs: c.deadAfterMs,
    replicas: c.replicas,
    shutdownGraceMs: c.shutdownGraceMs,
    sessionSweepMs: c.sessionSweepMs,
    logger,
  });
}

/** The host name and the first listener's port, e.g. `web-3-1883`: unique as long as hosts are. */
export function defaultNodeName(config: Config): string {
  const port = config.listeners[0]?.port ?? 0;
  const host = hostname().replace(/[^A-Za-z0-9_-]/g, "-").slice(0, 50) || "node";
  return `${host}-${port}`;
}
