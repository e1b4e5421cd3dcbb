/**
 * A resumed session re-sends what was in flight within the new connection's back-pressure (issue 13, item 1):
 * 48 unacknowledged QoS 1 messages of 64 KiB (3 MiB) are not all written at once into a connection that said
 * "full" after 256 KiB; the rest follow, in order and with DUP set [MQTT-4.4.0-1], after each drain().
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import mqtt from "mqtt-packet";
import type { Connection, ConnectionHandler } from "../../src/transport/connection.ts";
import { testBroker, until } from "../_helpers/broker.ts";
import { type AnyPacket, RawClient } from "../_helpers/raw_client.ts";

const MESSAGES = 48;
const SIZE = 64 * 1024;
const HIGH_WATER = 256 * 1024;

/** A connection that reports back-pressure past HIGH_WATER bytes until the test calls drain(). */
function slowConnection() {
  const parser = mqtt.parser({ protocolVersion: 4 });
  const packets: AnyPacket[] = [];
  parser.on("packet", (p: AnyPacket) => packets.push(p));
  let sinceDrain = 0;
  let handler: ConnectionHandler | undefined;
  const connection: Connection = {
    remoteAddress: "slow:1",
    write(bytes) {
      parser.parse(Buffer.from(bytes));
      sinceDrain += bytes.byteLength;
      return sinceDrain <= HIGH_WATER;
    },
    end() {},
    destroy() {},
  };
  return {
    connection,
    packets,
    attach(h: ConnectionHandler) {
      handler = h;
    },
    send(packet: object) {
      handler!.data(mqtt.generate(packet as mqtt.Packet));
    },
    drain() {
      sinceDrain = 0;
      handler!.drain();
    },
    publishes: () => packets.filter((p) => p.cmd === "publish"),
  };
}

describe("session takeover under back-pressure", () => {
  it("re-sends the in-flight messages as the new connection drains, not all at once", async () => {
    const broker = testBroker();
    await broker.listen();
    try {
      const first = RawClient.memory(broker);
      await first.connect({ clientId: "device", clean: false });
      await first.subscribe("t", 1);
      const publisher = RawClient.memory(broker);
      await publisher.connect({ clientId: "pub" });
      for (let i = 0; i < MESSAGES; i++) {
        publisher.publish("t", Buffer.alloc(SIZE, i), { qos: 1, messageId: i + 1 });
      }
      // The first connection receives everything and acknowledges nothing.
      await until(
        () => first.packets.filter((p) => p.cmd === "publish").length === MESSAGES,
        5000,
        "deliveries",
      );

      const slow = slowConnection();
      slow.attach(broker.accept(slow.connection, { listener: "slow" }));
      slow.send({
        cmd: "connect",
        protocolId: "MQTT",
        protocolVersion: 4,
        clientId: "device",
        clean: false,
        keepalive: 0,
      });
      await until(() => slow.packets.some((p) => p.cmd === "connack"), 2000, "CONNACK");
      await until(() => slow.publishes().length >= 1, 2000, "the first re-sent message");
      await new Promise((r) => setTimeout(r, 50)); // more than the connection holds would show up here
      const firstBurst = slow.publishes().length;
      assert.ok(firstBurst >= 1, "something was re-sent");
      assert.ok(
        firstBurst * SIZE <= HIGH_WATER + SIZE,
        `${firstBurst} messages (${firstBurst * SIZE} bytes) were written into a full connection`,
      );
      for (let round = 0; round < 100 && slow.publishes().length < MESSAGES; round++) slow.drain();
      const resent = slow.publishes();
      assert.equal(resent.length, MESSAGES);
      assert.deepEqual(resent.map((p) => p.payload[0]), Array.from({ length: MESSAGES }, (_, i) => i));
      assert.ok(resent.every((p) => p.dup === true), "re-sent messages carry DUP");
      first.destroy();
      publisher.destroy();
    } finally {
      await broker.close();
    }
  });
});
