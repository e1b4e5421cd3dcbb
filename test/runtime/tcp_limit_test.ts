/**
 * maxConnections on the plain TCP listeners (the node:net adapter and the runtime's own): a connection over the
 * limit is closed before the broker sees it, the refusal is logged, and a freed slot is used again.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { runtimeName } from "../../adapters/mod.ts";
import { createTcpListener as createNodeTcpListener } from "../../adapters/node/tcp.ts";
import type { Connection } from "../../src/transport/connection.ts";
import { silentLogger } from "../../src/logger.ts";
import { collect, connectClient, HOST, recorder, sleep, waitFor, withTimeout } from "./_tcp_helpers.ts";
import type { CreateTcpListener } from "./_tcp_helpers.ts";

function limitScenario(name: string, create: CreateTcpListener): void {
  it(`${name}: maxConnections refuses and logs the connection over the limit, then admits again`, async () => {
    const warnings: Array<{ message: string; fields?: Record<string, unknown> }> = [];
    const logger = {
      ...silentLogger,
      warn: (message: string, fields?: Record<string, unknown>) => void warnings.push({ message, fields }),
    };
    const accepted: Connection[] = [];
    const listener = create({ id: "tcp-limited", host: HOST, port: 0, maxConnections: 1, logger });
    await withTimeout(listener.listen((c) => (accepted.push(c), recorder().handler)), "listen()");
    try {
      const first = await connectClient(listener.port);
      await waitFor(() => accepted.length === 1, "the first accept");
      const second = await connectClient(listener.port);
      await withTimeout(collect(second).closed, "the second connection to be closed");
      assert.equal(accepted.length, 1);
      assert.equal(warnings.length, 1);
      assert.equal(warnings[0].message, "listener connection limit reached: refusing connection");
      assert.equal(warnings[0].fields?.listener, "tcp-limited");
      assert.equal(warnings[0].fields?.maxConnections, 1);
      const firstClosed = collect(first).closed;
      accepted[0].end();
      await withTimeout(firstClosed, "the first connection to close");
      let third;
      for (let i = 0; i < 50 && accepted.length < 2; i++) {
        third?.destroy();
        third = await connectClient(listener.port);
        await sleep(10);
      }
      assert.equal(accepted.length, 2);
      third?.destroy();
    } finally {
      await listener.close();
    }
  });
}

async function nativeAdapter(): Promise<CreateTcpListener> {
  switch (runtimeName()) {
    case "deno":
      return (await import("../../adapters/deno/tcp.ts")).createTcpListener;
    case "bun":
      return (await import("../../adapters/bun/tcp.ts")).createTcpListener;
    default:
      return createNodeTcpListener;
  }
}

const native = await nativeAdapter();
describe("TCP listener limits", () => {
  limitScenario("node:net adapter", createNodeTcpListener);
  if (runtimeName() !== "node") limitScenario(`${runtimeName()} native adapter`, native);
});
