/**
 * The dashboard, the JSON API, `/metrics`, `/healthz` and `/readyz` as one Hono app. Web-standard only: every
 * runtime serves it through its adapter (`createHttpServer` in adapters/mod.ts).
 * @module
 */

import { Hono } from "hono";
import type { Broker } from "../broker.ts";
import type { HttpAuthConfig } from "../config/config.ts";
import { ActivityHook } from "./activity_hook.ts";
import { apiRoutes } from "./api_routes.ts";
import { EventHub, formatEvent } from "./event_hub.ts";
import { browserGuard, requireAuth } from "./http_auth.ts";
import { HttpError, httpError } from "./http_error.ts";
import { brokerOverview, liveUpdate } from "./overview.ts";
import { PROMETHEUS_CONTENT_TYPE, renderMetrics } from "./prometheus.ts";
import { RateSampler } from "./rate_sampler.ts";
import { storageLatency } from "./storage_timing.ts";
import type { StorageLatency } from "./storage_timing.ts";
import { PAGE_CSS } from "./page/page_css.ts";
import { PAGE_HTML } from "./page/page_html.ts";
import { PAGE_SCRIPT } from "./page/page_script.ts";
import { FAVICON_SVG } from "./page/favicon.ts";

/** Options of {@link createHttpApp}. */
export interface HttpAppOptions {
  /** The broker the dashboard shows and the API acts on. */
  broker: Broker;
  /** Credentials (`http.auth`); without them every request is served. */
  auth?: HttpAuthConfig;
  /**
   * Serve only requests addressed to a loopback name (Host `127.0.0.1`, `localhost`, `[::1]`), against DNS
   * rebinding. Set it when the server binds a loopback address; default false.
   */
  loopbackHostOnly?: boolean;
  /** The effective configuration for `GET /api/v1/config` (secrets are masked there). */
  config?: unknown;
  /** The runtime's name and version for the overview and `comqtt_info`. */
  runtime?: { name: string; version: string };
  /** Milliseconds between rate samples and live updates. Default 1000. */
  sampleIntervalMs?: number;
  /** Samples kept for the charts. Default 120. */
  historySize?: number;
  /** Storage latency histograms, filled by a storage wrapped with `timeStorage`. */
  storageLatency?: StorageLatency;
  /** Live dashboard (SSE) connections at once; more get 503. Default 32. */
  maxEventStreams?: number;
}

/** The app with the state it keeps. */
export interface HttpApp {
  /**
   * The Hono app; `app.fetch` is what the adapters serve. Hono's types are not re-exported by this package,
   * so this is left out of the generated docs: use {@link HttpApp.fetch}.
   * @ignore
   */
  readonly app: Hono;
  /** Serve one request (the same as `app.fetch`). */
  fetch(request: Request): Response | Promise<Response>;
  /**
   * The hook that feeds the dashboard's client activity (internal, so left out of the generated docs).
   * @ignore
   */
  readonly activity: ActivityHook;
  /**
   * The rate sampler behind the charts (internal, so left out of the generated docs).
   * @ignore
   */
  readonly sampler: RateSampler;
  /** False until the embedding code says the broker serves (`/readyz` answers 503 meanwhile). */
  ready: boolean;
  /** Stop sampling and end every live-update stream. Call it before closing the HTTP server. */
  close(): void;
}

/** Response headers that keep the page from being framed, sniffed or fed scripts from elsewhere. */
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
};

const ASSETS: Readonly<Record<string, { body: string; type: string }>> = {
  "/assets/dashboard.css": { body: PAGE_CSS, type: "text/css; charset=utf-8" },
  "/assets/dashboard.js": { body: PAGE_SCRIPT, type: "text/javascript; charset=utf-8" },
  "/favicon.svg": { body: FAVICON_SVG, type: "image/svg+xml" },
};

/**
 * Build the HTTP app for `broker`. It adds an observer hook to the broker (per-QoS and per-client counts) and
 * starts sampling rates on the broker's clock.
 *
 * @example
 * ```ts
 * import {
 *   AllowHook,
 *   Broker,
 *   createHttpApp,
 *   createHttpServer,
 *   runtimeName,
 *   runtimeVersion,
 * } from "@comqtt/broker";
 *
 * const broker = new Broker({ hooks: [new AllowHook()] });
 * const http = createHttpApp({ broker, runtime: { name: runtimeName(), version: runtimeVersion() } });
 * const server = await createHttpServer(http, { host: "127.0.0.1", port: 8080 });
 * await server.listen();
 * http.ready = true;
 * // ...
 * http.close();
 * await server.close();
 * ```
 */
export function createHttpApp(options: HttpAppOptions): HttpApp {
  const { broker, auth } = options;
  const runtime = options.runtime ?? { name: "unknown", version: "unknown" };
  const activity = new ActivityHook();
  broker.addHook(activity);
  const sampler = new RateSampler({
    clock: broker.clock,
    stats: broker.stats,
    intervalMs: options.sampleIntervalMs,
    historySize: options.historySize,
  });
  const storage = options.storageLatency ?? storageLatency();
  const hub = new EventHub({ maxStreams: options.maxEventStreams });
  sampler.onSample((sample) => {
    activity.sampleRates(broker.connectedClients(), sampler.intervalMs / 1000);
    if (hub.size > 0) hub.broadcast("tick", liveUpdate(broker, activity, sample));
  });
  sampler.start();

  const app = new Hono();
  let ready = false;

  app.use(async (c, next) => {
    await next();
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.header(name, value);
  });
  app.use(browserGuard({ loopbackHostOnly: options.loopbackHostOnly === true && auth === undefined }));
  app.use(requireAuth({
    auth,
    // Probes stay open; the page shell and its assets hold no data, so a token-only setup can show its sign-in
    // form. With basic auth the page itself asks, so the browser prompts once and reuses the credentials.
    isPublic: (path) =>
      path === "/healthz" || path === "/readyz" || path in ASSETS ||
      (path === "/" && auth?.username === undefined),
  }));

  app.onError((err, c) => {
    if (err instanceof HttpError) return c.json(httpError(err.status, err.message), err.status);
    broker.logger.error("HTTP request failed", { method: c.req.method, path: c.req.path, error: err });
    return c.json(httpError(500, `Cannot ${c.req.method} ${c.req.path}: ${err.message}`), 500);
  });
  app.notFound((c) => c.json(httpError(404, `Nothing at ${c.req.method} ${c.req.path}`), 404));

  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get(
    "/readyz",
    (c) =>
      ready
        ? c.json({ status: "ready" })
        : c.json(httpError(503, "The broker is not serving yet (or is stopping)"), 503),
  );
  app.get(
    "/metrics",
    (c) =>
      c.body(renderMetrics({ broker, activity, storage, runtime }), 200, {
        "content-type": PROMETHEUS_CONTENT_TYPE,
      }),
  );

  const context = { broker, activity, sampler, runtime, config: options.config };
  app.get("/api/v1/events", () => hub.response([formatEvent("hello", brokerOverview(context))]));
  app.route("/api/v1", apiRoutes(context));

  app.get("/", (c) => c.html(PAGE_HTML, 200, { "cache-control": "no-cache" }));
  for (const [path, asset] of Object.entries(ASSETS)) {
    app.get(
      path,
      (c) => c.body(asset.body, 200, { "content-type": asset.type, "cache-control": "no-cache" }),
    );
  }

  return {
    app,
    fetch: (request) => app.fetch(request),
    activity,
    sampler,
    get ready() {
      return ready;
    },
    set ready(value: boolean) {
      ready = value;
    },
    close() {
      ready = false;
      sampler.stop();
      hub.closeAll();
    },
  };
}
