/**
 * Nothing more is read from a client while its CONNECT is being authenticated: what it pipelines is held
 * undecoded (and handled in order once CONNACK is out), and more than maxPacketSize of it closes the connection.
 * Real TCP sockets through the running runtime's adapter.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import mqtt from "mqtt-packet";
import { RawClient } from "../_helpers/raw_client.ts";
import { tcpBroker, until } from "../_helpers/broker.ts";
import type { Hook } from "../../src/hooks/hook.ts";

/** An auth hook that answers only when told to. */
function slowAuth(): { hook: Hook; pending: number; allowAll(): void } {
  const waiting: Array<() => void> = [];
  const state = {
    pending: 0,
    hook: {
      id: "slow-auth",
      onAuthenticate: () =>
        new Promise<"allow">((resolve) => {
          state.pending++;
          waiting.push(() => resolve("allow"));
        }),
    } as Hook,
    allowAll() {
      for (const w of waiting.splice(0)) w();
    },
  };
  return state;
}

describe("while CONNECT is authenticated", () => {
  it("pipelined packets are held, then handled in order after CONNACK", async () => {
    const auth = slowAuth();
    const { broker, port } = await tcpBroker({ auth: auth.hook });
    const c = await RawClient.tcp(port, 4);
    try {
      c.send({
        cmd: "connect",
        protocolId: "MQTT",
        protocolVersion: 4,
        clean: true,
        clientId: "held",
        keepalive: 0,
      });
      await until(() => auth.pending === 1, 2000, "the authentication to start");
      c.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "t", qos: 0 }] });
      c.publish("t", "hello");
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(broker.stats.messagesReceived, 0, "the PUBLISH was not read yet");
      assert.equal(broker.subscriptionCount, 0);
      auth.allowAll();
      await c.expect("connack");
      await c.expect("suback");
      const msg = await c.expect("publish");
      assert.equal(Buffer.from(msg.payload).toString(), "hello");
    } finally {
      c.destroy();
      await broker.close();
    }
  });

  it("more than maxPacketSize bytes sent before CONNACK close the connection", async () => {
    const auth = slowAuth();
    const { broker, port } = await tcpBroker({ auth: auth.hook, limits: { maxPacketSize: 4096 } });
    const c = await RawClient.tcp(port, 4);
    try {
      c.send({
        cmd: "connect",
        protocolId: "MQTT",
        protocolVersion: 4,
        clean: true,
        clientId: "flood",
        keepalive: 0,
      });
      await until(() => auth.pending === 1, 2000, "the authentication to start");
      const ping = mqtt.generate({ cmd: "pingreq" });
      for (let i = 0; i < 3000; i++) c.sendBytes(ping); // 6000 bytes of PINGREQ, none of them read
      assert.equal(await c.waitClosed(3000), true, "closed for sending too much before CONNACK");
      assert.equal(c.packets.length, 0, "no PINGRESP was sent");
      auth.allowAll();
    } finally {
      c.destroy();
      await broker.close();
    }
  });
});
