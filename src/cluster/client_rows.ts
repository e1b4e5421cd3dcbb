/**
 * One node's share of a cluster-wide client list: its connected clients that match a query, the first `max` by
 * client id, and how many match in all (each node sends at most a page, however many clients it has).
 * @module
 */

import type { Client } from "../client/client.ts";
import type { ClusterClientPage, ClusterClientQuery, ClusterClientRow } from "./cluster_bus.ts";

/** The rows of `clients` that match `query`. */
export function clientRows(clients: Iterable<Client>, query: ClusterClientQuery): ClusterClientPage {
  const q = (query.q ?? "").toLowerCase();
  const byId = (query.clientId ?? "").toLowerCase();
  const byUser = (query.username ?? "").toLowerCase();
  const matched: Client[] = [];
  for (const client of clients) {
    const id = client.id.toLowerCase();
    const user = (client.username ?? "").toLowerCase();
    if (!id.includes(byId) || !user.includes(byUser)) continue;
    if (q !== "" && !id.includes(q) && !user.includes(q)) continue;
    matched.push(client);
  }
  matched.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { total: matched.length, items: matched.slice(0, Math.max(0, query.max)).map(clientRow) };
}

/** One connected client as a row (the dashboard's client view adds its activity). */
export function clientRow(client: Client): ClusterClientRow {
  const session = client.session;
  return {
    clientId: client.id,
    username: client.username ?? null,
    address: client.remoteAddress,
    listener: client.listener,
    protocolVersion: client.protocolVersion,
    keepAlive: client.keepAlive,
    connectedAt: new Date(client.connectedAt).toISOString(),
    subscriptions: session?.subscriptions.size ?? 0,
    inflight: session?.inflight.size ?? 0,
    queued: session?.queued ?? 0,
  };
}
