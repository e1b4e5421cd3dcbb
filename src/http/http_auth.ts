/**
 * Who may use the dashboard: a bearer token, basic auth, or both, from the `http.auth` config; plus the checks
 * that keep a browser from being used against the dashboard (cross-site requests, DNS rebinding).
 * @module
 */

import type { MiddlewareHandler } from "hono";
import type { HttpAuthConfig } from "../config/config.ts";
import { httpError } from "./http_error.ts";

export type { HttpAuthConfig } from "../config/config.ts";

/** Methods that only read. Everything else (POST, DELETE...) changes state. */
const READ_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

const encoder = new TextEncoder();

/**
 * Compare two secrets in time that depends only on their lengths, so a wrong guess does not reveal how many
 * leading characters were right.
 */
export function safeEqual(a: string, b: string): boolean {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < x.length; i++) diff |= x[i]! ^ (y[i % (y.length || 1)] ?? 0);
  return diff === 0;
}

/** True when the Authorization header carries the configured token or basic credentials. */
export function hasCredentials(auth: HttpAuthConfig, header: string | undefined): boolean {
  if (header === undefined) return false;
  const space = header.indexOf(" ");
  if (space < 0) return false;
  const scheme = header.slice(0, space).toLowerCase();
  const value = header.slice(space + 1).trim();
  if (scheme === "bearer" && auth.token !== undefined) return safeEqual(value, auth.token);
  if (scheme === "basic" && auth.username !== undefined && auth.password !== undefined) {
    let decoded: string;
    try {
      decoded = new TextDecoder("utf-8", { fatal: true }).decode(
        Uint8Array.from(atob(value), (c) => c.charCodeAt(0)),
      );
    } catch {
      return false;
    }
    const colon = decoded.indexOf(":");
    if (colon < 0) return false;
    // Both compared, always: no early exit on a wrong user name.
    const user = safeEqual(decoded.slice(0, colon), auth.username);
    const password = safeEqual(decoded.slice(colon + 1), auth.password);
    return user && password;
  }
  return false;
}

/** The `WWW-Authenticate` challenge: Basic when basic auth is configured (browsers then prompt), else Bearer. */
export function challenge(auth: HttpAuthConfig): string {
  return auth.username !== undefined
    ? 'Basic realm="comqtt-ts", charset="UTF-8"'
    : 'Bearer realm="comqtt-ts"';
}

/** Options of {@link requireAuth}. */
export interface RequireAuthOptions {
  /** Credentials; undefined lets every request through. */
  auth?: HttpAuthConfig;
  /** Paths that never need credentials (the page shell and its assets, health probes). */
  isPublic?: (path: string, method: string) => boolean;
}

/**
 * Middleware: refuse a request without the configured credentials with a JSON 401. With `publicRead`, reading
 * requests pass and only changes (disconnect, delete, publish) need them.
 */
export function requireAuth(options: RequireAuthOptions): MiddlewareHandler {
  const { auth, isPublic = () => false } = options;
  return async (c, next) => {
    if (auth === undefined) return await next();
    const method = c.req.method;
    if (isPublic(c.req.path, method)) return await next();
    if (auth.publicRead && READ_METHODS.has(method)) return await next();
    if (hasCredentials(auth, c.req.header("authorization"))) return await next();
    const methods = [auth.token !== undefined ? "bearer" : "", auth.username !== undefined ? "basic" : ""]
      .filter((m) => m !== "");
    return c.json(
      {
        ...httpError(
          401,
          READ_METHODS.has(method)
            ? "Sign in to use the dashboard: send the configured credentials"
            : `Cannot ${method} ${c.req.path} without the configured credentials`,
        ),
        auth: methods,
      },
      401,
      { "WWW-Authenticate": challenge(auth) },
    );
  };
}

/** True for `localhost`, `127.x.y.z` and `[::1]`, with or without a port. */
export function isLoopbackHost(hostHeader: string): boolean {
  const host = hostHeader.startsWith("[")
    ? hostHeader.slice(1, hostHeader.indexOf("]"))
    : hostHeader.replace(/:\d+$/, "");
  const name = host.toLowerCase();
  return name === "localhost" || name.endsWith(".localhost") || name === "::1" ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

/** Options of {@link browserGuard}. */
export interface BrowserGuardOptions {
  /**
   * Refuse requests whose Host is not a loopback name. Set it for a dashboard bound to loopback without
   * credentials: a web page whose domain name was re-pointed at 127.0.0.1 (DNS rebinding) then cannot read it.
   */
  loopbackHostOnly?: boolean;
}

/**
 * Middleware against browsers used as a proxy: a state-changing request that came from another site (its Origin
 * names another host) is refused with 403, and so is any request for a foreign Host name when
 * `loopbackHostOnly` is set. Non-browser clients (curl, Prometheus) send no Origin and pass.
 */
export function browserGuard(options: BrowserGuardOptions = {}): MiddlewareHandler {
  return async (c, next) => {
    const host = c.req.header("host") ?? "";
    if (options.loopbackHostOnly && host !== "" && !isLoopbackHost(host)) {
      return c.json(
        httpError(
          403,
          `Host ${JSON.stringify(host)} is not served: open the dashboard at 127.0.0.1 or localhost`,
        ),
        403,
      );
    }
    const origin = c.req.header("origin");
    if (!READ_METHODS.has(c.req.method) && origin !== undefined) {
      let originHost: string;
      try {
        originHost = new URL(origin).host;
      } catch {
        originHost = "";
      }
      if (originHost !== host) {
        return c.json(
          httpError(403, `Cannot ${c.req.method} from another site (Origin ${JSON.stringify(origin)})`),
          403,
        );
      }
    }
    return await next();
  };
}
