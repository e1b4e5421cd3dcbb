/**
 * Every WebSocket adapter on real sockets, with the `ws` package as the client: the `ws` adapter (which runs on
 * all three runtimes) and the running runtime's own server (Deno.upgradeWebSocket, Bun.serve; on Node the `ws`
 * adapter is the native one). WSS runs with certificates made by openssl for the run.
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import { runtimeName } from "../../adapters/mod.ts";
import { createWsListener as createNodeWsListener } from "../../adapters/node/ws.ts";
import type { WsListenerOptions } from "../../adapters/_ws_common.ts";
import type { AcceptInfo, Connection, Listener } from "../../src/transport/connection.ts";
import type { Logger } from "../../src/logger.ts";
import { CLIENT_CN, makeTestPki, type TestPki } from "../_helpers/certs.ts";
import {
  acceptOne,
  concat,
  deferred,
  HOST,
  type Recorder,
  recorder,
  sleep,
  waitFor,
  withTimeout,
} from "./_tcp_helpers.ts";

type CreateWsListener = (options?: WsListenerOptions) => Listener;

async function nativeAdapter(): Promise<CreateWsListener> {
  switch (runtimeName()) {
    case "deno":
      return (await import("../../adapters/deno/ws.ts")).createWsListener;
    case "bun":
      return (await import("../../adapters/bun/ws.ts")).createWsListener;
    default:
      return createNodeWsListener;
  }
}

let pki: TestPki;
before(async () => {
  pki = await makeTestPki();
});
after(async () => {
  await pki?.remove();
});

/** An open client, or a rejection carrying the HTTP status the server refused the upgrade with. */
function wsClient(
  url: string,
  protocols: string[] = ["mqtt"],
  options: WebSocket.ClientOptions = {},
): Promise<WebSocket> {
  return withTimeout(
    new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(url, protocols, options);
      ws.once("open", () => resolve(ws));
      ws.once("unexpected-response", (_req, res) => {
        reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode }));
        ws.terminate();
      });
      ws.once("error", reject);
    }),
    `the WebSocket client to open ${url}`,
  );
}

/** Every binary message, and the close code, of a client. */
function watch(ws: WebSocket) {
  const messages: Array<{ bytes: Uint8Array; binary: boolean }> = [];
  const closed = deferred<number>();
  ws.on(
    "message",
    (data: Uint8Array, binary: boolean) => messages.push({ bytes: new Uint8Array(data), binary }),
  );
  ws.on("close", (code: number) => closed.resolve(code));
  ws.on("error", () => {});
  return { messages, closed: withTimeout(closed.promise, "the client's close") };
}

function memoryLogger(): Logger & { lines: Array<{ level: string; message: string; fields?: unknown }> } {
  const lines: Array<{ level: string; message: string; fields?: unknown }> = [];
  const log = (level: string) => (message: string, fields?: unknown) =>
    lines.push({ level, message, fields });
  return { lines, debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };
}

function wsScenarios(name: string, create: CreateWsListener): void {
  describe(`${name}: MQTT over WebSocket`, () => {
    async function listening(
      accept: Parameters<Listener["listen"]>[0],
      options: WsListenerOptions = {},
    ): Promise<{ listener: Listener; url: string }> {
      const listener = create({ host: HOST, port: 0, ...options });
      await withTimeout(listener.listen(accept), "listen()");
      const scheme = options.tls ? "wss" : "ws";
      return { listener, url: `${scheme}://${HOST}:${listener.port}${options.path ?? "/mqtt"}` };
    }

    it('MQTT-6.0.0-4 "mqtt" subprotocol chosen; the legacy "mqttv3.1" is accepted; anything else gets 400', async () => {
      let accepted = 0;
      const { listener, url } = await listening(() => (accepted++, recorder().handler));
      try {
        assert.equal(listener.protocol, "ws");
        const both = await wsClient(url, ["mqttv3.1", "mqtt"]);
        assert.equal(both.protocol, "mqtt");
        const legacy = await wsClient(url, ["mqttv3.1"]);
        assert.equal(legacy.protocol, "mqttv3.1");
        await waitFor(() => accepted === 2, "two accepts");
        await assert.rejects(wsClient(url, ["chat"]), { status: 400 });
        await assert.rejects(wsClient(url, []), { status: 400 });
        assert.equal(accepted, 2);
        both.terminate();
        legacy.terminate();
      } finally {
        await listener.close();
      }
    });

    it("answers 404 on another path and 426 to a plain HTTP request; the path is configurable", async () => {
      const { listener, url } = await listening(() => recorder().handler, { path: "/broker" });
      try {
        const base = `http://${HOST}:${listener.port}`;
        const other = await withTimeout(fetch(`${base}/mqtt`), "GET /mqtt");
        assert.equal(other.status, 404);
        assert.match(await other.text(), /served at \/broker/);
        const plain = await withTimeout(fetch(`${base}/broker`), "GET /broker");
        assert.equal(plain.status, 426);
        await plain.text();
        await assert.rejects(wsClient(`ws://${HOST}:${listener.port}/mqtt`), { status: 404 });
        const ws = await wsClient(url);
        ws.terminate();
      } finally {
        await listener.close();
      }
    });

    it("MQTT-6.0.0-1 binary frames only: writes leave in binary messages; a text message closes the connection", async () => {
      const { accept, accepted } = acceptOne(() => recorder());
      const { listener, url } = await listening(accept);
      try {
        const ws = await wsClient(url);
        const seen = watch(ws);
        const { connection, rec } = await withTimeout(accepted, "the accept");
        connection.write(new Uint8Array([0x20, 0x02]));
        connection.write(new Uint8Array([0x00, 0x00]));
        await waitFor(() => seen.messages.length > 0, "a message");
        // Both writes of one turn went out together, as one binary message.
        assert.deepEqual(seen.messages, [{ bytes: new Uint8Array([0x20, 0x02, 0x00, 0x00]), binary: true }]);
        ws.send("not MQTT");
        const error = await withTimeout(rec.closed, "closed()");
        assert.match(String(error?.message), /text message/);
        await seen.closed;
        assert.equal(rec.closedCalls.length, 1);
      } finally {
        await listener.close();
      }
    });

    it("MQTT-6.0.0-2 packets split and joined: messages arrive as one ordered byte stream", async () => {
      const chunks: Uint8Array[] = [];
      const { accept, accepted } = acceptOne(() => recorder((b) => chunks.push(b.slice())));
      const { listener, url } = await listening(accept);
      try {
        const ws = await wsClient(url);
        await withTimeout(accepted, "the accept");
        ws.send(new Uint8Array([0x10, 0x0c, 0x00]));
        ws.send(new Uint8Array([0x04]));
        ws.send(
          new Uint8Array([
            0x4d,
            0x51,
            0x54,
            0x54,
            0x04,
            0x02,
            0x00,
            0x3c,
            0x00,
            0x00,
            0xc0,
            0x00,
            0xc0,
            0x00,
          ]),
        );
        await waitFor(() => concat(chunks).byteLength === 18, "18 bytes");
        assert.deepEqual(
          concat(chunks),
          new Uint8Array([
            0x10,
            0x0c,
            0x00,
            0x04,
            0x4d,
            0x51,
            0x54,
            0x54,
            0x04,
            0x02,
            0,
            0x3c,
            0,
            0,
            0xc0,
            0,
            0xc0,
            0,
          ]),
        );
        ws.terminate();
      } finally {
        await listener.close();
      }
    });

    it("end() sends what is queued, then closes the WebSocket with 1000", async () => {
      const { accept, accepted } = acceptOne(() => recorder());
      const { listener, url } = await listening(accept);
      try {
        const ws = await wsClient(url);
        const seen = watch(ws);
        const { connection, rec } = await withTimeout(accepted, "the accept");
        connection.write(new Uint8Array([0xe0, 0x00]));
        connection.end();
        connection.end();
        assert.equal(connection.write(new Uint8Array([1])), false);
        assert.equal(await seen.closed, 1000);
        assert.deepEqual(seen.messages.map((m) => [...m.bytes]), [[0xe0, 0x00]]);
        assert.equal(await withTimeout(rec.closed, "closed()"), undefined);
        await sleep(20);
        assert.equal(rec.closedCalls.length, 1);
      } finally {
        await listener.close();
      }
    });

    it("the client closing its WebSocket ends the connection: closed() once, without error", async () => {
      const { accept, accepted } = acceptOne(() => recorder());
      const { listener, url } = await listening(accept);
      try {
        const ws = await wsClient(url);
        const { rec } = await withTimeout(accepted, "the accept");
        ws.close(1000);
        assert.equal(await withTimeout(rec.closed, "closed()"), undefined);
        await sleep(20);
        assert.equal(rec.closedCalls.length, 1);
      } finally {
        await listener.close();
      }
    });

    it("destroy() drops the WebSocket; a client that vanishes is reported too", async () => {
      const { accept, accepted } = acceptOne(() => recorder());
      const { listener, url } = await listening(accept);
      try {
        const ws = await wsClient(url);
        const seen = watch(ws);
        const { connection, rec } = await withTimeout(accepted, "the accept");
        connection.write(new Uint8Array([1, 2, 3]));
        connection.destroy();
        await seen.closed;
        await withTimeout(rec.closed, "closed()");
        assert.equal(rec.closedCalls.length, 1);

        const second = acceptOne(() => recorder());
        const other = await listening(second.accept);
        try {
          const gone = await wsClient(other.url);
          const { rec: rec2 } = await withTimeout(second.accepted, "the second accept");
          gone.terminate(); // no close frame: the TCP connection just ends
          const error = await withTimeout(rec2.closed, "closed() after the client vanished");
          assert.ok(error === undefined || error instanceof Error);
        } finally {
          await other.listener.close();
        }
      } finally {
        await listener.close();
      }
    });

    it("back-pressure: write() turns false above the high-water mark, and drain() follows", async () => {
      let rec!: Recorder;
      let connection!: Connection;
      const drained = deferred();
      const { listener, url } = await listening((c) => {
        connection = c;
        rec = recorder(undefined, () => drained.resolve());
        return rec.handler;
      }, { highWaterMark: 64 * 1024 });
      try {
        const ws = await wsClient(url);
        let received = 0;
        ws.on("message", (data: Uint8Array) => (received += data.byteLength));
        await waitFor(() => connection !== undefined, "the accept");
        const chunk = new Uint8Array(256 * 1024).fill(7);
        let written = 0;
        let blocked = false;
        for (let i = 0; i < 64 && !blocked; i++) {
          blocked = !connection.write(chunk);
          written += chunk.byteLength;
        }
        assert.equal(blocked, true);
        await withTimeout(drained.promise, "drain()");
        await waitFor(() => received === written, `all ${written} bytes`);
        assert.equal(rec.drains, 1);
        ws.terminate();
      } finally {
        await listener.close();
      }
    });

    it("maxConnections: an upgrade over the limit gets 503 and a log line", async () => {
      const logger = memoryLogger();
      let accepted = 0;
      const { listener, url } = await listening(() => (accepted++, recorder().handler), {
        id: "ws-limited",
        maxConnections: 1,
        logger,
      });
      try {
        const first = await wsClient(url);
        await assert.rejects(wsClient(url), { status: 503 });
        assert.equal(accepted, 1);
        const warning = logger.lines.find((l) => l.level === "warn");
        assert.equal(warning?.message, "listener connection limit reached: refusing connection");
        assert.equal((warning?.fields as { listener: string }).listener, "ws-limited");
        first.close();
        let again: WebSocket | undefined;
        for (let i = 0; i < 50 && again === undefined; i++) {
          again = await wsClient(url).catch(() => sleep(10).then(() => undefined));
        }
        assert.ok(again, "a freed slot admits a new client");
        again.terminate();
      } finally {
        await listener.close();
      }
    });

    it("close() stops new upgrades and leaves open WebSockets to the broker", async () => {
      const { accept, accepted } = acceptOne((c) => recorder((b) => c.write(b.slice())));
      const { listener, url } = await listening(accept);
      const ws = await wsClient(url);
      const seen = watch(ws);
      const { connection, rec } = await withTimeout(accepted, "the accept");
      await listener.close();
      await assert.rejects(wsClient(url));
      ws.send(new Uint8Array([9, 9]));
      await waitFor(() => seen.messages.length === 1, "the echo after close()");
      connection.end();
      await seen.closed;
      await withTimeout(rec.closed, "closed()");
    });

    it("WSS: a client that trusts the CA connects; with a client CA the common name reaches the broker", async () => {
      const infos: AcceptInfo[] = [];
      const tls = { cert: pki.pem.serverCert, key: pki.pem.serverKey };
      const plain = await listening((_c, info) => (infos.push(info), recorder().handler), { tls });
      try {
        assert.equal(plain.listener.protocol, "wss");
        assert.equal(plain.listener.id, "wss");
        const ws = await wsClient(plain.url, ["mqtt"], { ca: pki.pem.ca });
        assert.equal(ws.protocol, "mqtt");
        await waitFor(() => infos.length === 1, "the accept");
        assert.deepEqual(infos, [{ listener: "wss" }]);
        ws.terminate();
      } finally {
        await plain.listener.close();
      }
      const verified = await listening((_c, info) => (infos.push(info), recorder().handler), {
        tls: { ...tls, clientCa: pki.pem.ca, useIdentityAsUsername: true },
      });
      try {
        const good = await wsClient(verified.url, ["mqtt"], {
          ca: pki.pem.ca,
          cert: pki.pem.clientCert,
          key: pki.pem.clientKey,
        });
        await waitFor(() => infos.length === 2, "the accept");
        assert.deepEqual(infos[1], {
          listener: "wss",
          certificateCommonName: CLIENT_CN,
          useIdentityAsUsername: true,
        });
        good.terminate();
        await assert.rejects(
          wsClient(verified.url, ["mqtt"], {
            ca: pki.pem.ca,
            cert: pki.pem.wrongCert,
            key: pki.pem.wrongKey,
          }),
        );
        await assert.rejects(wsClient(verified.url, ["mqtt"], { ca: pki.pem.ca }));
        await assert.rejects(
          wsClient(verified.url, ["mqtt"], { ca: pki.pem.ca, cert: pki.pem.noCnCert, key: pki.pem.noCnKey }),
          { status: 403 },
        );
        assert.equal(infos.length, 2);
      } finally {
        await verified.listener.close();
      }
    });

    it("rejects a taken port with a clear error", async () => {
      const first = await listening(() => recorder().handler);
      try {
        const second = create({ host: HOST, port: first.listener.port });
        await assert.rejects(second.listen(() => recorder().handler), {
          message: `Cannot listen on ${HOST}:${first.listener.port}: address already in use`,
        });
      } finally {
        await first.listener.close();
      }
    });
  });
}

describe("WebSocket listener options", () => {
  it("default to ws on 1882 at /mqtt, and wss on 8884 with tls", () => {
    const ws = createNodeWsListener();
    assert.deepEqual([ws.id, ws.protocol, ws.port], ["ws", "ws", 1882]);
    const wss = createNodeWsListener({ tls: { cert: pki.pem.serverCert, key: pki.pem.serverKey } });
    assert.deepEqual([wss.id, wss.protocol, wss.port], ["wss", "wss", 8884]);
  });

  it("name the bad option and quote the value", () => {
    assert.throws(() => createNodeWsListener({ path: "mqtt" }), {
      name: "TypeError",
      message:
        'Cannot create WebSocket listener "ws": path must start with "/" and hold no "?", "#" or spaces, ' +
        'received "mqtt"',
    });
    assert.throws(() => createNodeWsListener({ id: "w", port: -1 }), {
      name: "RangeError",
      message:
        'Cannot create WebSocket listener "w": port must be a whole number from 0 to 65535, received -1',
    });
    assert.throws(
      () => createNodeWsListener({ tls: { cert: "", key: "" } }),
      /Cannot create WSS listener "wss"/,
    );
  });
});

wsScenarios("ws adapter", createNodeWsListener);
if (runtimeName() !== "node") wsScenarios(`${runtimeName()} native adapter`, await nativeAdapter());
