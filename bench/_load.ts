/**
 * One load generator process (started by bench/run.ts with an IPC channel; Node only). It receives a job,
 * connects its clients and says "ready"; on "go" it runs the timed phases and sends back one result.
 *
 * - flow: groups of publishers and subscribers. Every publisher of a group reaches every subscriber of it, and
 *   both live in this process, so a publisher knows when its messages are delivered: it keeps at most `window`
 *   messages that some subscriber has not received yet (and, at QoS 1, at most `window` without PUBACK).
 *   Payload: send time, publisher and sequence; a jump in sequence is a loss, a repeat a duplicate.
 * - idle: open `connections` MQTT connections, say "ready", hold them until "close".
 * - connrate: `concurrency` loops of connect, CONNECT, CONNACK, DISCONNECT, close, until the stop time.
 * @module
 */

import type { Buffer } from "node:buffer";
import { connect, type Socket } from "node:net";
import process from "node:process";
import { Buffer as NodeBuffer } from "node:buffer";
import {
  CONNACK,
  connectPacket,
  DISCONNECT,
  Histogram,
  now,
  PacketSplitter,
  PUBACK,
  PUBLISH,
  PublishTemplate,
  SUBACK,
  subscribePacket,
} from "./_mqtt.ts";
import type { OnPacket } from "./_mqtt.ts";
import type { GenResult, Go, Job } from "./_protocol.ts";

const CONNECT_TIMEOUT_MS = 15_000;
const MAX_ERRORS_KEPT = 5;

const errors: string[] = [];
let errorCount = 0;
function noteError(message: string): void {
  errorCount++;
  if (errors.length < MAX_ERRORS_KEPT) errors.push(message);
}

function send(message: unknown): void {
  process.send!(message);
}

const job = await new Promise<Job>((resolve) => process.once("message", (m) => resolve(m as Job)));
const tag = `bench-${process.pid}-${job.proc}`;

// One read buffer for every socket of this process: Node fills it and calls back synchronously, and the
// splitter copies the tail of a packet that spans reads, so no Buffer is allocated per read.
const READ_BUFFER = NodeBuffer.allocUnsafe(256 * 1024);

/**
 * Open a socket that sends `packets` once connected, hands every whole incoming packet to `onPacket`, and calls
 * `afterRead` after each read (to flush what the packets of that read asked for).
 */
function open(packets: Buffer[], onPacket: OnPacket, afterRead?: () => void, port = job.port): Socket {
  const splitter = new PacketSplitter(onPacket);
  const socket = connect({
    host: job.host,
    port,
    noDelay: true,
    onread: {
      buffer: READ_BUFFER,
      callback: (n: number, buf: Uint8Array) => {
        splitter.push(buf as Buffer, n);
        afterRead?.();
        return true;
      },
    },
  });
  socket.setNoDelay(true);
  socket.on("connect", () => socket.write(packets.length === 1 ? packets[0] : NodeBuffer.concat(packets)));
  return socket;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<T>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** Resolve at `t` on the shared clock, never before (libuv timers may fire up to 1 ms early). */
async function sleepUntil(t: number): Promise<void> {
  while (now() < t) await new Promise((r) => setTimeout(r, Math.max(1, t - now())));
}

// ---------------------------------------------------------------------------------------------------- flow

interface Pub {
  index: number;
  socket: Socket;
  tpl: PublishTemplate;
  nSubs: number;
  /** Next sequence to send; also the count sent. */
  next: number;
  /** Highest sequence that every subscriber has received (or skipped). */
  frontier: number;
  /** Per in-flight sequence: how many subscribers are done with it. */
  ring: Uint16Array;
  unacked: number;
  packetId: number;
  dirty: boolean;
}

interface Sub {
  group: number;
  socket: Socket;
  /** Last sequence received, per publisher (local index). */
  last: Float64Array;
  acks: Buffer;
  ackLen: number;
}

async function runFlow(job: Job): Promise<void> {
  const groups = job.groups ?? [];
  const qos = job.qos ?? 0;
  const window = job.window ?? 64;
  const ringSize = 2 ** Math.ceil(Math.log2(Math.max(16, window * 4)));
  const mask = ringSize - 1;
  const pubs: Pub[] = [];
  const subs: Sub[] = [];
  const pubGroup: number[] = [];
  const groupPubs: number[][] = groups.map(() => []);
  for (const [g, group] of groups.entries()) {
    for (let i = 0; i < group.publishers.length; i++) {
      groupPubs[g].push(pubs.length);
      pubGroup.push(g);
      pubs.push(undefined as unknown as Pub);
    }
  }
  const hist = new Histogram();
  // The phase times arrive with "go", after the handlers below exist.
  const phase: { times?: Go } = {};
  let sending = false;
  let measuring = false;
  let deliveredMeasured = 0;
  let sentMeasured = 0;
  let lost = 0;
  let duplicates = 0;
  let flushQueued = false;
  const dirty: Pub[] = [];
  let closing = false;

  const credit = (p: Pub, seq: number) => {
    const i = seq & mask;
    p.ring[i]++;
    if (seq !== p.frontier + 1) return;
    while (p.frontier + 1 < p.next && p.ring[(p.frontier + 1) & mask] >= p.nSubs) {
      p.ring[(p.frontier + 1) & mask] = 0;
      p.frontier++;
    }
    wake(p);
  };
  const wake = (p: Pub) => {
    if (!sending || p.dirty) return;
    p.dirty = true;
    dirty.push(p);
    if (!flushQueued) {
      flushQueued = true;
      setImmediate(flush);
    }
  };
  const flush = () => {
    flushQueued = false;
    const t = now();
    if (phase.times && t >= phase.times.measureTo) sending = false;
    for (let k = 0; k < dirty.length; k++) {
      const p = dirty[k];
      p.dirty = false;
      if (!sending) continue;
      const pending = p.next - 1 - p.frontier;
      const n = Math.min(window - pending, qos > 0 ? window - p.unacked : window);
      if (n <= 0) continue;
      const out = NodeBuffer.allocUnsafe(n * p.tpl.size);
      let at = 0;
      for (let j = 0; j < n; j++) {
        if (qos > 0) {
          p.packetId = p.packetId === 65535 ? 1 : p.packetId + 1;
          p.unacked++;
        }
        at = p.tpl.fill(out, at, p.packetId, p.index, p.next++, t);
      }
      if (measuring) sentMeasured += n;
      p.socket.write(out);
    }
    dirty.length = 0;
  };

  const onSubPacket = (s: Sub) => (first: number, buf: Buffer, start: number, end: number) => {
    const type = first >> 4;
    if (type !== PUBLISH) return;
    const q = (first >> 1) & 3;
    const topicLen = buf.readUInt16BE(start);
    let at = start + 2 + topicLen;
    if (q > 0) {
      if (s.ackLen + 4 > s.acks.length) flushAcks(s);
      s.acks[s.ackLen] = 0x40;
      s.acks[s.ackLen + 1] = 2;
      s.acks[s.ackLen + 2] = buf[at];
      s.acks[s.ackLen + 3] = buf[at + 1];
      s.ackLen += 4;
      at += 2;
    }
    if (end - at < 16) return;
    const sentMs = buf.readDoubleLE(at);
    const pi = buf.readUInt32LE(at + 8);
    const seq = buf.readUInt32LE(at + 12);
    const p = pubs[pi];
    if (p === undefined) return;
    const last = s.last[pi];
    if (seq <= last) {
      duplicates++;
      return;
    }
    for (let k = last + 1; k < seq; k++) {
      lost++;
      credit(p, k);
    }
    s.last[pi] = seq;
    const t = now();
    if (measuring && phase.times && t >= phase.times.measureFrom && t < phase.times.measureTo) {
      deliveredMeasured++;
      hist.add(t - sentMs);
    }
    credit(p, seq);
  };
  const flushAcks = (s: Sub) => {
    if (s.ackLen === 0) return;
    s.socket.write(NodeBuffer.from(s.acks.subarray(0, s.ackLen)));
    s.ackLen = 0;
  };

  // Subscribers first, each with its SUBSCRIBE sent right behind CONNECT.
  const subReady: Promise<void>[] = [];
  for (const [g, group] of groups.entries()) {
    for (const [k, filter] of group.subscribers.entries()) {
      subReady.push(
        new Promise<void>((resolve, reject) => {
          const s: Sub = {
            group: g,
            socket: undefined as unknown as Socket,
            last: new Float64Array(pubs.length).fill(-1),
            acks: NodeBuffer.allocUnsafe(64 * 1024),
            ackLen: 0,
          };
          const handler = onSubPacket(s);
          let subscribed = false;
          const socket = open(
            [connectPacket(`${tag}-s${g}-${k}`), subscribePacket(1, filter, qos)],
            (first, buf, start, end) => {
              if (subscribed) return handler(first, buf, start, end);
              const type = first >> 4;
              if (type === CONNACK && buf[start + 1] !== 0) {
                reject(new Error(`CONNACK refused: ${buf[start + 1]}`));
              }
              if (type === SUBACK) {
                if (buf[end - 1] === 0x80) reject(new Error(`SUBACK refused "${filter}"`));
                subscribed = true;
                resolve();
              }
            },
            () => flushAcks(s),
            job.subscriberPort ?? job.port,
          );
          s.socket = socket;
          socket.on("error", (e) => {
            noteError(`subscriber: ${e.message}`);
            reject(e);
          });
          socket.on("close", () => {
            if (!closing) noteError("subscriber: connection closed by the broker");
          });
          subs.push(s);
        }),
      );
    }
  }
  await withTimeout(Promise.all(subReady), CONNECT_TIMEOUT_MS, "subscribers connecting");

  const pubReady: Promise<void>[] = [];
  for (const [g, group] of groups.entries()) {
    for (const [k, topic] of group.publishers.entries()) {
      const index = groupPubs[g][k];
      pubReady.push(
        new Promise<void>((resolve, reject) => {
          const p: Pub = {
            index,
            socket: undefined as unknown as Socket,
            tpl: new PublishTemplate(topic, qos, job.payload ?? 64),
            nSubs: group.subscribers.length,
            next: 0,
            frontier: -1,
            ring: new Uint16Array(ringSize),
            unacked: 0,
            packetId: 0,
            dirty: false,
          };
          pubs[index] = p;
          const socket = open([connectPacket(`${tag}-p${g}-${k}`)], (first, buf, start) => {
            const type = first >> 4;
            if (type === PUBACK) {
              p.unacked--;
              wake(p);
            } else if (type === CONNACK) {
              if (buf[start + 1] !== 0) reject(new Error(`CONNACK refused: ${buf[start + 1]}`));
              else resolve();
            }
          });
          p.socket = socket;
          socket.on("error", (e) => {
            noteError(`publisher: ${e.message}`);
            reject(e);
          });
          socket.on("close", () => {
            if (!closing) noteError("publisher: connection closed by the broker");
          });
        }),
      );
    }
  }
  await withTimeout(Promise.all(pubReady), CONNECT_TIMEOUT_MS, "publishers connecting");
  send({ type: "ready", connections: pubs.length + subs.length });

  const times = phase.times = await nextMessage<Go>("go");
  await sleepUntil(times.startAt);
  sending = true;
  for (const p of pubs) wake(p);
  await sleepUntil(times.measureFrom);
  measuring = true;
  const cpu0 = process.cpuUsage();
  await sleepUntil(times.measureTo);
  const cpu = process.cpuUsage(cpu0);
  measuring = false;
  sending = false;
  // Drain: wait until every subscriber has everything, or the drain deadline.
  while (now() < times.drainUntil && pubs.some((p) => p.frontier + 1 < p.next || p.unacked > 0)) {
    await new Promise((r) => setTimeout(r, 20));
  }
  let expected = 0;
  let undelivered = 0;
  let unacked = 0;
  for (const [pi, p] of pubs.entries()) {
    expected += p.next * p.nSubs;
    unacked += Math.max(0, p.unacked);
    const g = pubGroup[pi];
    for (const s of subs) {
      // Only subscribers of the same group expect this publisher's messages.
      if (s.group === g) undelivered += p.next - 1 - s.last[pi];
    }
  }
  const result: GenResult = {
    type: "result",
    delivered: deliveredMeasured,
    sent: sentMeasured,
    expected,
    lost: lost + undelivered,
    duplicates,
    unacked,
    hist: hist.sparse(),
    cpuMs: (cpu.user + cpu.system) / 1000,
    errors,
    errorCount,
  };
  closing = true;
  for (const c of [...pubs.map((p) => p.socket), ...subs.map((s) => s.socket)]) c.destroy();
  send(result);
}

// ---------------------------------------------------------------------------------------------------- idle

async function runIdle(job: Job): Promise<void> {
  const total = job.connections ?? 10_000;
  const parallel = job.concurrency ?? 200;
  const sockets: Socket[] = [];
  let closing = false;
  let closedByBroker = 0;
  let next = 0;
  let failed = 0;
  const t0 = now();
  const worker = async () => {
    while (next < total) {
      const i = next++;
      try {
        sockets.push(await handshake(`${tag}-idle-${i}`, () => closing, () => closedByBroker++));
      } catch (e) {
        failed++;
        noteError(`idle connection ${i}: ${(e as Error).message}`);
        if (failed > 50) return;
      }
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  send({ type: "ready", connections: sockets.length, failed, seconds: (now() - t0) / 1000 });
  await nextMessage("close");
  const result: GenResult = {
    type: "result",
    delivered: 0,
    sent: 0,
    expected: total,
    lost: total - sockets.length + closedByBroker,
    duplicates: 0,
    unacked: 0,
    hist: [],
    cpuMs: 0,
    errors,
    errorCount,
  };
  closing = true;
  for (const s of sockets) s.destroy();
  send(result);
}

/** Connect and wait for CONNACK; the socket stays open. */
function handshake(id: string, closing: () => boolean, onLost: () => void): Promise<Socket> {
  return withTimeout(
    new Promise<Socket>((resolve, reject) => {
      let done = false;
      const socket = open([connectPacket(id)], (first, buf, start) => {
        if (first >> 4 !== CONNACK || done) return;
        done = true;
        if (buf[start + 1] !== 0) reject(new Error(`CONNACK refused: ${buf[start + 1]}`));
        else resolve(socket);
      });
      socket.on("error", (e) => {
        if (!done) reject(e);
      });
      socket.on("close", () => {
        if (!done) reject(new Error("closed before CONNACK"));
        else if (!closing()) onLost();
      });
    }),
    CONNECT_TIMEOUT_MS,
    `CONNACK for ${id}`,
  );
}

// ---------------------------------------------------------------------------------------------------- connrate

async function runConnRate(job: Job): Promise<void> {
  const parallel = job.concurrency ?? 32;
  const hist = new Histogram();
  let accepted = 0;
  let failed = 0;
  send({ type: "ready", connections: 0 });
  const go = await nextMessage<Go>("go");
  await sleepUntil(go.startAt);
  let n = 0;
  const loop = async () => {
    while (now() < go.measureTo) {
      const id = `${tag}-c${n++}`;
      const t0 = now();
      await new Promise<void>((resolve) => {
        let done = false;
        const timer = setTimeout(() => finish(new Error("no CONNACK within 5 s")), 5000);
        const finish = (err?: Error) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          if (err) {
            failed++;
            noteError(err.message);
            socket.destroy();
            setTimeout(resolve, 10);
          } else resolve();
        };
        const socket = open([connectPacket(id)], (first, buf, start) => {
          if (first >> 4 !== CONNACK) return;
          if (buf[start + 1] !== 0) return finish(new Error(`CONNACK refused: ${buf[start + 1]}`));
          const t = now();
          if (t >= go.measureFrom && t < go.measureTo) {
            accepted++;
            hist.add(t - t0);
          }
          socket.end(DISCONNECT);
          finish();
        });
        socket.on("error", (e) => finish(e));
        socket.on("close", () => finish(new Error("closed before CONNACK")));
      });
    }
  };
  const cpuWait = sleepUntil(go.measureFrom).then(() => process.cpuUsage());
  await Promise.all(Array.from({ length: parallel }, loop));
  const cpu = process.cpuUsage(await cpuWait);
  send(
    {
      type: "result",
      delivered: accepted,
      sent: n,
      expected: n,
      lost: failed,
      duplicates: 0,
      unacked: 0,
      hist: hist.sparse(),
      cpuMs: (cpu.user + cpu.system) / 1000,
      errors,
      errorCount,
    } satisfies GenResult,
  );
}

function nextMessage<T>(type: string): Promise<T> {
  return new Promise((resolve) => {
    const on = (m: unknown) => {
      if ((m as { type: string }).type !== type) return;
      process.off("message", on);
      resolve(m as T);
    };
    process.on("message", on);
  });
}

try {
  if (job.kind === "flow") await runFlow(job);
  else if (job.kind === "idle") await runIdle(job);
  else await runConnRate(job);
} catch (e) {
  send({ type: "error", message: (e as Error).message });
}
// The runner closes the channel once it has the result (and kills this process if it lingers).
process.once("disconnect", () => process.exit(0));
