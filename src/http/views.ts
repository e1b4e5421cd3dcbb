/**
 * The JSON shapes of the HTTP API: clients, subscriptions, retained messages, pages of them, and the config with
 * its secrets masked. Pure functions over the broker's public objects.
 * @module
 */

import { clientRow } from "../cluster/client_rows.ts";
import type { Client } from "../client/client.ts";
import type { Message } from "../message.ts";
import type { Session } from "../session/session.ts";
import { SESSION_NEVER_EXPIRES } from "../session/session.ts";
import type { Subscription } from "../session/subscription.ts";
import type { ActivityHook } from "./activity_hook.ts";
import { HttpError } from "./http_error.ts";

/** One row of the clients table. */
export interface ClientView {
  clientId: string;
  /** The cluster node the client is connected to (this one); absent for a broker on its own. */
  node?: string;
  username: string | null;
  /** Remote `host:port`. */
  address: string;
  /** Id of the listener it came through. */
  listener: string;
  /** 3 (MQTT 3.1), 4 (3.1.1) or 5. */
  protocolVersion: number;
  /** Negotiated keep-alive in seconds, 0 for none. */
  keepAlive: number;
  /** When CONNACK was sent, ISO 8601. */
  connectedAt: string;
  subscriptions: number;
  inflight: number;
  queued: number;
  /** Messages this connection published, and their rate per second over the last sample. */
  messagesIn: number;
  messagesInRate: number;
}

/** A subscription as the API shows it. */
export interface SubscriptionView {
  clientId: string;
  filter: string;
  qos: number;
  noLocal: boolean;
  retainAsPublished: boolean;
  retainHandling: number;
  identifier: number | null;
}

/** A retained message as the API shows it. */
export interface MessageView {
  topic: string;
  qos: number;
  /** The payload as text when it is valid UTF-8, else base64 (see `payloadEncoding`). */
  payload: string;
  payloadEncoding: "utf8" | "base64";
  /** Payload size in bytes. */
  size: number;
  /** When the broker took it, ISO 8601. */
  receivedAt: string;
  contentType: string | null;
  messageExpiryInterval: number | null;
}

/** One page of a list. */
export interface Page<T> {
  /** Items matching the filter, over all pages. */
  total: number;
  offset: number;
  limit: number;
  items: T[];
}

/** The largest page the API returns. */
export const MAX_PAGE_SIZE = 500;
/** The page size when `limit` is not given. */
export const DEFAULT_PAGE_SIZE = 50;

/** Read `limit` and `offset` query values, refusing nonsense with a 400. */
export function pageParams(
  limit: string | undefined,
  offset: string | undefined,
): { limit: number; offset: number } {
  return {
    limit: wholeNumber("limit", limit, DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE),
    offset: wholeNumber("offset", offset, 0, 0, Number.MAX_SAFE_INTEGER),
  };
}

function wholeNumber(
  name: string,
  text: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (text === undefined || text === "") return fallback;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) {
    throw new HttpError(
      400,
      `Cannot read ${name}=${JSON.stringify(text)}: expected a whole number from ${min} to ${max}`,
    );
  }
  return n;
}

/** Cut a list into the requested page. */
export function paginate<T>(items: readonly T[], params: { limit: number; offset: number }): Page<T> {
  return {
    total: items.length,
    offset: params.offset,
    limit: params.limit,
    items: items.slice(params.offset, params.offset + params.limit),
  };
}

/** Case-insensitive "contains" test; an empty needle matches everything. */
export function contains(haystack: string | undefined, needle: string): boolean {
  return needle === "" || (haystack ?? "").toLowerCase().includes(needle.toLowerCase());
}

/** A connected client as a table row. */
export function clientView(client: Client, activity: ActivityHook): ClientView {
  const a = activity.activity(client);
  return {
    ...clientRow(client),
    messagesIn: a?.messagesIn ?? 0,
    messagesInRate: a?.messagesInRate ?? 0,
  };
}

/** A subscription of `clientId`. */
export function subscriptionView(clientId: string, sub: Subscription): SubscriptionView {
  return {
    clientId,
    filter: sub.filter,
    qos: sub.qos,
    noLocal: sub.noLocal,
    retainAsPublished: sub.retainAsPublished,
    retainHandling: sub.retainHandling,
    identifier: sub.identifier ?? null,
  };
}

/** What the detail view adds about the session. */
export interface SessionView {
  clientId: string;
  connected: boolean;
  /** Seconds the session outlives its connection; null when it never expires. */
  expiryInterval: number | null;
  /** When an offline session expires, ISO 8601; null while connected or when it never expires. */
  expiresAt: string | null;
  disconnectedAt: string | null;
  inflight: number;
  queued: number;
  subscriptions: SubscriptionView[];
}

/** A session with its subscriptions. */
export function sessionView(session: Session): SessionView {
  const expiresAt = session.expiresAt;
  return {
    clientId: session.clientId,
    connected: session.connected,
    expiryInterval: session.expiryInterval === SESSION_NEVER_EXPIRES ? null : session.expiryInterval,
    expiresAt: expiresAt === undefined ? null : new Date(expiresAt).toISOString(),
    disconnectedAt: session.disconnectedAt === undefined
      ? null
      : new Date(session.disconnectedAt).toISOString(),
    inflight: session.inflight.size,
    queued: session.queued,
    subscriptions: [...session.subscriptions.values()].map((s) => subscriptionView(session.clientId, s)),
  };
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** A payload as text when it is valid UTF-8, else as base64. */
export function payloadText(payload: Uint8Array): { payload: string; payloadEncoding: "utf8" | "base64" } {
  try {
    return { payload: strictUtf8.decode(payload), payloadEncoding: "utf8" };
  } catch {
    let binary = "";
    for (let i = 0; i < payload.length; i += 0x8000) {
      binary += String.fromCharCode(...payload.subarray(i, i + 0x8000));
    }
    return { payload: btoa(binary), payloadEncoding: "base64" };
  }
}

/** A retained message. */
export function messageView(message: Message): MessageView {
  return {
    topic: message.topic,
    qos: message.qos,
    ...payloadText(message.payload),
    size: message.payload.byteLength,
    receivedAt: new Date(message.receivedAt).toISOString(),
    contentType: message.properties?.contentType ?? null,
    messageExpiryInterval: message.properties?.messageExpiryInterval ?? null,
  };
}

const SECRET_KEY = /^(token|password|pass|passphrase|secret|apikey|api_key)$/i;
/** Shown instead of a secret. */
export const MASK = "********";

/**
 * A deep copy of `value` with secrets replaced by {@link MASK}: values of keys named like `token` or `password`,
 * and the password part of URLs (`redis://user:pass@host`).
 */
export function maskSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(maskSecrets);
  if (typeof value === "string") {
    return value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*):[^@/\s]*@/i, `$1:${MASK}@`);
  }
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] = SECRET_KEY.test(key) && v !== undefined && v !== null ? MASK : maskSecrets(v);
  }
  return out;
}
