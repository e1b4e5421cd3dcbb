/**
 * Packets are handled in arrival order across connections: when client B's SUBSCRIBE reaches the broker before
 * client A's PUBLISH to that topic, B gets the message, even though B did not wait for SUBACK. Two raw sockets,
 * 100 rounds (at most 3 may be read the other way round), 3.1.1 and 5.0, through the running runtime's own TCP
 * adapter (interoperability suites rely on it).
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import net from "node:net";
import mqtt from "mqtt-packet";
import { tcpBroker } from "../_helpers/broker.ts";
import { startChildBroker } from "./_child.ts";
import { runsOn } from "../_helpers/runtime.ts";
import type { Broker } from "../../src/broker.ts";
import { FileAuthHook } from "../../src/hooks/auth/file_auth_hook.ts";
import { hashPassword, MIN_ITERATIONS } from "../../src/hooks/auth/password.ts";

const ROUNDS = 100;

// deno-lint-ignore no-explicit-any
type AnyPacket = any;

/** A raw socket that writes exact bytes at once and gathers what the broker sends. */
async function rawSocket(port: number, version: 4 | 5) {
  const socket = net.connect({ host: "127.0.0.1", port });
  socket.setNoDelay(true);
  const parser = mqtt.parser({ protocolVersion: version });
  const packets: AnyPacket[] = [];
  parser.on("packet", (p: AnyPacket) => packets.push(p));
  socket.on("data", (b: Buffer) => parser.parse(b));
  socket.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("error", reject);
  });
  const bytes = (p: AnyPacket) => mqtt.generate(p, { protocolVersion: version });
  return {
    socket,
    packets,
    bytes,
    async waitFor(cmd: string, ms = 2000): Promise<AnyPacket> {
      const end = Date.now() + ms;
      for (;;) {
        const i = packets.findIndex((p) => p.cmd === cmd);
        if (i >= 0) return packets.splice(i, 1)[0];
        if (Date.now() > end) throw new Error(`No ${cmd} within ${ms} ms`);
        await new Promise((r) => setTimeout(r, 1));
      }
    },
  };
}

function scenario(name: string, makeBroker: () => Promise<{ port: number; close(): Promise<void> }>) {
  describe(name, () => {
    let broker: { port: number; close(): Promise<void> };
    let port: number;
    before(async () => {
      broker = await makeBroker();
      port = broker.port;
    });
    after(async () => await broker.close());

    for (const version of [4, 5] as const) {
      it(`v${version}: B's SUBSCRIBE written before A's PUBLISH gets the message, ${ROUNDS} rounds of ${ROUNDS}`, async () => {
        const a = await rawSocket(port, version);
        const b = await rawSocket(port, version);
        try {
          const login = { username: "u", password: Buffer.from("pw") };
          for (const [c, id] of [[a, `A${version}`], [b, `B${version}`]] as const) {
            c.socket.write(
              c.bytes({ cmd: "connect", protocolVersion: version, clientId: id, clean: true, ...login }),
            );
            assert.equal((await c.waitFor("connack")).returnCode ?? 0, 0);
          }
          let missed = 0;
          for (let round = 0; round < ROUNDS; round++) {
            const topic = `order/${version}/${round}`;
            // Both written in the same turn, B first: B's SUBSCRIBE reaches the broker before A's PUBLISH.
            b.socket.write(b.bytes({
              cmd: "subscribe",
              messageId: round + 1,
              subscriptions: [{ topic, qos: 0 }],
            }));
            a.socket.write(a.bytes({
              cmd: "publish",
              topic,
              payload: Buffer.from(`${round}`),
              qos: 0,
              retain: false,
              dup: false,
            }));
            await b.waitFor("suback");
            // The message follows SUBACK at once when it was routed to B; a miss shows as silence.
            const end = Date.now() + 200;
            while (!b.packets.some((p) => p.cmd === "publish" && p.topic === topic) && Date.now() < end) {
              await new Promise((r) => setTimeout(r, 1));
            }
            if (!b.packets.some((p) => p.cmd === "publish" && p.topic === topic)) missed++;
            b.packets.length = 0;
          }
          // TCP does not order two connections: the runtime may read A's socket first. That happened in 1 round
          // of 100 once (Bun, broker in its own process, a clean-clone CI run) and in about 3 of 200 with a bare
          // node:net server. A broker that handles SUBSCRIBE after a PUBLISH read with it missed every round.
          assert.ok(missed <= 3, `B missed the message in ${missed} of ${ROUNDS} rounds`);
        } finally {
          a.socket.destroy();
          b.socket.destroy();
        }
      });
    }
  });
}

let users: ConstructorParameters<typeof FileAuthHook>[0];
before(async () => {
  users = {
    users: { u: { password: await hashPassword("pw", { iterations: MIN_ITERATIONS }) } },
    acl: [{ topic: "order/#", access: "readwrite" }],
  };
});

async function inProcess(broker: Promise<{ broker: Broker; port: number }>) {
  const b = await broker;
  return { port: b.port, close: () => b.broker.close() };
}

scenario("arrival order, anonymous broker", () => inProcess(tcpBroker()));
// With a users file the ACL is checked on SUBSCRIBE and on each delivery: still synchronous, still in order.
scenario("arrival order, users file with ACL", () => inProcess(tcpBroker({ auth: new FileAuthHook(users) })));
// A broker in a process of its own reads both sockets in one turn of its loop more often (Bun's old misses showed
// only there). Not on Node: there a bare node:net server, with no broker at all, already sees the second socket's
// bytes first in about 3 of 200 such rounds (measured on this machine), so the order is lost before the broker
// reads anything.
if (!runsOn("node")) {
  scenario("arrival order, broker in its own process", async () => {
    const child = await startChildBroker({ users: { u: "pw" } });
    return { port: child.port, close: () => child.stop() };
  });
}
