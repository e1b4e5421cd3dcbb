/**
 * Every TLS adapter on real sockets, with a node:tls client and certificates made by openssl for the run: the
 * node:tls adapter (which runs on all three runtimes) and the running runtime's own (Deno.listenTls, Bun.listen
 * with tls; on Node the node:tls adapter is the native one).
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import { connect as netConnect } from "node:net";
import { runtimeName } from "../../adapters/mod.ts";
import { createTlsListener as createNodeTlsListener } from "../../adapters/node/tls.ts";
import type { TlsListenerOptions } from "../../adapters/_tls_common.ts";
import type { AcceptInfo, Listener } from "../../src/transport/connection.ts";
import type { Logger } from "../../src/logger.ts";
import { CLIENT_CN, makeTestPki, type TestPki } from "../_helpers/certs.ts";
import { acceptOne, deferred, HOST, recorder, sleep, waitFor, withTimeout } from "./_tcp_helpers.ts";

type CreateTlsListener = (options: TlsListenerOptions) => Listener;

async function nativeAdapter(): Promise<CreateTlsListener> {
  switch (runtimeName()) {
    case "deno":
      return (await import("../../adapters/deno/tls.ts")).createTlsListener;
    case "bun":
      return (await import("../../adapters/bun/tls.ts")).createTlsListener;
    default:
      return createNodeTlsListener;
  }
}

let pki: TestPki;
before(async () => {
  pki = await makeTestPki();
});
after(async () => {
  await pki?.remove();
});

interface ClientOptions {
  cert?: string;
  key?: string;
}

/** A node:tls client that trusts the test CA; resolves once the handshake is done on the client's side. */
function tlsClient(port: number, options: ClientOptions = {}): Promise<TLSSocket> {
  return withTimeout(
    new Promise<TLSSocket>((resolve, reject) => {
      const socket = tlsConnect({ host: HOST, port, servername: "localhost", ca: pki.pem.ca, ...options });
      socket.once("secureConnect", () => {
        socket.off("error", reject);
        resolve(socket);
      });
      socket.once("error", reject);
    }),
    "the TLS client to connect",
  );
}

/** Resolves with what the client read once the server closed it (or with the error that ended it). */
function closedWith(socket: TLSSocket): Promise<{ data: string; error?: Error }> {
  let data = "";
  let error: Error | undefined;
  socket.on("data", (chunk: Uint8Array) => (data += new TextDecoder().decode(chunk)));
  socket.on("error", (e) => (error = e));
  return withTimeout(
    new Promise((resolve) => socket.once("close", () => resolve({ data, error }))),
    "the server to close the client",
  );
}

/** A logger that keeps what it is told. */
function memoryLogger(): Logger & { lines: Array<{ level: string; message: string; fields?: unknown }> } {
  const lines: Array<{ level: string; message: string; fields?: unknown }> = [];
  const log = (level: string) => (message: string, fields?: unknown) =>
    lines.push({ level, message, fields });
  return { lines, debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };
}

function tlsScenarios(name: string, create: CreateTlsListener): void {
  describe(`${name}: MQTT over TLS`, () => {
    async function listening(
      accept: Parameters<Listener["listen"]>[0],
      options: Partial<TlsListenerOptions> & { clientCa?: boolean; identity?: boolean } = {},
    ): Promise<Listener> {
      const { clientCa, identity, ...rest } = options;
      const listener = create({
        host: HOST,
        port: 0,
        tls: {
          cert: pki.pem.serverCert,
          key: pki.pem.serverKey,
          ...(clientCa ? { clientCa: pki.pem.ca } : {}),
          ...(identity ? { useIdentityAsUsername: true } : {}),
        },
        ...rest,
      });
      await withTimeout(listener.listen(accept), "listen()");
      return listener;
    }

    it("carries bytes both ways and closes on end(); no client CA means no common name", async () => {
      const infos: AcceptInfo[] = [];
      const { accept, accepted } = acceptOne((connection) =>
        recorder((bytes) => {
          connection.write(bytes.slice());
          connection.end();
        })
      );
      const listener = await listening((c, info) => (infos.push(info), accept(c, info)), { id: "secure" });
      try {
        assert.equal(listener.protocol, "tls");
        assert.equal(listener.id, "secure");
        const client = await tlsClient(listener.port);
        const done = closedWith(client);
        client.write("ping");
        assert.equal((await done).data, "ping");
        const { rec } = await accepted;
        assert.equal(await withTimeout(rec.closed, "closed()"), undefined);
        assert.deepEqual(infos, [{ listener: "secure" }]);
      } finally {
        await listener.close();
      }
    });

    it("with a client CA: a signed certificate is accepted and its common name reaches the broker", async () => {
      const infos: AcceptInfo[] = [];
      const { accept, accepted } = acceptOne((connection) => recorder((b) => connection.write(b.slice())));
      const listener = await listening((c, info) => (infos.push(info), accept(c, info)), { clientCa: true });
      try {
        const client = await tlsClient(listener.port, { cert: pki.pem.clientCert, key: pki.pem.clientKey });
        const echoed = deferred<string>();
        client.once("data", (b: Uint8Array) => echoed.resolve(new TextDecoder().decode(b)));
        client.write("hello");
        assert.equal(await withTimeout(echoed.promise, "the echo"), "hello");
        assert.deepEqual(infos, [{ listener: "tls", certificateCommonName: CLIENT_CN }]);
        const { rec } = await accepted;
        client.end();
        await withTimeout(rec.closed, "closed()");
      } finally {
        await listener.close();
      }
    });

    for (
      const [what, options] of [
        ["a certificate from another CA", () => ({ cert: pki.pem.wrongCert, key: pki.pem.wrongKey })],
        ["no certificate", () => ({})],
      ] as const
    ) {
      it(`with a client CA: ${what} is refused before the broker sees it`, async () => {
        let accepted = 0;
        const listener = await listening(() => (accepted++, recorder().handler), { clientCa: true });
        try {
          // TLS 1.3 finishes the client's side first; the server's alert then closes the socket.
          const client = await tlsClient(listener.port, options()).catch(() => undefined);
          if (client) {
            const done = closedWith(client);
            client.write("let me in");
            assert.equal((await done).data, "");
          }
          await sleep(50);
          assert.equal(accepted, 0);
        } finally {
          await listener.close();
        }
      });
    }

    it("useIdentityAsUsername: the accept info says so; a certificate without a common name is refused", async () => {
      const infos: AcceptInfo[] = [];
      const listener = await listening((_c, info) => (infos.push(info), recorder().handler), {
        clientCa: true,
        identity: true,
      });
      try {
        const good = await tlsClient(listener.port, { cert: pki.pem.clientCert, key: pki.pem.clientKey });
        await waitFor(() => infos.length === 1, "the accept");
        assert.deepEqual(infos, [{
          listener: "tls",
          certificateCommonName: CLIENT_CN,
          useIdentityAsUsername: true,
        }]);
        good.destroy();
        const nameless = await tlsClient(listener.port, { cert: pki.pem.noCnCert, key: pki.pem.noCnKey });
        const done = closedWith(nameless);
        nameless.write("x");
        assert.equal((await done).data, "");
        assert.equal(infos.length, 1);
      } finally {
        await listener.close();
      }
    });

    it("maxConnections: a connection over the limit is closed and logged; a freed slot is reused", async () => {
      const logger = memoryLogger();
      const accepted: Array<{ close(): void }> = [];
      const listener = await listening((connection) => {
        accepted.push({ close: () => connection.end() });
        return recorder().handler;
      }, { maxConnections: 1, logger, id: "tls-limited" });
      try {
        const first = await tlsClient(listener.port);
        await waitFor(() => accepted.length === 1, "the first accept");
        const second = await tlsClient(listener.port);
        await closedWith(second);
        assert.equal(accepted.length, 1);
        const warning = logger.lines.find((l) => l.level === "warn");
        assert.equal(warning?.message, "listener connection limit reached: refusing connection");
        assert.deepEqual(
          { ...(warning?.fields as object), remote: undefined },
          { listener: "tls-limited", maxConnections: 1, remote: undefined, refused: 1 },
        );
        const firstClosed = closedWith(first);
        accepted[0].close();
        await firstClosed;
        await sleep(20);
        const third = await tlsClient(listener.port);
        await waitFor(() => accepted.length === 2, "the accept after a slot was freed");
        third.destroy();
      } finally {
        await listener.close();
      }
    });

    it("a client that does not speak TLS never reaches the broker", async () => {
      let accepted = 0;
      const listener = await listening(() => (accepted++, recorder().handler));
      try {
        const socket = netConnect({ host: HOST, port: listener.port });
        socket.on("error", () => {});
        // A plain MQTT CONNECT. Node's OpenSSL closes at once; Deno's rustls and Bun's BoringSSL wait for the
        // rest of what they take for a TLS record, until the handshake timeout. Either way: no accept.
        socket.write(
          new Uint8Array([0x10, 0x0c, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0, 60, 0, 0]),
        );
        await sleep(200);
        socket.destroy();
        assert.equal(accepted, 0);
      } finally {
        await listener.close();
      }
    });

    it("rejects a taken port with a clear error", async () => {
      const first = await listening(() => recorder().handler);
      try {
        const second = create({
          host: HOST,
          port: first.port,
          tls: { cert: pki.pem.serverCert, key: pki.pem.serverKey },
        });
        await assert.rejects(second.listen(() => recorder().handler), {
          message: `Cannot listen on ${HOST}:${first.port}: address already in use`,
        });
      } finally {
        await first.close();
      }
    });
  });
}

describe("TLS listener options", () => {
  it("refuse a missing certificate, a file name given as PEM, and an identity without a client CA", () => {
    assert.throws(() => createNodeTlsListener({} as TlsListenerOptions), {
      name: "TypeError",
      message:
        'Cannot create TLS listener "tls": tls must be an object with cert and key, received undefined',
    });
    assert.throws(
      () => createNodeTlsListener({ tls: { cert: "certs/server.crt", key: pki.pem.serverKey } }),
      {
        name: "TypeError",
        message:
          'Cannot create TLS listener "tls": tls.cert must be PEM text with "-----BEGIN CERTIFICATE-----"' +
          ' (it looks like a file name: read the file and pass its contents), received "certs/server.crt"',
      },
    );
    assert.throws(
      () =>
        createNodeTlsListener({
          tls: { cert: pki.pem.serverCert, key: pki.pem.serverKey, useIdentityAsUsername: true },
        }),
      /tls\.useIdentityAsUsername needs tls\.clientCa/,
    );
    assert.throws(
      () =>
        createNodeTlsListener({
          maxConnections: -1,
          tls: { cert: pki.pem.serverCert, key: pki.pem.serverKey },
        }),
      { name: "RangeError", message: /maxConnections must be a whole number >= 0/ },
    );
  });

  it("take PEM as bytes, and default to port 8883 and id tls", () => {
    const encode = (s: string) => new TextEncoder().encode(s);
    const listener = createNodeTlsListener({
      tls: { cert: encode(pki.pem.serverCert), key: encode(pki.pem.serverKey) },
    });
    assert.equal(listener.id, "tls");
    assert.equal(listener.port, 8883);
    assert.equal(listener.protocol, "tls");
  });
});

tlsScenarios("node:tls adapter", createNodeTlsListener);
if (runtimeName() !== "node") tlsScenarios(`${runtimeName()} native adapter`, await nativeAdapter());
