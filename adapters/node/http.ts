/**
 * HTTP server on `node:http` through `@hono/node-server`, serving a Web-standard fetch app (the Hono dashboard).
 * Like the node:net TCP adapter, it also runs under Deno and Bun.
 * @module
 */

import { createAdaptorServer } from "@hono/node-server";
import type { Server } from "node:http";
import {
  alreadyListening,
  type FetchApp,
  type HttpServer,
  type HttpServerOptions,
  type ResolvedHttpOptions,
  resolveHttpOptions,
} from "../_http_common.ts";
import { hostPort, listenError } from "../_tcp_common.ts";

export type { FetchApp, HttpServer, HttpServerOptions } from "../_http_common.ts";

/**
 * Create an HTTP server on `@hono/node-server`. Nothing is bound until `listen()`.
 *
 * @example
 * ```ts
 * const server = createHttpServer({ fetch: () => new Response("ok") }, { host: "127.0.0.1", port: 0 });
 * await server.listen();
 * await server.close();
 * ```
 */
export function createHttpServer(app: FetchApp, options: HttpServerOptions = {}): HttpServer {
  return new NodeHttpServer(app, resolveHttpOptions(app, options));
}

class NodeHttpServer implements HttpServer {
  #app: FetchApp;
  #options: ResolvedHttpOptions;
  #server: Server | undefined;
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
    const app = this.#app;
    const server = createAdaptorServer({
      fetch: (request: Request) => app.fetch(request),
      // The default swaps the process's global Request and Response for lighter ones; keep the globals intact.
      overrideGlobalObjects: false,
    }) as Server;
    this.#server = server;
    return new Promise<void>((resolve, reject) => {
      const onError = (error: Error) => {
        this.#server = undefined;
        reject(listenError(host, port, error));
      };
      server.once("error", onError);
      server.listen(port, host, () => {
        server.off("error", onError);
        const address = server.address();
        if (address !== null && typeof address === "object") this.#port = address.port;
        resolve();
      });
    });
  }

  close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server === undefined) return Promise.resolve();
    return new Promise<void>((resolve) => {
      server.close(() => resolve());
      // close() only stops accepting: end keep-alive and streaming (Server-Sent Events) connections too.
      server.closeAllConnections();
    });
  }
}
