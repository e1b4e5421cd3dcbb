/**
 * The HTTP auth backend: asks a web service about CONNECTs (`url`) and, optionally, ACL checks (`aclUrl`).
 *
 * Requests are POST with a JSON body (`{clientid, username, password, peerhost, protocol, listener}`, and
 * `{clientid, username, topic, access}` for ACL), or GET with every value URL-encoded in the query string and
 * the password left out unless `passwordInQuery` is set. Answers:
 * - 204: allow. 200 with JSON `{"result": "allow"|"deny"|"ignore", "superuser": bool, "acl": [{"topic",
 *   "access"}], "expireAt": unix-seconds}` (only `result` is required).
 * - 401 and 403: deny. Anything else (404, 5xx, a body that is not that JSON) is a failure: the hook logs it and
 *   applies `onError`.
 * Keep-alive pooling is the runtime's `fetch` default.
 * @module
 */

import type { AclRule } from "../acl_rules.ts";
import { ruleTopicError } from "../acl_topic.ts";
import { parseAccess } from "./acl_match.ts";
import type { AclRequest, AuthAnswer, AuthBackend, AuthRequest } from "./backend.ts";

/** Options of {@link HttpBackend}. */
export interface HttpBackendOptions {
  /** Where CONNECT decisions are asked. */
  readonly url: string;
  /** Where publish/subscribe decisions are asked; without it, ACLs come only from CONNECT answers. */
  readonly aclUrl?: string;
  /** Default POST. */
  readonly method?: "POST" | "GET";
  /** Extra request headers (an API key, for instance). */
  readonly headers?: Readonly<Record<string, string>>;
  /** GET only: put the password in the query string too. Off by default: URLs end up in access logs. */
  readonly passwordInQuery?: boolean;
  /** The fetch to use (the adapter passes one that trusts a CA file). Default the global fetch. */
  readonly fetch?: FetchLike;
}

/** The part of `fetch` the backend uses. */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

const decoder = new TextDecoder();

/** Asks an HTTP service; see the module notes for the protocol. */
export class HttpBackend implements AuthBackend {
  readonly kind = "http";
  readonly #options: HttpBackendOptions;
  readonly #fetch: FetchLike;
  readonly checkAcl?: (request: AclRequest, signal: AbortSignal) => Promise<"allow" | "deny" | "ignore">;

  /** A backend that asks the service at `options.url`. */
  constructor(options: HttpBackendOptions) {
    this.#options = options;
    this.#fetch = options.fetch ?? ((url, init) => fetch(url, init));
    if (options.aclUrl !== undefined) {
      const aclUrl = options.aclUrl;
      this.checkAcl = async (request, signal) => {
        const fields = {
          clientid: request.clientId,
          username: request.username ?? "",
          topic: request.topic,
          access: request.access,
        };
        const answer = await this.#ask(aclUrl, fields, signal);
        return answer.result;
      };
    }
  }

  async authenticate(request: AuthRequest, signal: AbortSignal): Promise<AuthAnswer> {
    const fields: Record<string, string | number> = {
      clientid: request.clientId,
      username: request.username ?? "",
      password: request.password === undefined ? "" : decoder.decode(request.password),
      peerhost: request.peerhost,
      protocol: request.protocol,
      listener: request.listener,
    };
    return await this.#ask(this.#options.url, fields, signal);
  }

  async #ask(url: string, fields: Record<string, string | number>, signal: AbortSignal): Promise<AuthAnswer> {
    const get = this.#options.method === "GET";
    const headers: Record<string, string> = { accept: "application/json", ...this.#options.headers };
    let target = url;
    let body: string | undefined;
    if (get) {
      const query = new URLSearchParams();
      for (const [k, v] of Object.entries(fields)) {
        if (k === "password" && !this.#options.passwordInQuery) continue;
        query.set(k, String(v));
      }
      target = `${url}${url.includes("?") ? "&" : "?"}${query}`;
    } else {
      headers["content-type"] = "application/json";
      body = JSON.stringify(fields);
    }
    const response = await this.#fetch(target, { method: get ? "GET" : "POST", headers, body, signal });
    const text = await response.text();
    if (response.status === 204) return { result: "allow" };
    if (response.status === 401 || response.status === 403) return { result: "deny" };
    if (response.status !== 200) {
      throw new Error(
        `HTTP ${response.status} from ${url}${text ? `: ${JSON.stringify(text.slice(0, 80))}` : ""}`,
      );
    }
    return parseHttpAnswer(text, url);
  }
}

/**
 * Parse a 200 answer. Throws, quoting the bad part, when it is not `{"result": ...}` as documented; the hook
 * counts that as a failure of the backend.
 */
export function parseHttpAnswer(text: string, url = "the auth service"): AuthAnswer {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new Error(`garbage answer from ${url}: not JSON: ${JSON.stringify(text.slice(0, 80))}`);
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new Error(`garbage answer from ${url}: expected a JSON object, received ${text.slice(0, 80)}`);
  }
  const o = data as Record<string, unknown>;
  if (o.result !== "allow" && o.result !== "deny" && o.result !== "ignore") {
    throw new Error(
      `garbage answer from ${url}: "result" must be "allow", "deny" or "ignore", received ${
        JSON.stringify(o.result) ?? "nothing"
      }`,
    );
  }
  let acl: AclRule[] | undefined;
  if (o.acl !== undefined && o.acl !== null) acl = parseAclList(o.acl, `answer from ${url}`);
  let expiresAt: number | undefined;
  if (o.expireAt !== undefined && o.expireAt !== null) {
    if (typeof o.expireAt !== "number" || !Number.isFinite(o.expireAt)) {
      throw new Error(`garbage answer from ${url}: "expireAt" must be unix seconds, received ${o.expireAt}`);
    }
    expiresAt = o.expireAt * 1000;
  }
  return {
    result: o.result,
    ...(o.superuser === true ? { superuser: true } : {}),
    ...(acl === undefined ? {} : { acl }),
    ...(expiresAt === undefined ? {} : { expiresAt }),
  };
}

/** `[{topic, access}]` (access a word or CoMQTT's 0-3); throws naming the first bad item. */
export function parseAclList(value: unknown, where: string): AclRule[] {
  if (!Array.isArray(value)) throw new Error(`garbage ${where}: "acl" must be a list`);
  return value.map((item, i) => {
    const o = (typeof item === "object" && item !== null ? item : {}) as Record<string, unknown>;
    const access = parseAccess(o.access);
    const topic = typeof o.topic === "string" ? o.topic : undefined;
    const bad = topic === undefined ? "missing topic" : ruleTopicError(topic);
    if (bad !== undefined || access === undefined) {
      throw new Error(`garbage ${where}: acl[${i}]: ${bad ?? `unknown access ${JSON.stringify(o.access)}`}`);
    }
    return { topic: topic!, access };
  });
}
