/**
 * An HTTP auth service for tests (node:http, which runs on Deno, Bun and Node): it answers with a handler the
 * test gives, records each request, and can stop and start again on the same port.
 * @module
 */

import { Buffer } from "node:buffer";
import http from "node:http";
import type { AddressInfo } from "node:net";

/** One request the service received. */
export interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly body: Record<string, unknown>;
}

/** What the handler answers: a status and an optional JSON body (or raw text). */
export interface Reply {
  status: number;
  json?: unknown;
  text?: string;
  delayMs?: number;
}

/** A running test auth service. */
export interface TestHttpAuth {
  readonly port: number;
  readonly url: string;
  readonly requests: SeenRequest[];
  /** Requests to `path` so far. */
  count(path: string): number;
  stop(): Promise<void>;
  start(): Promise<void>;
}

/** Start a service on a free port; `handler` decides each answer. */
export async function startHttpAuth(handler: (request: SeenRequest) => Reply): Promise<TestHttpAuth> {
  const requests: SeenRequest[] = [];
  let server: http.Server | undefined;
  let port = 0;
  const start = async () => {
    server = http.createServer((req, res) => {
      const chunks: Uint8Array[] = [];
      req.on("data", (c: Uint8Array) => chunks.push(c));
      req.on("end", () => {
        const url = new URL(req.url ?? "/", "http://x");
        const text = Buffer.concat(chunks).toString("utf8");
        let body: Record<string, unknown> = {};
        try {
          body = text === "" ? {} : JSON.parse(text);
        } catch { /* recorded as empty */ }
        const seen = { method: req.method ?? "", path: url.pathname, query: url.searchParams, body };
        requests.push(seen);
        const reply = handler(seen);
        const send = () => {
          if (reply.json !== undefined) {
            res.writeHead(reply.status, { "content-type": "application/json" }).end(
              JSON.stringify(reply.json),
            );
          } else res.writeHead(reply.status).end(reply.text ?? "");
        };
        if (reply.delayMs) setTimeout(send, reply.delayMs);
        else send();
      });
    });
    const s = server;
    await new Promise<void>((resolve, reject) => {
      s.once("error", reject);
      s.listen(port, "127.0.0.1", () => resolve());
    });
    port = (s.address() as AddressInfo).port;
  };
  await start();
  return {
    get port() {
      return port;
    },
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    requests,
    count: (path) => requests.filter((r) => r.path === path).length,
    async stop() {
      const s = server;
      server = undefined;
      if (!s) return;
      s.closeAllConnections?.();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    },
    start,
  };
}
