/**
 * The HTTP adapters on real sockets: every adapter this runtime can run (the @hono/node-server one runs
 * everywhere; Deno.serve only under Deno; Bun.serve only under Bun), the same scenarios for each.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { FetchApp, HttpServer, HttpServerOptions } from "../../adapters/mod.ts";
import { createHttpServer as autoServer, runtimeName } from "../../adapters/mod.ts";

type Factory = (app: FetchApp, options?: HttpServerOptions) => HttpServer | Promise<HttpServer>;

const adapters: [string, () => Promise<Factory>][] = [
  ["node (@hono/node-server)", async () => (await import("../../adapters/node/http.ts")).createHttpServer],
];
if (runtimeName() === "deno") {
  adapters.push([
    "deno (Deno.serve)",
    async () => (await import("../../adapters/deno/http.ts")).createHttpServer,
  ]);
}
if (runtimeName() === "bun") {
  adapters.push([
    "bun (Bun.serve)",
    async () => (await import("../../adapters/bun/http.ts")).createHttpServer,
  ]);
}

/** An app with a plain route, a POST echo, and an endless event stream. */
function testApp(): FetchApp & { streams: number } {
  const state = { streams: 0 };
  return {
    get streams() {
      return state.streams;
    },
    async fetch(request: Request): Promise<Response> {
      const url = new URL(request.url);
      if (url.pathname === "/echo") return new Response(await request.text(), { status: 201 });
      if (url.pathname === "/stream") {
        let timer: ReturnType<typeof setInterval> | undefined;
        const body = new ReadableStream<Uint8Array>({
          start(controller) {
            state.streams++;
            controller.enqueue(new TextEncoder().encode("data: first\n\n"));
            timer = setInterval(() => {
              try {
                controller.enqueue(new TextEncoder().encode("data: more\n\n"));
              } catch {
                clearInterval(timer);
              }
            }, 50);
          },
          cancel() {
            clearInterval(timer);
            state.streams--;
          },
        });
        return new Response(body, { headers: { "content-type": "text/event-stream" } });
      }
      return Response.json({ path: url.pathname, method: request.method });
    },
  };
}

async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} took more than ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

for (const [name, load] of adapters) {
  describe(`HTTP adapter: ${name}`, () => {
    it("binds port 0 on 127.0.0.1, serves GET and POST, reports its address", async () => {
      const server = await (await load())(testApp(), { host: "127.0.0.1", port: 0 });
      await server.listen();
      try {
        assert.ok(server.port > 0);
        assert.equal(server.address, `127.0.0.1:${server.port}`);
        const r = await fetch(`http://${server.address}/hello?x=1`);
        assert.deepEqual(await r.json(), { path: "/hello", method: "GET" });
        const echo = await fetch(`http://${server.address}/echo`, { method: "POST", body: "ping" });
        assert.equal(echo.status, 201);
        assert.equal(await echo.text(), "ping");
        await assert.rejects(server.listen(), /already listening/);
      } finally {
        await server.close();
      }
      await assert.rejects(fetch(`http://${server.address}/hello`), "nothing serves after close()");
    });

    it("close() ends an open event stream instead of waiting for it", async () => {
      const app = testApp();
      const server = await (await load())(app, { host: "127.0.0.1", port: 0 });
      await server.listen();
      const response = await fetch(`http://${server.address}/stream`);
      const reader = response.body!.getReader();
      const first = await within(3000, "the first event", reader.read());
      assert.match(new TextDecoder().decode(first.value), /data: first/);
      await within(3000, "close() with an open stream", server.close());
      // The client sees the end (or a reset) soon after.
      await within(
        3000,
        "the stream's end on the client",
        (async () => {
          try {
            for (let i = 0; i < 200; i++) if ((await reader.read()).done) return;
          } catch {
            // A reset is an end too.
          }
        })(),
      );
    });

    it("a taken port is refused with a clear error", async () => {
      const create = await load();
      const first = await create(testApp(), { host: "127.0.0.1", port: 0 });
      await first.listen();
      try {
        const second = await create(testApp(), { host: "127.0.0.1", port: first.port });
        await assert.rejects(second.listen(), {
          message: `Cannot listen on 127.0.0.1:${first.port}: address already in use`,
        });
      } finally {
        await first.close();
      }
    });

    it("refuses bad options and an app without fetch", async () => {
      const create = await load();
      assert.throws(
        () => create(testApp(), { port: 70000 }),
        /port must be a whole number from 0 to 65535, received 70000/,
      );
      assert.throws(() => create(testApp(), { host: "" }), /host must be a non-empty string/);
      assert.throws(() => create({} as FetchApp), /the app must have a fetch\(request\) method/);
    });
  });
}

describe("adapters/mod.ts createHttpServer", () => {
  it("picks the running runtime's server", async () => {
    const server = await autoServer(testApp(), { host: "127.0.0.1", port: 0 });
    await server.listen();
    try {
      assert.equal((await fetch(`http://${server.address}/x`)).status, 200);
    } finally {
      await server.close();
    }
  });
});
