/**
 * A fetch for an HTTPS auth service whose certificate is signed by a CA given in the config: node:https with a
 * keep-alive agent that trusts that CA (node:https runs on Deno, Bun and Node alike; their global fetch each
 * take a CA in a different, runtime-only way).
 * @module
 */

import { Agent, request } from "node:https";
import type { FetchLike } from "../../src/hooks/auth/backends/http_backend.ts";

/** A {@link FetchLike} that trusts `caPem` (and pools connections). */
export function fetchWithCa(caPem: string): FetchLike {
  const agent = new Agent({ keepAlive: true, ca: caPem, maxSockets: 64 });
  return (url, init) =>
    new Promise<Response>((resolve, reject) => {
      const headers = new Headers(init.headers);
      const outgoing: Record<string, string> = {};
      headers.forEach((v, k) => (outgoing[k] = v));
      const body = typeof init.body === "string" ? init.body : undefined;
      if (body !== undefined) outgoing["content-length"] = String(new TextEncoder().encode(body).length);
      const req = request(url, { method: init.method ?? "GET", headers: outgoing, agent }, (res) => {
        const chunks: Uint8Array[] = [];
        res.on("data", (c: Uint8Array) => chunks.push(c));
        res.on("end", () => {
          const status = res.statusCode ?? 0;
          const text = new TextDecoder().decode(concat(chunks));
          resolve(new Response(status === 204 ? null : text, { status }));
        });
        res.on("error", reject);
      });
      req.on("error", reject);
      init.signal?.addEventListener("abort", () => req.destroy(init.signal?.reason as Error), { once: true });
      if (body !== undefined) req.write(body);
      req.end();
    });
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
