/**
 * HTTP server on `Bun.serve`, serving a Web-standard fetch app (the Hono dashboard).
 * @module
 */

import {
  alreadyListening,
  type FetchApp,
  type HttpServer,
  type HttpServerOptions,
  resolveHttpOptions,
} from "../_http_common.ts";
import { listenError } from "../_tcp_common.ts";
import { BoundServer } from "../_listener.ts";

export type { FetchApp, HttpServer, HttpServerOptions } from "../_http_common.ts";

// The few Bun APIs used, declared structurally so this file needs no Bun type library (and deno check passes).
interface BunHttpServer {
  readonly port: number;
  readonly hostname: string;
  stop(closeActiveConnections?: boolean): Promise<void> | void;
}
interface BunServeApi {
  serve(options: {
    hostname: string;
    port: number;
    idleTimeout: number;
    reusePort: boolean;
    fetch(request: Request): Response | Promise<Response>;
    error(error: Error): Response;
  }): BunHttpServer;
}

function bun(): BunServeApi {
  return (globalThis as unknown as { Bun: BunServeApi }).Bun;
}

/**
 * Seconds a connection may stay silent. Bun's default (10 s) would cut a Server-Sent Events stream between two
 * events if the app ever sent them less often; the dashboard sends one every second.
 */
const IDLE_TIMEOUT_S = 120;

/**
 * Create an HTTP server on `Bun.serve`. Nothing is bound until `listen()`.
 *
 * @example
 * ```ts
 * const server = createHttpServer({ fetch: () => new Response("ok") }, { host: "127.0.0.1", port: 0 });
 * await server.listen();
 * await server.close();
 * ```
 */
export function createHttpServer(app: FetchApp, options: HttpServerOptions = {}): HttpServer {
  const o = resolveHttpOptions(app, options);
  return new BoundServer<void>(o, () => alreadyListening(o), () => {
    let server: BunHttpServer;
    try {
      server = bun().serve({
        hostname: o.host,
        port: o.port,
        idleTimeout: IDLE_TIMEOUT_S,
        // Bun.serve may turn SO_REUSEPORT on, and then a port in use "binds" without error.
        reusePort: false,
        fetch: (request) => app.fetch(request),
        error: () => new Response("Internal Server Error", { status: 500 }),
      });
    } catch (error) {
      throw listenError(o.host, o.port, error);
    }
    // true: also end open connections (keep-alive and streaming responses), or stop() waits for them.
    return { host: o.host, port: server.port, close: () => server.stop(true) };
  });
}
