/**
 * `Connection.pause()` on the running runtime's own TCP adapter stops reading the socket, so a peer that keeps
 * writing meets TCP back-pressure (its own write buffer grows) instead of the broker's memory; `resume()` reads
 * everything that waited. The broker pauses a publisher this way while storage is behind (issue 13, item 7).
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { createTcpListener, runtimeName } from "../../adapters/mod.ts";
import type { Connection } from "../../src/transport/connection.ts";
import { until } from "../_helpers/broker.ts";

const TOTAL = 32 * 1024 * 1024;

describe(`${runtimeName()} TCP adapter: pause and resume`, () => {
  it("a paused connection leaves the bytes in the kernel and with the peer; resume delivers them all", async () => {
    let received = 0;
    let connection: Connection | undefined;
    const listener = await createTcpListener({ host: "127.0.0.1", port: 0 });
    await listener.listen((c) => {
      connection = c;
      c.pause?.();
      return { data: (bytes) => void (received += bytes.byteLength), drain() {}, closed() {} };
    });
    const client = net.connect({ host: "127.0.0.1", port: listener.port });
    try {
      await new Promise((resolve) => client.once("connect", resolve));
      const chunk = new Uint8Array(1024 * 1024);
      for (let sent = 0; sent < TOTAL; sent += chunk.byteLength) client.write(chunk);
      await until(() => connection !== undefined, 2000, "the connection");
      await new Promise((r) => setTimeout(r, 500));
      // Bytes already read may still arrive once; what the kernel can hold (a few MiB) may be in flight. The
      // bulk stays with the writer.
      assert.ok(received < TOTAL / 2, `only ${received} of ${TOTAL} bytes read while paused`);
      assert.ok(client.writableLength > 0, "the writer is held back");
      connection!.resume?.();
      await until(() => received === TOTAL, 10_000, "every byte after resume");
    } finally {
      client.destroy();
      await listener.close();
    }
  });
});
