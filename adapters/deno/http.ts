/**
 * HTTP server on `Deno.serve`, serving a Web-standard fetch app (the Hono dashboard).
 *
 * `shutdown()` is graceful: it waits for every response body to finish. Streaming bodies (Server-Sent Events)
 * never finish on their own, so each body is wrapped and `close()` ends the open ones before shutting down.
 * @module
 */

import {
  alreadyListening,
  type FetchApp,
  type HttpServer,
  type HttpServerOptions,
  OpenBodies,
  resolveHttpOptions,
} from "../_http_common.ts";
import { listenError } from "../_tcp_common.ts";
import { BoundServer } from "../_listener.ts";

export type { FetchApp, HttpServer, HttpServerOptions } from "../_http_common.ts";

// The few Deno APIs used, declared structurally so this file needs no Deno type library.
interface DenoHttpServer {
  readonly addr: { readonly hostname: string; readonly port: number };
  shutdown(): Promise<void>;
}
interface DenoServeApi {
  serve(
    options: { hostname: string; port: number; onListen(): void; onError(error: unknown): Response },
    handler: (request: Request) => Response | Promise<Response>,
  ): DenoHttpServer;
}

function deno(): DenoServeApi {
  return (globalThis as unknown as { Deno: DenoServeApi }).Deno;
}

/**
 * Create an HTTP server on `Deno.serve`. Nothing is bound until `listen()`.
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
    const bodies = new OpenBodies();
    let server: DenoHttpServer;
    try {
      server = deno().serve({
        hostname: o.host,
        port: o.port,
        onListen() {}, // Deno logs "Listening on ..." by default; the caller logs instead.
        onError: () => new Response("Internal Server Error", { status: 500 }),
      }, async (request) => bodies.track(await app.fetch(request)));
    } catch (error) {
      throw listenError(o.host, o.port, error);
    }
    return {
      host: server.addr.hostname,
      port: server.addr.port,
      close() {
        bodies.closeAll();
        return server.shutdown();
      },
    };
  });
}
