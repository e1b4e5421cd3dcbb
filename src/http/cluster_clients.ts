/**
 * `/api/v1/clients` in a cluster: this node's clients (with their activity) and the other nodes' (as they
 * reported them), one list sorted by client id, each row naming its node.
 * @module
 */

import type { Client } from "../client/client.ts";
import type { ClusterClientRow, ClusterClients } from "../cluster/cluster_bus.ts";
import type { ClientView } from "./views.ts";

/** A row of the cluster-wide list: this node's rows are full views, other nodes' their reported fields. */
export type ClusterClientView = (ClientView | ClusterClientRow) & { node: string };

/** The page of the merged list, its total across nodes, and the live nodes that did not answer. */
export function clusterClientPage(
  local: readonly Client[],
  others: ClusterClients,
  options: {
    node: string;
    onlyNode: string | undefined;
    page: { limit: number; offset: number };
    view: (client: Client) => ClientView;
  },
): {
  total: number;
  offset: number;
  limit: number;
  items: ClusterClientView[];
  unreachable: readonly string[];
} {
  const { node, onlyNode, page } = options;
  const end = page.offset + page.limit;
  // Each node sent its first `end` rows by client id, so the first `end` of the union are right.
  const merged: Array<{ id: string; row: () => ClusterClientView }> = [];
  let total = 0;
  if (onlyNode === undefined || onlyNode === node) {
    total += local.length;
    for (const client of local.slice(0, end)) {
      merged.push({ id: client.id, row: () => ({ ...options.view(client), node }) });
    }
  }
  for (const answer of others.nodes) {
    if (onlyNode !== undefined && answer.node !== onlyNode) continue;
    total += answer.total;
    for (const row of answer.items) {
      merged.push({ id: row.clientId, row: () => ({ ...row, node: answer.node }) });
    }
  }
  merged.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return {
    total,
    offset: page.offset,
    limit: page.limit,
    items: merged.slice(page.offset, end).map((m) => m.row()),
    unreachable: others.unreachable,
  };
}
