/**
 * The JSON API under `/api/v1`: overview, clients, subscriptions, retained messages, publish, config.
 * Every handler reads the broker through its public introspection API; errors are thrown as {@link HttpError}.
 * @module
 */

import { Hono } from "hono";
import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { Broker } from "../broker.ts";
import type { QoS } from "../packets/types.ts";
import { checkTopicFilter, parseSharedFilter, topicMatches } from "../topics/topic_rules.ts";
import type { ActivityHook } from "./activity_hook.ts";
import { HttpError, httpError } from "./http_error.ts";
import { brokerOverview } from "./overview.ts";
import { clusterClientPage } from "./cluster_clients.ts";
import { bridgeStatuses, ruleStatuses } from "./extensions_status.ts";
import type { RateSampler } from "./rate_sampler.ts";
import {
  clientView,
  contains,
  maskSecrets,
  messageView,
  pageParams,
  paginate,
  sessionView,
  subscriptionView,
} from "./views.ts";
import type { SubscriptionView } from "./views.ts";

/** What the API routes read. */
export interface ApiContext {
  broker: Broker;
  activity: ActivityHook;
  sampler: RateSampler;
  runtime: { name: string; version: string };
  /** The effective configuration, shown with secrets masked; undefined when the broker was embedded without one. */
  config?: unknown;
}

/** Room for the JSON around a publish payload (topic, flags, base64 growth is counted separately). */
const JSON_OVERHEAD = 64 * 1024;

/** The `/api/v1` routes, to be mounted with `app.route("/api/v1", apiRoutes(ctx))`. */
export function apiRoutes(ctx: ApiContext): Hono {
  const { broker, activity } = ctx;
  const api = new Hono();

  api.get("/overview", (c) => c.json(brokerOverview(ctx)));

  api.get("/bridges", (c) => c.json({ items: bridgeStatuses(broker) }));
  api.get("/rules", (c) => c.json({ items: ruleStatuses(broker) }));
  // The nodes of the cluster, with their clients and the traffic between them; 404 for a broker on its own.
  api.get("/cluster", (c) => {
    const status = broker.clusterStatus();
    return status === undefined
      ? c.json({ error: "this broker is not part of a cluster" }, 404)
      : c.json(status);
  });

  api.get("/history", (c) => c.json({ intervalMs: ctx.sampler.intervalMs, samples: ctx.sampler.history }));

  api.get("/clients", async (c) => {
    const q = c.req.query("q") ?? "";
    const byId = c.req.query("clientId") ?? "";
    const byUser = c.req.query("username") ?? "";
    const page = pageParams(c.req.query("limit"), c.req.query("offset"));
    const rows = [];
    for (const client of broker.connectedClients()) {
      if (!contains(client.id, byId) || !contains(client.username, byUser)) continue;
      if (q !== "" && !contains(client.id, q) && !contains(client.username, q)) continue;
      rows.push(client);
    }
    rows.sort((a, b) => compare(a.id, b.id));
    const node = broker.clusterStatus()?.node;
    // In a cluster the list spans every node (`?node=` picks one); each row names its client's node.
    const onlyNode = c.req.query("node");
    const others = node === undefined || onlyNode === node
      ? undefined
      : await broker.clusterClients({ q, clientId: byId, username: byUser, max: page.offset + page.limit });
    if (node === undefined || others === undefined) {
      const result = paginate(rows, page);
      const items = result.items.map((client) => {
        const view = clientView(client, activity);
        return node === undefined ? view : { ...view, node };
      });
      return c.json({ ...result, items });
    }
    return c.json(
      clusterClientPage(rows, others, { node, onlyNode, page, view: (cl) => clientView(cl, activity) }),
    );
  });

  api.get("/clients/:id", (c) => {
    const id = c.req.param("id");
    const client = broker.getClient(id);
    const session = broker.getSession(id);
    if (client === undefined && session === undefined) {
      throw new HttpError(404, `No client or session ${JSON.stringify(id)}`);
    }
    return c.json({
      clientId: id,
      connected: client !== undefined,
      client: client === undefined ? null : {
        ...clientView(client, activity),
        acceptedAt: new Date(client.acceptedAt).toISOString(),
        lastActivity: new Date(client.lastActivity).toISOString(),
        hasWill: client.will !== undefined,
        willTopic: client.will?.topic ?? null,
        sendQuota: client.sendQuota,
        maxPacketSize: client.maxPacketSizeOut || null,
        payloadBytesIn: activity.activity(client)?.payloadBytesIn ?? 0,
      },
      session: session === undefined ? null : sessionView(session),
    });
  });

  api.post("/clients/:id/disconnect", (c) => {
    const id = c.req.param("id");
    // The broker sends v5 clients DISCONNECT 0x98 (administrative action) first; their will is published.
    if (!broker.disconnectClient(id)) {
      throw new HttpError(404, `Cannot disconnect ${JSON.stringify(id)}: not connected`);
    }
    return c.json({ disconnected: true, clientId: id });
  });

  api.get("/subscriptions", (c) => {
    const filter = c.req.query("filter") ?? "";
    const clientId = c.req.query("clientId") ?? "";
    const topic = c.req.query("topic");
    const page = pageParams(c.req.query("limit"), c.req.query("offset"));
    const rows: SubscriptionView[] = [];
    for (const sub of broker.subscriptions()) {
      if (!contains(sub.filter, filter) || !contains(sub.clientId, clientId)) continue;
      if (
        topic !== undefined && topic !== "" &&
        !topicMatches(parseSharedFilter(sub.filter)?.filter ?? sub.filter, topic)
      ) {
        continue;
      }
      rows.push(subscriptionView(sub.clientId, sub));
    }
    rows.sort((a, b) => compare(a.filter, b.filter) || compare(a.clientId, b.clientId));
    return c.json(paginate(rows, page));
  });

  api.get("/retained", (c) => {
    const filter = c.req.query("filter") || "#";
    const problem = checkTopicFilter(filter, broker.limits);
    if (problem !== undefined) throw new HttpError(400, `Cannot list retained messages: ${problem}`);
    const page = pageParams(c.req.query("limit"), c.req.query("offset"));
    const messages = broker.retainedMessages(filter).sort((a, b) => compare(a.topic, b.topic));
    const result = paginate(messages, page);
    return c.json({ ...result, filter, items: result.items.map(messageView) });
  });

  // The topic is one path segment, URL-encoded (its slashes as %2F).
  api.get("/retained/:topic{.+}", (c) => {
    const topic = c.req.param("topic");
    const message = broker.getRetained(topic);
    if (message === undefined) throw new HttpError(404, `No retained message on ${JSON.stringify(topic)}`);
    return c.json(messageView(message));
  });

  api.delete("/retained/:topic{.+}", (c) => {
    const topic = c.req.param("topic");
    if (!broker.deleteRetained(topic)) {
      throw new HttpError(
        404,
        `Cannot delete the retained message of ${JSON.stringify(topic)}: there is none`,
      );
    }
    return c.json({ deleted: true, topic });
  });

  api.post(
    "/publish",
    bodyLimit({
      // A base64 payload is a third larger than the bytes it carries.
      maxSize: Math.ceil(broker.limits.maxPacketSize * 4 / 3) + JSON_OVERHEAD,
      // The rest of the body is left unread, so the connection cannot serve another request: say so.
      onError: (c) =>
        c.json(
          httpError(413, "Cannot publish: the request is larger than the broker's maximum packet size"),
          413,
          {
            connection: "close",
          },
        ),
    }),
    async (c) => {
      const body = await jsonBody(c);
      const request = publishRequest(body);
      try {
        await broker.publish(request.topic, request.payload, { qos: request.qos, retain: request.retain });
      } catch (err) {
        if (err instanceof TypeError || err instanceof RangeError) {
          throw new HttpError(400, err.message, { cause: err });
        }
        throw err;
      }
      return c.json({
        published: true,
        topic: request.topic,
        qos: request.qos,
        retain: request.retain,
        size: request.payload.byteLength,
      });
    },
  );

  api.get("/config", (c) => {
    if (ctx.config === undefined) {
      throw new HttpError(404, "No configuration: this broker was embedded without one");
    }
    return c.json(maskSecrets(ctx.config));
  });

  api.all("*", (c) => {
    throw new HttpError(404, `No API route ${c.req.method} ${c.req.path}`);
  });
  return api;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The request body as JSON; 415 for another content type, 400 for malformed JSON. */
async function jsonBody(c: Context): Promise<unknown> {
  const type = c.req.header("content-type") ?? "";
  // Requiring JSON also stops plain HTML forms on other sites from posting here (they cannot send this type).
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    throw new HttpError(
      415,
      `Cannot read a ${JSON.stringify(type || "missing")} body: send application/json`,
    );
  }
  try {
    return await c.req.json();
  } catch (err) {
    throw new HttpError(400, `Cannot read the JSON body: ${(err as Error).message}`, { cause: err });
  }
}

/** A validated publish request. */
interface PublishRequest {
  topic: string;
  payload: Uint8Array;
  qos: QoS;
  retain: boolean;
}

const encoder = new TextEncoder();

/** `{ topic, payload?, qos?, retain?, payloadEncoding? }` → a {@link PublishRequest}, or a 400 naming the field. */
export function publishRequest(body: unknown): PublishRequest {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new HttpError(
      400,
      'Cannot publish: expected a JSON object like {"topic": "a/b", "payload": "hello"}',
    );
  }
  const { topic, payload = "", qos = 0, retain = false, payloadEncoding = "utf8" } = body as Record<
    string,
    unknown
  >;
  if (typeof topic !== "string" || topic === "") {
    throw new HttpError(
      400,
      `Cannot publish: "topic" must be a non-empty string, received ${JSON.stringify(topic)}`,
    );
  }
  if (qos !== 0 && qos !== 1 && qos !== 2) {
    throw new HttpError(
      400,
      `Cannot publish to ${JSON.stringify(topic)}: "qos" must be 0, 1 or 2, received ${JSON.stringify(qos)}`,
    );
  }
  if (typeof retain !== "boolean") {
    throw new HttpError(
      400,
      `Cannot publish to ${JSON.stringify(topic)}: "retain" must be true or false, received ${
        JSON.stringify(retain)
      }`,
    );
  }
  if (typeof payload !== "string") {
    throw new HttpError(400, `Cannot publish to ${JSON.stringify(topic)}: "payload" must be a string`);
  }
  let bytes: Uint8Array;
  if (payloadEncoding === "utf8") bytes = encoder.encode(payload);
  else if (payloadEncoding === "base64") {
    try {
      bytes = Uint8Array.from(atob(payload), (ch) => ch.charCodeAt(0));
    } catch {
      throw new HttpError(400, `Cannot publish to ${JSON.stringify(topic)}: "payload" is not valid base64`);
    }
  } else {
    throw new HttpError(
      400,
      `Cannot publish to ${JSON.stringify(topic)}: "payloadEncoding" must be "utf8" or "base64", received ${
        JSON.stringify(payloadEncoding)
      }`,
    );
  }
  return { topic, payload: bytes, qos, retain };
}
