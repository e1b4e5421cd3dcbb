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
  resolveHttpOptions,
} from "../_http_common.ts";
import { listenError } from "../_tcp_common.ts";
import { type Binding, BoundServer } from "../_listener.ts";

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
  const o = resolveHttpOptions(app, options);
  return new BoundServer<void>(o, () => alreadyListening(o), () => {
    const server = createAdaptorServer({
      fetch: (request: Request) => app.fetch(request),
      // The default swaps the process's global Request and Response for lighter ones; keep the globals intact.
      overrideGlobalObjects: false,
    }) as Server;
    return new Promise<Binding>((resolve, reject) => {
      const onError = (error: Error) => reject(listenError(o.host, o.port, error));
      server.once("error", onError);
      server.listen(o.port, o.host, () => {
        server.off("error", onError);
        const address = server.address();
        resolve({
          host: o.host,
          port: address !== null && typeof address === "object" ? address.port : o.port,
          close: () =>
            new Promise<void>((done) => {
              server.close(() => done());
              // close() only stops accepting: end keep-alive and streaming (Server-Sent Events) connections too.
              server.closeAllConnections();
            }),
        });
      });
    });
  });
}
