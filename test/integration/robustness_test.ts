/**
 * Robustness: bad input from one client closes that connection only, is counted, and never disturbs the
 * broker or the other clients. Every malformed case of the packet fixture catalogue is written to a live
 * broker over real TCP and over the in-memory transport; then a seeded fuzz loop mutates valid fixtures.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Broker } from "../../src/broker.ts";
import type { Logger } from "../../src/logger.ts";
import { RawClient } from "../_helpers/raw_client.ts";
import { tcpBroker, testBroker, until } from "../_helpers/broker.ts";
import { PACKET_FIXTURES, type PacketFixture, packetFixture } from "../fixtures/packets.ts";
import { bystanders, frame, seededRandom, str } from "../conformance/_wire.ts";

const UNSUPPORTED_VERSION = 0x84;

/** A logger that remembers error-level lines (bad input is logged at warn; error means the broker broke). */
function recordingLogger(): Logger & { errors: string[] } {
  const errors: string[] = [];
  return {
    errors,
    debug() {},
    info() {},
    warn() {},
    error(message, fields) {
      errors.push(`${message} ${JSON.stringify(fields ?? {})}`);
    },
  };
}

type Transport = "tcp" | "memory";

/** A broker on one transport, with a way to open raw clients to it. */
interface Setup {
  broker: Broker;
  port?: number;
  open(version?: number): Promise<RawClient>;
  logger: ReturnType<typeof recordingLogger>;
}

async function setup(transport: Transport, options: Parameters<typeof testBroker>[0] = {}): Promise<Setup> {
  const logger = recordingLogger();
  if (transport === "memory") {
    const broker = testBroker({ logger, ...options });
    return { broker, logger, open: (version = 4) => Promise.resolve(RawClient.memory(broker, version)) };
  }
  const { broker, port } = await tcpBroker({ logger, ...options });
  return { broker, port, logger, open: (version = 4) => RawClient.tcp(port, version) };
}

const malformed = PACKET_FIXTURES.filter((f) => f.error !== undefined);
const beforeConnect = malformed.filter((f) => f.name.startsWith("connect."));
const afterConnect = malformed.filter((f) => !f.name.startsWith("connect."));

function caseTitle(f: PacketFixture): string {
  return `${f.name} (${f.description})${f.spec ? ` ${f.spec}` : ""}`;
}

for (const transport of ["tcp", "memory"] as const) {
  describe(`robustness over ${transport}: the malformed fixtures close only their connection`, () => {
    it("the catalogue has malformed cases for both phases", () => {
      assert.ok(beforeConnect.length >= 5, `${beforeConnect.length} CONNECT cases`);
      assert.ok(afterConnect.length >= 20, `${afterConnect.length} cases after CONNECT`);
    });

    for (const f of afterConnect) {
      it(`${caseTitle(f)} after CONNECT`, async () => {
        const s = await setup(transport);
        try {
          const others = await bystanders(s.broker, s.port);
          const c = await s.open(f.version);
          const ack = await c.connect();
          assert.equal(ack.returnCode ?? ack.reasonCode, 0, "CONNACK accepted");
          c.sendBytes(f.bytes);
          assert.equal(await c.waitClosed(), true, "the offending connection is closed");
          for (const p of c.packets) {
            // A 5.0 client may be told why in a DISCONNECT; nothing else is sent.
            assert.equal(p.cmd, "disconnect", `unexpected ${p.cmd}`);
            assert.ok(f.version === 5 && p.reasonCode >= 0x80);
          }
          assert.equal(s.broker.stats.protocolErrors, 1, "counted once");
          await others.check(f.name);
          assert.deepEqual(s.logger.errors, []);
        } finally {
          await s.broker.close();
        }
      });
    }

    for (const f of beforeConnect) {
      it(`${caseTitle(f)} instead of CONNECT`, async () => {
        const s = await setup(transport);
        try {
          const others = await bystanders(s.broker, s.port);
          const c = await s.open(f.version);
          c.sendBytes(f.bytes);
          assert.equal(await c.waitClosed(), true);
          for (const p of c.packets) {
            assert.equal(p.cmd, "connack", `unexpected ${p.cmd}`);
            assert.notEqual(p.returnCode ?? p.reasonCode, 0, "never an accepting CONNACK");
          }
          if (f.error === UNSUPPORTED_VERSION) assert.equal(s.broker.stats.connectsRefused, 1);
          else assert.equal(s.broker.stats.protocolErrors, 1, "counted once");
          await others.check(f.name);
          assert.equal([...s.broker.connectedClients()].length, 2, "only the bystanders are connected");
        } finally {
          await s.broker.close();
        }
      });
    }

    it("a header announcing a packet over maxPacketSize closes at once, before any body arrives", async () => {
      const s = await setup(transport, { limits: { maxPacketSize: 1024 } });
      try {
        const others = await bystanders(s.broker, s.port);
        const c = await s.open();
        await c.connect();
        c.sendBytes([0x30, 0x80, 0x80, 0x04]); // PUBLISH of 65536 bytes announced; none sent
        const started = Date.now();
        assert.equal(await c.waitClosed(1000), true);
        assert.ok(Date.now() - started < 1000);
        assert.equal(s.broker.stats.protocolErrors, 1);
        await others.check("oversized header");
      } finally {
        await s.broker.close();
      }
    });

    it("the largest Remaining Length (268435455) announced by a header is refused without buffering", async () => {
      const s = await setup(transport);
      try {
        const others = await bystanders(s.broker, s.port);
        const c = await s.open();
        await c.connect();
        c.sendBytes([0x30, 0xff, 0xff, 0xff, 0x7f, 0x00, 0x01, 0x61]);
        assert.equal(await c.waitClosed(), true);
        assert.equal(s.broker.stats.protocolErrors, 1);
        await others.check("largest remaining length");
      } finally {
        await s.broker.close();
      }
    });

    it("bytes after DISCONNECT are ignored: the connection closes, no will, nothing processed", async () => {
      const s = await setup(transport);
      try {
        const others = await bystanders(s.broker, s.port);
        const sub = await s.open();
        await sub.connect();
        await sub.subscribe("#", 0);
        const c = await s.open();
        await c.connect({ will: { topic: "will/x", payload: "w", qos: 0, retain: false } });
        c.sendBytes([
          0xe0,
          0x00,
          0x30,
          0x05,
          0x00,
          0x01,
          0x61,
          0x62,
          0x63,
          0xff,
          0xff,
          0xff,
          0xff,
          0xff,
          0x00,
        ]);
        assert.equal(await c.waitClosed(), true);
        assert.deepEqual(c.packets, []);
        assert.deepEqual(await sub.collect(50), [], "neither the PUBLISH after DISCONNECT nor the will");
        assert.equal(s.broker.stats.protocolErrors, 0, "a graceful DISCONNECT is not an error");
        await others.check("bytes after DISCONNECT");
      } finally {
        await s.broker.close();
      }
    });

    it("a connection dropped in the middle of a packet is cleaned up and its will is sent", async () => {
      const s = await setup(transport);
      try {
        const others = await bystanders(s.broker, s.port);
        const sub = await s.open();
        await sub.connect();
        await sub.subscribe("will/#", 0);
        const c = await s.open();
        await c.connect({
          clientId: "halfway",
          will: { topic: "will/halfway", payload: "w", qos: 0, retain: false },
        });
        c.sendBytes(frame(0x30, [...str("half/way"), ...new Array(100).fill(0x61)]).slice(0, 40));
        await new Promise((r) => setTimeout(r, 20));
        c.destroy();
        assert.equal((await sub.expect("publish")).topic, "will/halfway");
        await until(() => s.broker.getClient("halfway") === undefined, 1000, "the client to be gone");
        await others.check("a dropped connection");
      } finally {
        await s.broker.close();
      }
    });

    it("valid packets written one byte at a time are decoded", async () => {
      const s = await setup(transport);
      try {
        const c = await s.open();
        const connect = packetFixture("connect.v311.minimal").bytes;
        const subscribe = frame(0x82, [0x00, 0x07, ...str("byte/#"), 0x01]);
        const publish = frame(0x32, [...str("byte/x"), 0x00, 0x09, 0x68, 0x69]);
        for (const b of [...connect, ...subscribe, ...publish, 0xc0, 0x00]) {
          c.sendBytes([b]);
          await new Promise((r) => setTimeout(r, 1));
        }
        assert.equal((await c.expect("connack")).returnCode, 0);
        assert.deepEqual((await c.expect("suback")).granted, [1]);
        const got = [await c.next(), await c.next(), await c.next()].map((p) => p.cmd).sort();
        assert.deepEqual(got, ["puback", "pingresp", "publish"].sort());
      } finally {
        await s.broker.close();
      }
    });

    it("a socket that sends half a CONNECT is closed by the connect timeout", async () => {
      const s = await setup(transport, { limits: { connectTimeout: 1 } });
      try {
        const c = await s.open();
        c.sendBytes(packetFixture("connect.v311.minimal").bytes.slice(0, 5));
        assert.equal(await c.waitClosed(3000), true);
      } finally {
        await s.broker.close();
      }
    });
  });
}

// ---- fuzzing ----------------------------------------------------------------------------------------------

const VALID = PACKET_FIXTURES.filter((f) =>
  f.packet !== undefined && f.version === 4 && !f.name.startsWith("connect.")
);
const CONNECTS = PACKET_FIXTURES.filter((f) =>
  f.packet !== undefined && f.version === 4 && f.name.startsWith("connect.")
);

/** A CONNECT and 1..4 valid packets, then 1..3 random mutations; mostly after the CONNECT so later states are reached. */
function mutant(rand: () => number): number[] {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;
  const packets = [pick(CONNECTS).bytes];
  const count = 1 + Math.floor(rand() * 4);
  for (let i = 0; i < count; i++) packets.push(pick(VALID).bytes);
  const starts: number[] = [];
  let offset = 0;
  for (const p of packets) {
    starts.push(offset);
    offset += p.length;
  }
  const bytes = packets.flat();
  const from = rand() < 0.75 ? starts[1]! : 0;
  const at = (): number => from + Math.floor(rand() * Math.max(1, bytes.length - from));
  const ops = 1 + Math.floor(rand() * 3);
  for (let i = 0; i < ops && bytes.length > from; i++) {
    switch (Math.floor(rand() * 8)) {
      case 0:
        bytes[at()] ^= 1 << Math.floor(rand() * 8);
        break;
      case 1:
        bytes[at()] = Math.floor(rand() * 256);
        break;
      case 2:
        bytes.splice(at(), 0, Math.floor(rand() * 256));
        break;
      case 3:
        bytes.splice(at(), 1);
        break;
      case 4:
        bytes.length = at();
        break;
      case 5: {
        const a = at();
        bytes.splice(a, 0, ...bytes.slice(a, a + 1 + Math.floor(rand() * 8)));
        break;
      }
      case 6: {
        // A packet's Remaining Length byte.
        const s = pick(starts.filter((x) => x >= from));
        if (s + 1 < bytes.length) bytes[s + 1] = Math.floor(rand() * 256);
        break;
      }
      default: {
        // A packet's type and flags.
        const s = pick(starts.filter((x) => x >= from));
        if (s < bytes.length) bytes[s] = Math.floor(rand() * 256);
      }
    }
  }
  return bytes;
}

/** Write `bytes` in 1..3 chunks, wait up to `ms` for the broker to close, then drop the connection. */
async function throwAt(
  open: () => Promise<RawClient>,
  bytes: number[],
  rand: () => number,
  ms: number,
): Promise<void> {
  const c = await open();
  const cut = Math.floor(rand() * bytes.length);
  c.sendBytes(bytes.slice(0, cut));
  if (rand() < 0.5) await new Promise((r) => setTimeout(r, 1));
  c.sendBytes(bytes.slice(cut));
  await c.waitClosed(ms);
  c.destroy();
  await c.waitClosed(1000);
}

for (
  const [transport, seed, iterations, budgetMs, batch] of [
    ["memory", 0x5eed_0001, 300, 3000, 20],
    ["tcp", 0x5eed_0002, 300, 3000, 10],
  ] as const
) {
  describe(`fuzzing over ${transport}`, () => {
    it(`${iterations} seeded mutations of valid fixtures never break the broker (seed 0x${seed.toString(16)})`, async () => {
      const s = await setup(transport);
      try {
        const others = await bystanders(s.broker, s.port);
        const rand = seededRandom(seed);
        const deadline = Date.now() + budgetMs;
        let done = 0;
        while (done < iterations && Date.now() < deadline) {
          const round: Promise<void>[] = [];
          for (let i = 0; i < batch && done < iterations; i++, done++) {
            round.push(throwAt(() => s.open(), mutant(rand), rand, 30));
          }
          await Promise.all(round);
          if (done % 50 < batch) await others.check(`after ${done} mutations`);
        }
        assert.ok(done >= Math.min(iterations, 60), `only ${done} mutations ran within ${budgetMs} ms`);
        await until(() => [...s.broker.connectedClients()].length === 2, 2000, "fuzz connections to be gone");
        await others.check("after fuzzing");
        assert.ok(s.broker.stats.protocolErrors > 0, "the mutations did reach the error paths");
        assert.deepEqual(s.logger.errors, [], "nothing was logged as a broker error");
      } finally {
        await s.broker.close();
      }
    });
  });
}
