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
  type ResolvedHttpOptions,
  resolveHttpOptions,
} from "../_http_common.ts";
import { hostPort, listenError } from "../_tcp_common.ts";

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
  return new DenoHttpServerAdapter(app, resolveHttpOptions(app, options));
}

class DenoHttpServerAdapter implements HttpServer {
  #app: FetchApp;
  #options: ResolvedHttpOptions;
  #server: DenoHttpServer | undefined;
  #bodies = new OpenBodies();
  #host: string;
  #port: number;

  constructor(app: FetchApp, options: ResolvedHttpOptions) {
    this.#app = app;
    this.#options = options;
    this.#host = options.host;
    this.#port = options.port;
  }

  get port(): number {
    return this.#port;
  }

  get address(): string {
    return hostPort(this.#host, this.#port);
  }

  listen(): Promise<void> {
    if (this.#server) return Promise.reject(alreadyListening(this.#options));
    const { host, port } = this.#options;
    const bodies = this.#bodies;
    const app = this.#app;
    try {
      this.#server = deno().serve({
        hostname: host,
        port,
        onListen() {}, // Deno logs "Listening on ..." by default; the caller logs instead.
        onError: () => new Response("Internal Server Error", { status: 500 }),
      }, async (request) => bodies.track(await app.fetch(request)));
    } catch (error) {
      return Promise.reject(listenError(host, port, error));
    }
    this.#host = this.#server.addr.hostname;
    this.#port = this.#server.addr.port;
    return Promise.resolve();
  }

  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server === undefined) return;
    this.#bodies.closeAll();
    await server.shutdown();
  }
}
