/**
 * One SUBSCRIBE cannot stall the broker: a 1 MB SUBSCRIBE holding one wildcard filter 100,000 times, with 2,000
 * retained messages matching it, is handled as one subscription (one SUBACK code per entry, the retained messages
 * sent once) while another client's PINGREQs keep being answered within 100 ms. A SUBSCRIBE over
 * `maxSubscribeEntries` is refused whole. Real TCP sockets through the running runtime's adapter.
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import type { Buffer } from "node:buffer";
import net from "node:net";
import mqtt from "mqtt-packet";
import { type AnyPacket, RawClient } from "../_helpers/raw_client.ts";
import { tcpBroker, until } from "../_helpers/broker.ts";
import { type ChildBroker, startChildBroker } from "./_child.ts";

const FILTER = "dev/+/#";
const ENTRIES = 100_000;
const RETAINED = 2_000;

/** A SUBSCRIBE with `filter` repeated `count` times at QoS 0, built by hand (mqtt-packet is slow at this size). */
function subscribeBytes(filter: string, count: number, version: number, packetId = 7): Uint8Array {
  const name = new TextEncoder().encode(filter);
  const entry = 2 + name.length + 1;
  const remaining = 2 + (version === 5 ? 1 : 0) + entry * count;
  const header: number[] = [0x82];
  let n = remaining;
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    header.push(b);
  } while (n > 0);
  const out = new Uint8Array(header.length + remaining);
  out.set(header, 0);
  let at = header.length;
  out[at++] = packetId >> 8;
  out[at++] = packetId & 0xff;
  if (version === 5) out[at++] = 0;
  for (let i = 0; i < count; i++) {
    out[at++] = name.length >> 8;
    out[at++] = name.length & 0xff;
    out.set(name, at);
    at += name.length;
    out[at++] = 0;
  }
  return out;
}

/** Send PINGREQ every 10 ms until stopped; returns the slowest round trip seen. */
function pinger(client: RawClient): { stop: () => Promise<{ worst: number; count: number }> } {
  let running = true;
  let worst = 0;
  let count = 0;
  const loop = (async () => {
    const end = Date.now() + 20_000; // bounded even if stop() is never called
    while (running && Date.now() < end) {
      const t0 = performance.now();
      client.send({ cmd: "pingreq" });
      await client.expect("pingresp", 5000);
      const dt = performance.now() - t0;
      if (dt > worst) worst = dt;
      count++;
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { worst, count };
    },
  };
}

/**
 * A socket that only gathers what arrives: parsing a 100,000-code SUBACK and 2,000 PUBLISHes while the pinger runs
 * would stall this process and be blamed on the broker. The bytes are parsed after the pings.
 */
async function gatheringSocket(
  port: number,
): Promise<{ socket: net.Socket; bytes(): number; packets(v: number): AnyPacket[] }> {
  const chunks: Buffer[] = [];
  let total = 0;
  const socket = net.connect({ host: "127.0.0.1", port });
  socket.setNoDelay(true);
  socket.on("data", (b: Buffer) => {
    chunks.push(b);
    total += b.byteLength;
  });
  socket.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("error", reject);
  });
  return {
    socket,
    bytes: () => total,
    packets(version: number) {
      const parser = mqtt.parser({ protocolVersion: version });
      const out: AnyPacket[] = [];
      parser.on("packet", (p: AnyPacket) => out.push(p));
      for (const c of chunks) parser.parse(c);
      return out;
    },
  };
}

// The broker runs in a process of its own: sharing the test's event loop would hide its stalls from the pinger.
describe("a SUBSCRIBE with one filter 100,000 times", () => {
  let child: ChildBroker;
  let port: number;
  before(async () => {
    child = await startChildBroker({ limits: { maxSubscribeEntries: 0 }, retained: RETAINED });
    port = child.port;
    // Warm the broker's code paths (a running broker has compiled them long ago) with a smaller packet.
    for (const version of [4, 5]) {
      const warm = await RawClient.tcp(port, version);
      await warm.connect({ clientId: `warm-${version}` });
      warm.sendBytes(subscribeBytes(FILTER, 5_000, version));
      await warm.expect("suback", 10_000);
      await until(() => warm.packets.length >= RETAINED, 10_000, "the warm-up's retained messages");
      warm.destroy();
    }
  });
  after(async () => await child.stop());

  for (const version of [4, 5] as const) {
    it(`v${version}: costs one subscription; PINGREQ of another client answered within 100 ms throughout`, async () => {
      const watcher = await RawClient.tcp(port, 4);
      const flooder = await gatheringSocket(port);
      try {
        await watcher.connect({ clientId: `watcher-${version}` });
        const id = `flooder-${version}`;
        flooder.socket.write(
          mqtt.generate({ cmd: "connect", protocolVersion: version, clientId: id, clean: true }, {
            protocolVersion: version,
          }),
        );
        const bytes = subscribeBytes(FILTER, ENTRIES, version);
        assert.ok(bytes.byteLength > 900_000, `the SUBSCRIBE is about 1 MB (${bytes.byteLength} bytes)`);
        await until(() => flooder.bytes() >= 4, 2000, "CONNACK");
        const ping = pinger(watcher);
        await new Promise((r) => setTimeout(r, 50));
        flooder.socket.write(bytes);
        // CONNACK, a SUBACK with 100,000 codes and 2,000 small PUBLISHes: over 110 kB in all.
        await until(
          () => flooder.bytes() >= 4 + ENTRIES + 2 * 20,
          10_000,
          "the SUBACK and retained messages",
        );
        await new Promise((r) => setTimeout(r, 300));
        const { worst, count } = await ping.stop();
        const packets = flooder.packets(version);
        assert.equal(packets[0].cmd, "connack");
        const suback = packets[1];
        assert.equal(suback.cmd, "suback");
        assert.equal(suback.granted.length, ENTRIES, "one code per entry [MQTT-3.9.3-1]");
        assert.ok(suback.granted.every((c: number) => c === 0));
        const publishes = packets.slice(2).filter((p) => p.cmd === "publish");
        assert.equal(publishes.length, RETAINED, "each retained message sent once");
        assert.equal(new Set(publishes.map((p) => p.topic)).size, RETAINED);
        assert.ok(count >= 5, `pings answered: ${count}`);
        if (process.env.SHOW_TIMES) {
          console.log(`v${version}: worst ping ${worst.toFixed(1)} ms over ${count}`);
        }
        assert.ok(worst < 100, `slowest PINGREQ round trip ${worst.toFixed(1)} ms, expected under 100 ms`);
        // One subscription: a new message arrives once.
        const before = packets.length;
        watcher.publish("dev/x/y", "once");
        await until(() => flooder.packets(version).length > before, 5000, "the new message");
        await new Promise((r) => setTimeout(r, 200)); // a second copy would show up here
        const after = flooder.packets(version).slice(before);
        assert.deepEqual(after.map((p) => p.topic), ["dev/x/y"]);
      } finally {
        watcher.destroy();
        flooder.socket.destroy();
      }
    });
  }
});

/** An UNSUBSCRIBE with `filter` repeated `count` times (v5: no properties). */
function unsubscribeBytes(filter: string, count: number, version: number, packetId = 9): Uint8Array {
  // SUBSCRIBE's layout without the options byte after each filter.
  const name = new TextEncoder().encode(filter);
  const remaining = 2 + (version === 5 ? 1 : 0) + (2 + name.length) * count;
  const header: number[] = [0xa2];
  let n = remaining;
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    header.push(b);
  } while (n > 0);
  const out = new Uint8Array(header.length + remaining);
  out.set(header, 0);
  let at = header.length;
  out[at++] = packetId >> 8;
  out[at++] = packetId & 0xff;
  if (version === 5) out[at++] = 0;
  for (let i = 0; i < count; i++) {
    out[at++] = name.length >> 8;
    out[at++] = name.length & 0xff;
    out.set(name, at);
    at += name.length;
  }
  return out;
}

describe("an UNSUBSCRIBE with one filter 100,000 times", () => {
  it("v5: removes the subscription once; the other entries find none (0x11)", async () => {
    const { broker, port } = await tcpBroker();
    const c = await RawClient.tcp(port, 5);
    try {
      await c.connect({ clientId: "unsub" });
      await c.subscribe(FILTER, 0);
      c.sendBytes(unsubscribeBytes(FILTER, ENTRIES, 5));
      const unsuback = await c.expect("unsuback", 10_000);
      assert.equal(unsuback.granted.length, ENTRIES);
      assert.equal(unsuback.granted[0], 0);
      assert.ok(unsuback.granted.slice(1).every((code: number) => code === 0x11));
      assert.equal(broker.getSession("unsub")!.subscriptions.size, 0);
    } finally {
      c.destroy();
      await broker.close();
    }
  });
});

describe("retained messages and a full queue", () => {
  it("stop at the session's queue bound instead of being dropped one by one", async () => {
    const { broker, port } = await tcpBroker({ limits: { maxInflight: 5, maxQueuedMessages: 10 } });
    const c = await RawClient.tcp(port, 4);
    try {
      for (let i = 0; i < 100; i++) await broker.publish(`full/${i}`, `${i}`, { qos: 1, retain: true });
      await c.connect({ clientId: "slow" });
      // QoS 1 and never acknowledged: 5 go out, 10 wait in the queue, and the other 85 are not even tried.
      await c.subscribe("full/#", 1);
      await until(() => c.packets.length >= 5, 2000, "the first retained messages");
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(c.packets.length, 5);
      assert.equal(broker.getSession("slow")!.queued, 10);
      assert.equal(broker.stats.dropped["queue-full"], 0, "nothing was pushed into the full queue");
      // A second subscription that matches finds the queue full and sends nothing more.
      c.packets.length = 0;
      await c.subscribe("full/+", 1, 2);
      assert.deepEqual(await c.collect(100), []);
      assert.equal(broker.stats.dropped["queue-full"], 0);
    } finally {
      c.destroy();
      await broker.close();
    }
  });
});

describe("maxSubscribeEntries", () => {
  it("refuses a longer SUBSCRIBE whole (0x97 in 5.0, 0x80 in 3.1.1), counts and logs it", async () => {
    const warnings: string[] = [];
    const logger = {
      debug() {},
      info() {},
      error() {},
      warn: (message: string, fields?: Record<string, unknown>) =>
        void warnings.push(`${message} ${fields?.limit}`),
    };
    const { broker, port } = await tcpBroker({ limits: { maxSubscribeEntries: 3 }, logger });
    const clients: RawClient[] = [];
    try {
      for (const version of [4, 5]) {
        const c = await RawClient.tcp(port, version);
        clients.push(c);
        await c.connect({ clientId: `cap-${version}` });
        const ok = await c.subscribe([["a", 1], ["b", 1], ["c", 1]]);
        assert.deepEqual(ok.granted, [1, 1, 1]);
        const refused = await c.subscribe([["d", 1], ["e", 1], ["f", 1], ["g", 1]], 0, 2);
        assert.deepEqual(
          refused.granted,
          version === 5 ? [0x97, 0x97, 0x97, 0x97] : [0x80, 0x80, 0x80, 0x80],
        );
        assert.deepEqual([...broker.getSession(`cap-${version}`)!.subscriptions.keys()], ["a", "b", "c"]);
      }
      assert.equal(broker.limitHits.counts.maxSubscribeEntries, 2);
      assert.deepEqual(warnings, ["limit reached maxSubscribeEntries"], "logged once, not once per hit");
    } finally {
      for (const c of clients) c.destroy();
      await broker.close();
    }
  });
});
