/**
 * Joining a cluster, without loading the NATS client until it is asked for: importing this module costs nothing
 * for a broker on its own.
 * @module
 */

import type { ClusterBus } from "../../src/cluster/cluster_bus.ts";
import type { NatsClusterOptions } from "./nats_cluster.ts";

export type { NatsClusterOptions } from "./nats_cluster.ts";

/**
 * Connect to NATS as a cluster node; give the result to `new Broker({ cluster })`.
 *
 * @example
 * ```ts
 * const cluster = await createNatsCluster({ node: "n1", servers: ["nats://127.0.0.1:4222"] });
 * const broker = new Broker({ hooks: [new AllowHook()], cluster });
 * ```
 */
export async function createNatsCluster(options: NatsClusterOptions): Promise<ClusterBus> {
  const nats = await import("./nats_cluster.ts");
  return await nats.createNatsCluster(options);
}
