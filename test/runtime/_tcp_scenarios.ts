/**
 * The scenario table every TCP adapter must pass, run against real sockets on 127.0.0.1 with a node:net client
 * (node:net works under Deno, Bun and Node, so the client is the same everywhere).
 *
 * `tcpScenarios(name, create)` registers one `describe` block; test/runtime/tcp_adapter_test.ts calls it once per
 * adapter. Every wait is bounded (withTimeout, waitFor); every listener, client and connection a scenario opens
 * is closed in its `finally`.
 * @module
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Socket } from "node:net";
import {
  acceptOne,
  collect,
  connectClient,
  type CreateTcpListener,
  deferred,
  HOST,
  listening,
  pattern,
  patternMismatch,
  type Recorder,
  recorder,
  sleep,
  waitFor,
  withTimeout,
} from "./_tcp_helpers.ts";

export type { CreateTcpListener } from "./_tcp_helpers.ts";

/** Register the scenario table for one adapter. */
export function tcpScenarios(name: string, create: CreateTcpListener): void {
  describe(name, () => {
    it("fills in defaults and rejects bad options", () => {
      const listener = create();
      assert.equal(listener.id, "tcp");
      assert.equal(listener.protocol, "tcp");
      assert.equal(listener.port, 1883);
      assert.equal(listener.address, "0.0.0.0:1883");
      const named = create({ id: "tcp-local", host: HOST, port: 0 });
      assert.equal(named.id, "tcp-local");
      assert.equal(named.address, "127.0.0.1:0");
      assert.throws(() => create({ port: -1 }), RangeError);
      assert.throws(() => create({ port: 65_536 }), RangeError);
      assert.throws(() => create({ port: 1.5 }), RangeError);
      assert.throws(() => create({ highWaterMark: 0 }), RangeError);
      assert.throws(() => create({ host: "" }), TypeError);
    });

    it("reports the real port and address after listen(0)", async () => {
      const listener = await listening(create, () => recorder().handler);
      try {
        assert.ok(listener.port > 0 && listener.port <= 65_535, `port ${listener.port}`);
        assert.equal(listener.address, `127.0.0.1:${listener.port}`);
        await assert.rejects(listener.listen(() => recorder().handler), /already listens/);
        const client = await connectClient(listener.port);
        client.destroy();
      } finally {
        await listener.close();
      }
    });

    it("moves bytes both ways (echo) and formats remoteAddress as ip:port", async () => {
      const { accept, accepted } = acceptOne((connection) => {
        connection.write(new TextEncoder().encode("hello"));
        // The runtime may reuse `bytes` after the call (Deno does): keep a copy.
        return recorder((bytes) => connection.write(bytes.slice()));
      });
      const listener = await listening(create, accept);
      const client = await connectClient(listener.port);
      const inbox = collect(client);
      try {
        const { connection } = await withTimeout(accepted, "accept");
        assert.equal(connection.remoteAddress, `127.0.0.1:${client.localPort}`);
        const total = 512 * 1024;
        let sent = 0;
        for (let size = 1; sent < total; size = (size * 3 + 7) % 40_000 + 1) {
          const n = Math.min(size, total - sent);
          client.write(pattern(sent, n));
          sent += n;
        }
        await waitFor(() => inbox.bytes().byteLength >= 5 + total, "the echo");
        const got = inbox.bytes();
        assert.equal(new TextDecoder().decode(got.subarray(0, 5)), "hello");
        assert.equal(got.byteLength, 5 + total);
        assert.equal(patternMismatch(got.subarray(5), 0), -1);
      } finally {
        client.destroy();
        await listener.close();
      }
    });

    it("sends many small writes of one turn in order", async () => {
      const { accept, accepted } = acceptOne((connection) => {
        for (let i = 0; i < 2000; i++) assert.equal(connection.write(pattern(i * 3, 3)), true);
        connection.end();
        return recorder();
      });
      const listener = await listening(create, accept);
      const client = await connectClient(listener.port);
      const inbox = collect(client);
      try {
        const { rec } = await withTimeout(accepted, "accept");
        await withTimeout(inbox.ended, "the server's FIN");
        assert.equal(inbox.bytes().byteLength, 6000);
        assert.equal(patternMismatch(inbox.bytes(), 0), -1);
        await withTimeout(rec.closed, "closed()");
      } finally {
        client.destroy();
        await listener.close();
      }
    });

    it("returns false past highWaterMark within one turn, then calls drain() once", async () => {
      const results: boolean[] = [];
      const { accept, accepted } = acceptOne((connection) => {
        results.push(connection.write(pattern(0, 40 * 1024)));
        results.push(connection.write(pattern(40 * 1024, 40 * 1024)));
        results.push(connection.write(pattern(80 * 1024, 1)));
        const rec = recorder(undefined, () => results.push(connection.write(pattern(80 * 1024 + 1, 1))));
        return rec;
      });
      const listener = await listening(create, accept, { highWaterMark: 64 * 1024 });
      const client = await connectClient(listener.port);
      const inbox = collect(client);
      try {
        const { rec } = await withTimeout(accepted, "accept");
        assert.deepEqual(results.slice(0, 3), [true, false, false]);
        await waitFor(() => inbox.bytes().byteLength >= 80 * 1024 + 2, "all bytes");
        await sleep(20);
        assert.equal(rec.drains, 1);
        assert.deepEqual(results, [true, false, false, true]);
        assert.equal(patternMismatch(inbox.bytes(), 0), -1);
      } finally {
        client.destroy();
        await listener.close();
      }
    });

    it("pushes 8 MB through a slow reader: write() returns false, drain() comes, nothing is lost", async () => {
      const total = 8 * 1024 * 1024;
      const chunk = 64 * 1024;
      const pump = { written: 0, falses: 0, drains: 0, spuriousDrains: 0, blocked: false };
      const { accept, accepted } = acceptOne((connection) => {
        const run = (): void => {
          while (pump.written < total) {
            const ok = connection.write(pattern(pump.written, chunk));
            pump.written += chunk;
            if (!ok) {
              pump.falses++;
              pump.blocked = true;
              return;
            }
          }
          connection.end();
        };
        const rec = recorder(undefined, () => {
          if (!pump.blocked) pump.spuriousDrains++;
          pump.blocked = false;
          pump.drains++;
          run();
        });
        queueMicrotask(run);
        return rec;
      });
      const listener = await listening(create, accept, { highWaterMark: 256 * 1024 });
      const client = await connectClient(listener.port);
      client.pause();
      let receivedBytes = 0;
      let mismatch = -1;
      const ended = deferred();
      client.on("data", (bytes: Uint8Array) => {
        if (mismatch < 0) mismatch = patternMismatch(bytes, receivedBytes);
        receivedBytes += bytes.byteLength;
        // A slow reader: a short pause after every read.
        client.pause();
        setTimeout(() => client.resume(), 1);
      });
      client.on("end", () => ended.resolve());
      client.on("close", () => ended.resolve());
      try {
        const { rec } = await withTimeout(accepted, "accept");
        await sleep(300);
        const writtenWhilePaused = pump.written;
        client.resume();
        await withTimeout(ended.promise, "8 MB and the server's FIN");
        assert.ok(
          writtenWhilePaused < total,
          `the writer was held back (${writtenWhilePaused} B while paused)`,
        );
        assert.ok(pump.falses >= 1, "write() returned false");
        assert.equal(pump.drains, pump.falses, "one drain() per false");
        assert.equal(pump.spuriousDrains, 0);
        assert.equal(receivedBytes, total);
        assert.equal(mismatch, -1);
        assert.equal(await withTimeout(rec.closed, "closed()"), undefined);
        assert.equal(rec.closedCalls.length, 1);
      } finally {
        client.destroy();
        await listener.close();
      }
    });

    it("end() sends everything queued before closing", async () => {
      const total = 2 * 1024 * 1024;
      const { accept, accepted } = acceptOne((connection) => {
        // Ignore back-pressure on purpose: end() must still flush all of it.
        for (let offset = 0; offset < total; offset += total / 4) {
          connection.write(pattern(offset, total / 4));
        }
        connection.end();
        assert.equal(connection.write(new Uint8Array(1)), false, "write() after end() is refused");
        connection.end();
        return recorder();
      });
      const listener = await listening(create, accept, { highWaterMark: 64 * 1024 });
      const client = await connectClient(listener.port);
      client.pause();
      const inbox = collect(client);
      try {
        const { rec } = await withTimeout(accepted, "accept");
        await sleep(200);
        client.resume();
        await withTimeout(inbox.ended, "the server's FIN");
        assert.equal(inbox.bytes().byteLength, total);
        assert.equal(patternMismatch(inbox.bytes(), 0), -1);
        assert.equal(await withTimeout(rec.closed, "closed()"), undefined);
        await sleep(20);
        assert.equal(rec.closedCalls.length, 1);
      } finally {
        client.destroy();
        await listener.close();
      }
    });

    it("destroy() closes at once and drops what is queued", async () => {
      const { accept, accepted } = acceptOne((connection) => {
        connection.write(pattern(0, 1024 * 1024));
        connection.destroy();
        assert.equal(connection.write(new Uint8Array(1)), false, "write() after destroy() is refused");
        connection.destroy();
        connection.end();
        return recorder();
      });
      const listener = await listening(create, accept);
      const client = await connectClient(listener.port);
      const inbox = collect(client);
      try {
        const { rec } = await withTimeout(accepted, "accept");
        await withTimeout(inbox.closed, "the client to see the close");
        assert.equal(inbox.bytes().byteLength, 0);
        assert.equal(await withTimeout(rec.closed, "closed()"), undefined);
        await sleep(20);
        assert.equal(rec.closedCalls.length, 1);
      } finally {
        client.destroy();
        await listener.close();
      }
    });

    it("calls closed() once, without error, when the client ends", async () => {
      const { accept, accepted } = acceptOne(() => recorder());
      const listener = await listening(create, accept);
      const client = await connectClient(listener.port);
      const inbox = collect(client);
      try {
        const { rec } = await withTimeout(accepted, "accept");
        client.end();
        assert.equal(await withTimeout(rec.closed, "closed()"), undefined);
        await withTimeout(inbox.closed, "the client socket to close");
        await sleep(20);
        assert.equal(rec.closedCalls.length, 1);
      } finally {
        client.destroy();
        await listener.close();
      }
    });

    it("calls closed() once, with an Error, when the client resets (ECONNRESET)", async () => {
      const { accept, accepted } = acceptOne(() => recorder());
      const listener = await listening(create, accept);
      const client = await connectClient(listener.port);
      client.on("error", () => {});
      try {
        const { rec } = await withTimeout(accepted, "accept");
        client.resetAndDestroy();
        const error = await withTimeout(rec.closed, "closed()");
        assert.ok(error instanceof Error, `closed() got ${String(error)}`);
        await sleep(20);
        assert.equal(rec.closedCalls.length, 1);
      } finally {
        client.destroy();
        await listener.close();
      }
    });

    it("calls closed() once when the server ends, after the client saw the bytes and FIN", async () => {
      const { accept, accepted } = acceptOne((connection) => {
        connection.write(new TextEncoder().encode("bye"));
        connection.end();
        return recorder();
      });
      const listener = await listening(create, accept);
      const client = await connectClient(listener.port);
      const inbox = collect(client);
      try {
        const { rec } = await withTimeout(accepted, "accept");
        await withTimeout(inbox.ended, "the server's FIN");
        assert.equal(new TextDecoder().decode(inbox.bytes()), "bye");
        assert.equal(await withTimeout(rec.closed, "closed()"), undefined);
        await sleep(20);
        assert.equal(rec.closedCalls.length, 1);
      } finally {
        client.destroy();
        await listener.close();
      }
    });

    it("answers a client that half-closes, then closes", async () => {
      const { accept, accepted } = acceptOne((connection) =>
        recorder((bytes) =>
          connection.write(new TextEncoder().encode(`re:${new TextDecoder().decode(bytes)}`))
        )
      );
      const listener = await listening(create, accept);
      const client = await connectClient(listener.port, { allowHalfOpen: true });
      const inbox = collect(client);
      try {
        client.end("ping");
        const { rec } = await withTimeout(accepted, "accept");
        await withTimeout(inbox.ended, "the server's FIN");
        assert.equal(new TextDecoder().decode(inbox.bytes()), "re:ping");
        assert.equal(await withTimeout(rec.closed, "closed()"), undefined);
        assert.equal(rec.closedCalls.length, 1);
      } finally {
        client.destroy();
        await listener.close();
      }
    });

    it("closes only the connection whose handler throws, with that error", async () => {
      const boom = new Error("handler failed");
      const recs: Recorder[] = [];
      const listener = await listening(create, () => {
        const rec = recorder(() => {
          throw boom;
        });
        recs.push(rec);
        return rec.handler;
      });
      const first = await connectClient(listener.port);
      const firstInbox = collect(first);
      let second: Socket | undefined;
      try {
        first.write("x");
        await withTimeout(firstInbox.closed, "the failing connection to close");
        assert.equal(await withTimeout(recs[0].closed, "closed()"), boom);
        second = await connectClient(listener.port);
        assert.equal(second.destroyed, false);
      } finally {
        first.destroy();
        second?.destroy();
        await listener.close();
      }
    });

    it("rejects listen() on a taken port with a clear message", async () => {
      const first = await listening(create, () => recorder().handler);
      const second = create({ host: HOST, port: first.port });
      try {
        await assert.rejects(
          withTimeout(second.listen(() => recorder().handler), "listen() to fail"),
          (error: Error) => {
            assert.equal(error.message, `Cannot listen on 127.0.0.1:${first.port}: address already in use`);
            return true;
          },
        );
      } finally {
        await second.close();
        await first.close();
      }
    });

    it("close() stops accepting and leaves open connections working", async () => {
      const listener = await listening(
        create,
        (connection) => recorder((b) => connection.write(b.slice())).handler,
      );
      const port = listener.port;
      const client = await connectClient(port);
      const inbox = collect(client);
      try {
        await withTimeout(listener.close(), "close()");
        await assert.rejects(connectClient(port), /ECONNREFUSED/);
        client.write("still here");
        await waitFor(() => inbox.bytes().byteLength >= 10, "the echo after close()");
        assert.equal(new TextDecoder().decode(inbox.bytes()), "still here");
        await listener.close();
      } finally {
        client.destroy();
        await listener.close();
      }
    });
  });
}
