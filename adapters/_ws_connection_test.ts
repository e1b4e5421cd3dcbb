import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { WsConnection, type WsSocket } from "./_ws_connection.ts";
import type { ConnectionHandler } from "../src/transport/connection.ts";

interface FakeSocket extends WsSocket {
  sent: number[][];
  closes: Array<[number, string]>;
  terminated: number;
  buffered: number;
}

/** A socket that records what the connection does to it. */
function fakeSocket(): FakeSocket {
  const socket: FakeSocket = {
    sent: [],
    closes: [],
    terminated: 0,
    buffered: 0,
    send(bytes) {
      socket.sent.push([...bytes]);
    },
    bufferedAmount: () => socket.buffered,
    close(code, reason) {
      socket.closes.push([code, reason]);
    },
    terminate() {
      socket.terminated++;
    },
  };
  return socket;
}

function handler() {
  const events = { data: [] as number[][], drains: 0, closed: [] as Array<Error | undefined> };
  const h: ConnectionHandler = {
    data: (bytes) => void events.data.push([...bytes]),
    drain: () => void events.drains++,
    closed: (error) => void events.closed.push(error),
  };
  return { h, events };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe("WsConnection", () => {
  it("MQTT-6.0.0-1 sends everything written in one turn as one binary message", async () => {
    const socket = fakeSocket();
    const c = new WsConnection(socket, "127.0.0.1:1", { highWaterMark: 1024, maxMessageSize: 1 << 24 });
    c.open(() => handler().h, { listener: "ws" });
    assert.equal(c.write(new Uint8Array([1, 2])), true);
    assert.equal(c.write(new Uint8Array([3])), true);
    assert.deepEqual(socket.sent, []);
    await tick();
    assert.deepEqual(socket.sent, [[1, 2, 3]]);
  });

  it("MQTT-6.0.0-2 hands every binary message to the handler in order, whatever its bounds", () => {
    const { h, events } = handler();
    const c = new WsConnection(fakeSocket(), "r", { highWaterMark: 1024, maxMessageSize: 1 << 24 });
    c.open(() => h, { listener: "ws" });
    c.message(new Uint8Array([0x10]));
    c.message(new Uint8Array([0x0c, 0, 4]));
    assert.deepEqual(events.data, [[0x10], [0x0c, 0, 4]]);
  });

  it("MQTT-6.0.0-1 a text message closes the connection (1003) and reports an error once", async () => {
    const socket = fakeSocket();
    const { h, events } = handler();
    const c = new WsConnection(socket, "r", { highWaterMark: 1024, maxMessageSize: 1 << 24 });
    c.open(() => h, { listener: "ws" });
    c.message("hello");
    c.message(new Uint8Array([1]));
    assert.deepEqual(socket.closes, [[1003, "MQTT needs binary messages"]]);
    assert.deepEqual(events.data, []);
    c.socketClosed(1003, "");
    c.socketClosed(1003, "");
    await tick();
    assert.equal(events.closed.length, 1);
    assert.match(String(events.closed[0]?.message), /text message/);
  });

  it("end() flushes, closes with 1000, refuses later writes; a clean close reports no error", async () => {
    const socket = fakeSocket();
    const { h, events } = handler();
    const c = new WsConnection(socket, "r", { highWaterMark: 1024, maxMessageSize: 1 << 24 });
    c.open(() => h, { listener: "ws" });
    c.write(new Uint8Array([0xe0, 0]));
    c.end();
    c.end();
    assert.equal(c.write(new Uint8Array([1])), false);
    assert.deepEqual(socket.sent, [[0xe0, 0]]);
    assert.deepEqual(socket.closes, [[1000, ""]]);
    c.socketClosed(1000, "");
    await tick();
    assert.deepEqual(events.closed, [undefined]);
  });

  it("destroy() terminates; an abnormal close from the peer is an error", async () => {
    const socket = fakeSocket();
    const c = new WsConnection(socket, "r", { highWaterMark: 1024, maxMessageSize: 1 << 24 });
    const a = handler();
    c.open(() => a.h, { listener: "ws" });
    c.write(new Uint8Array([1]));
    c.destroy();
    await tick();
    assert.deepEqual(socket.sent, []);
    assert.equal(socket.terminated, 1);
    c.socketClosed(1006, "");
    await tick();
    assert.deepEqual(a.events.closed, [undefined]);

    const other = new WsConnection(fakeSocket(), "r", { highWaterMark: 1024, maxMessageSize: 1 << 24 });
    const b = handler();
    other.open(() => b.h, { listener: "ws" });
    other.socketClosed(1006, "");
    await tick();
    assert.equal(b.events.closed[0]?.message, "WebSocket closed with code 1006");
  });

  it("back-pressure: false above the high-water mark (queued plus buffered), drain() once below the low one", async () => {
    const socket = fakeSocket();
    const { h, events } = handler();
    const c = new WsConnection(socket, "r", { highWaterMark: 100, maxMessageSize: 1 << 24 });
    c.open(() => h, { listener: "ws" });
    socket.buffered = 80;
    assert.equal(c.write(new Uint8Array(30)), false);
    assert.equal(c.write(new Uint8Array(1)), false);
    await tick();
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(events.drains, 0);
    socket.buffered = 50; // the low-water mark
    for (let i = 0; i < 100 && events.drains === 0; i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(events.drains, 1);
    assert.equal(c.write(new Uint8Array(1)), true);
    c.destroy();
  });
});
