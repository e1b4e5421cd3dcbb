/**
 * The cluster-wide client list: every node answers `{prefix}.clients` with its own clients that match the query
 * (at most a page of them, and how many match), and the asking node waits for as many answers as it knows live
 * nodes, one second at most. A node that does not answer in time is named, not waited for.
 * @module
 */

import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "../../src/logger.ts";
import type {
  ClusterClientPage,
  ClusterClientQuery,
  ClusterClients,
  ClusterNode,
} from "../../src/cluster/cluster_bus.ts";

/** Options of {@link NatsClients}. */
export interface NatsClientsOptions {
  nc: NatsConnection;
  prefix: string;
  node: string;
  logger: Logger;
  /** The other nodes this one knows live. */
  others(): string[];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const WAIT_MS = 1000;
/** Rows one node sends at most, whatever the page asked (a NATS message stays well under max_payload). */
const MAX_ROWS = 2000;

/** Answers and asks for client lists. */
export class NatsClients {
  readonly #o: NatsClientsOptions;

  constructor(options: NatsClientsOptions) {
    this.#o = options;
  }

  serve(local: ClusterNode): void {
    this.#o.nc.subscribe(`${this.#o.prefix}.clients`, {
      callback: (err, msg) => {
        if (err !== null || msg.reply === undefined) return;
        try {
          const query = JSON.parse(decoder.decode(msg.data)) as ClusterClientQuery;
          const page = local.clientRows?.({ ...query, max: Math.min(query.max, MAX_ROWS) }) ??
            { total: 0, items: [] };
          msg.respond(encoder.encode(JSON.stringify({ node: this.#o.node, ...page })));
        } catch (error) {
          this.#o.logger.debug("cluster: bad client list request", { error: String(error) });
        }
      },
    });
  }

  async list(query: ClusterClientQuery): Promise<ClusterClients> {
    const expected = this.#o.others();
    const nodes: Array<ClusterClientPage & { node: string }> = [];
    if (expected.length > 0) {
      try {
        const replies = await this.#o.nc.requestMany(
          `${this.#o.prefix}.clients`,
          encoder.encode(JSON.stringify({ ...query, max: Math.min(query.max, MAX_ROWS) })),
          { strategy: "count", maxMessages: expected.length, maxWait: WAIT_MS },
        );
        for await (const reply of replies) {
          nodes.push(JSON.parse(decoder.decode(reply.data)) as ClusterClientPage & { node: string });
        }
      } catch (error) {
        // No responders, or NATS away: the nodes not heard from are listed as unreachable.
        this.#o.logger.debug("cluster: client list incomplete", { error: String(error) });
      }
    }
    const heard = new Set(nodes.map((n) => n.node));
    return { nodes, unreachable: expected.filter((n) => !heard.has(n)) };
  }
}
