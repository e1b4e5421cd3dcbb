/**
 * A connection the broker ends is freed even if the peer never reads (issue 13, item 1): a subscriber stops
 * reading while megabytes are routed to it, floods PINGREQs, then DISCONNECTs (or is taken over by a new
 * connection with its client id). Its socket, and whatever the broker still had queued for it, must be gone
 * within the linger (5 s) plus a margin, on the running runtime's own TCP adapter.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import net from "node:net";
import mqtt from "mqtt-packet";
import { createTcpListener, runtimeName } from "../../adapters/mod.ts";
import type { Accept, Listener } from "../../src/transport/connection.ts";
import { testBroker, until } from "../_helpers/broker.ts";
import { RawClient } from "../_helpers/raw_client.ts";

/** A listener that counts the connections it handed out and that have not reported `closed` yet. */
function counting(inner: Listener): Listener & { open(): number } {
  let open = 0;
  return {
    get id() {
      return inner.id;
    },
    get protocol() {
      return inner.protocol;
    },
    get address() {
      return inner.address;
    },
    get port() {
      return inner.port;
    },
    open: () => open,
    listen(accept: Accept) {
      return inner.listen((connection, info) => {
        open++;
        const handler = accept(connection, info);
        return {
          data: (bytes) => handler.data(bytes),
          drain: () => handler.drain(),
          closed: (error) => {
            open--;
            handler.closed(error);
          },
        };
      });
    },
    close: () => inner.close(),
  };
}

const bytes = (packet: object): Buffer => mqtt.generate(packet as mqtt.Packet);

/** A subscriber to `big/#` that stops reading once subscribed; resolves with its socket. */
function stalledSubscriber(port: number, clientId: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port }, () => {
      socket.write(
        bytes({
          cmd: "connect",
          protocolId: "MQTT",
          protocolVersion: 4,
          clientId,
          clean: false,
          keepalive: 0,
        }),
      );
      socket.write(bytes({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "big/#", qos: 0 }] }));
    });
    socket.on("error", () => {}); // the broker destroys it: that is the point
    let seen = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      seen = Buffer.concat([seen, chunk]);
      // CONNACK (4 bytes) then SUBACK (5 bytes): stop reading from here on.
      if (seen.byteLength >= 9) {
        socket.off("data", onData);
        socket.pause();
        resolve(socket);
      }
    };
    socket.on("data", onData);
    setTimeout(() => reject(new Error("no SUBACK within 5 s")), 5000);
  });
}

/** PINGREQ and wait for the PINGRESP: everything sent before it was processed. */
async function roundTrip(client: RawClient): Promise<void> {
  client.send({ cmd: "pingreq" });
  await client.expect("pingresp", 5000);
}

describe(`${runtimeName()} TCP adapter: a peer that never reads cannot hold its connection`, () => {
  for (const ending of ["DISCONNECT", "takeover"] as const) {
    it(`after ${ending}, the broker's open connections return to the baseline within 10 s`, async () => {
      const broker = testBroker();
      const listener = counting(await createTcpListener({ id: "tcp", host: "127.0.0.1", port: 0 }));
      await broker.addListener(listener);
      await broker.listen();
      const sockets: net.Socket[] = [];
      let publisher: RawClient | undefined;
      let successor: RawClient | undefined;
      try {
        const stalled = await stalledSubscriber(listener.port, "stalled");
        sockets.push(stalled);
        publisher = await RawClient.tcp(listener.port);
        await publisher.connect({ clientId: "pub" });
        // 24 MiB toward a reader that reads nothing: far more than the kernel buffers and the 1 MiB outbox.
        const payload = Buffer.alloc(256 * 1024, 7);
        for (let i = 0; i < 96; i++) publisher.publish("big/x", payload);
        await roundTrip(publisher);
        // The subscriber floods PINGREQs whose answers can never be delivered, then leaves.
        const ping = bytes({ cmd: "pingreq" });
        stalled.write(Buffer.concat(Array.from({ length: 50_000 }, () => ping)));
        const baseline = 1; // the publisher (and, for a takeover, its successor counted separately)
        if (ending === "DISCONNECT") {
          stalled.write(bytes({ cmd: "disconnect" }));
        } else {
          successor = await RawClient.tcp(listener.port);
          await successor.connect({ clientId: "stalled", clean: false });
        }
        const expected = baseline + (successor ? 1 : 0);
        const started = Date.now();
        await until(() => listener.open() === expected, 10_000, `open connections back to ${expected}`);
        const took = Date.now() - started;
        assert.ok(took < 10_000, `freed after ${took} ms`);
        // The broker keeps serving: the publisher still gets answers.
        await roundTrip(publisher);
      } finally {
        for (const s of sockets) s.destroy();
        publisher?.destroy();
        successor?.destroy();
        await broker.close();
      }
    });
  }
});
