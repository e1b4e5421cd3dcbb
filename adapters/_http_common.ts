/**
 * Options, defaults and types shared by the three HTTP adapters (`Deno.serve`, `Bun.serve`, `@hono/node-server`).
 * Pure TypeScript: each adapter serves any Web-standard `fetch(Request): Response` app, such as a Hono app.
 * @module
 */

import { hostPort } from "./_tcp_common.ts";

/** Anything with a Web-standard fetch handler: a Hono app, or `{ fetch }`. */
export interface FetchApp {
  /** Answer one HTTP request. */
  fetch(request: Request): Response | Promise<Response>;
}

/** Options of every adapter's `createHttpServer`. */
export interface HttpServerOptions {
  /** Interface to bind. Default `127.0.0.1`: the dashboard is local unless asked otherwise. */
  host?: string;
  /** Port to bind. Default 8080; 0 picks a free port, reported by `port` and `address` after `listen()`. */
  port?: number;
}

/** An HTTP server serving one app. Nothing is bound until `listen()`. */
export interface HttpServer {
  /** Bound address as `host:port` (the real port once listening, when 0 was asked for). */
  readonly address: string;
  /** The bound port (valid after `listen` resolved). */
  readonly port: number;
  /** Bind and start serving; rejects with a clear error when the address is taken. */
  listen(): Promise<void>;
  /**
   * Stop serving and end every open connection, streaming responses (Server-Sent Events) included, so that
   * closing never waits on a browser tab left open.
   */
  close(): Promise<void>;
}

/** {@link HttpServerOptions} with every default filled in. */
export interface ResolvedHttpOptions {
  host: string;
  port: number;
}

/** Fill in defaults and reject nonsense with a TypeError/RangeError that names the option. */
export function resolveHttpOptions(app: FetchApp, options: HttpServerOptions = {}): ResolvedHttpOptions {
  if (typeof app?.fetch !== "function") {
    throw new TypeError("Cannot create HTTP server: the app must have a fetch(request) method");
  }
  const { host = "127.0.0.1", port = 8080 } = options;
  if (typeof host !== "string" || host === "") {
    throw new TypeError(
      `Cannot create HTTP server: host must be a non-empty string, received ${JSON.stringify(host)}`,
    );
  }
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new RangeError(
      `Cannot create HTTP server: port must be a whole number from 0 to 65535, received ${
        JSON.stringify(port)
      }`,
    );
  }
  return { host, port };
}

/** `Cannot serve HTTP on ...: already listening`, for a second `listen()`. */
export function alreadyListening(options: ResolvedHttpOptions): Error {
  return new Error(`Cannot serve HTTP on ${hostPort(options.host, options.port)}: already listening`);
}

/**
 * Responses whose bodies can be ended from outside. Deno's `shutdown()` waits for every response body to finish,
 * and a Server-Sent Events body never does; wrapping the body lets `close()` end it first.
 */
export class OpenBodies {
  #open = new Set<() => void>();
  #closed = false;

  /** A response with the same status and headers whose body `closeAll()` can end (after it: an empty body). */
  track(response: Response): Response {
    const body = response.body;
    if (body === null) return response;
    if (this.#closed) {
      body.cancel().catch(() => {});
      return new Response(null, { status: response.status, headers: response.headers });
    }
    const reader = body.getReader();
    const open = this.#open;
    let end: () => void = () => {};
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        end = () => {
          open.delete(end);
          reader.cancel().catch(() => {});
          try {
            controller.close();
          } catch {
            // Already closed or errored.
          }
        };
        open.add(end);
      },
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (done) {
            open.delete(end);
            controller.close();
          } else controller.enqueue(value);
        } catch (error) {
          open.delete(end);
          try {
            controller.error(error);
          } catch {
            // end() closed it meanwhile.
          }
        }
      },
      cancel(reason) {
        open.delete(end);
        return reader.cancel(reason);
      },
    });
    return new Response(stream, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  }

  /** End every tracked body that is still open, and every body tracked from now on. */
  closeAll(): void {
    this.#closed = true;
    for (const end of [...this.#open]) end();
  }

  /** How many bodies are still open. */
  get size(): number {
    return this.#open.size;
  }
}
