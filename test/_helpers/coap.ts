/**
 * CoAP test helpers: a broker with a CoAP and a TCP listener on free 127.0.0.1 ports, libcoap's `coap-client`
 * run with a time bound, a small raw CoAP client on the project's codec (for the lossy-proxy and fuzz suites),
 * and a UDP proxy that drops a seeded share of datagrams.
 * @module
 */

import { createSocket, type Socket } from "node:dgram";
import { spawn } from "node:child_process";
import type { Broker } from "../../src/broker.ts";
import type { Hook } from "../../src/hooks/hook.ts";
import { createCoapListener } from "../../adapters/coap.ts";
import { createTcpListener } from "../../adapters/mod.ts";
import type { CoapListenerOptions } from "../../src/coap/coap_listener.ts";
import { parse, serialize } from "../../src/coap/codec.ts";
import { ACK, type CoapMessage, type CoapOption, CON, NON } from "../../src/coap/message.ts";
import { testBroker, until } from "./broker.ts";

/** A broker with `coap` (UDP) and `tcp` listeners on ephemeral 127.0.0.1 ports. */
export async function coapBroker(
  options: { auth?: Hook; coap?: Omit<CoapListenerOptions, "bind" | "id" | "host" | "port"> } = {},
): Promise<{ broker: Broker; coapPort: number; mqttPort: number }> {
  const broker = testBroker(options.auth === undefined ? {} : { auth: options.auth });
  const coap = createCoapListener({ ...options.coap, id: "coap", host: "127.0.0.1", port: 0 });
  const tcp = await createTcpListener({ id: "tcp", host: "127.0.0.1", port: 0 });
  await broker.addListener(coap);
  await broker.addListener(tcp);
  await broker.listen();
  return { broker, coapPort: coap.port, mqttPort: tcp.port };
}

/** The libcoap client binary on this machine. */
export const COAP_CLIENT = "coap-client-notls";

/** Run a command to its end, killing it (by pid) after `ms`; resolves with exit code, stdout and stderr. */
export function run(
  command: string,
  args: string[],
  ms = 15_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (c) => (stdout += c.toString()));
    child.stderr!.on("data", (c) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), ms);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Start mosquitto_sub for `count` messages (10 s at most) and wait until its subscription is in the broker.
 * The promise is wrapped: awaiting this function must not wait for mosquitto_sub to end.
 */
export async function mosquittoSub(
  broker: Broker,
  port: number,
  topic: string,
  count: number,
): Promise<{ done: ReturnType<typeof run> }> {
  const before = broker.subscriptionCount;
  const done = run("mosquitto_sub", [
    "-p",
    String(port),
    "-t",
    topic,
    "-C",
    String(count),
    "-W",
    "10",
    "-q",
    "1",
  ]);
  await until(() => broker.subscriptionCount > before, 5000, "mosquitto_sub to subscribe");
  return { done };
}

/** A seeded generator (mulberry32): the same drops and fuzz inputs on every run. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function bindSocket(port = 0): Promise<Socket> {
  return new Promise((resolve) => {
    const s = createSocket("udp4");
    s.bind(port, "127.0.0.1", () => resolve(s));
  });
}

/**
 * A UDP proxy in front of `targetPort`: one client at a time, each datagram dropped with probability `loss`
 * (seeded), in both directions.
 */
export async function lossyProxy(
  targetPort: number,
  loss: number,
  seed: number,
): Promise<{ port: number; dropped: () => number; close(): Promise<void> }> {
  const random = seeded(seed);
  const front = await bindSocket();
  const back = await bindSocket();
  let client: { address: string; port: number } | undefined;
  let dropped = 0;
  const pass = () => {
    if (random() < loss) {
      dropped++;
      return false;
    }
    return true;
  };
  front.on("message", (msg, rinfo) => {
    client = { address: rinfo.address, port: rinfo.port };
    if (pass()) back.send(msg, targetPort, "127.0.0.1");
  });
  back.on("message", (msg) => {
    if (client !== undefined && pass()) front.send(msg, client.port, client.address);
  });
  return {
    port: front.address().port,
    dropped: () => dropped,
    close: () => new Promise<void>((r) => front.close(() => back.close(() => r()))),
  };
}

/** A minimal CoAP client: CON requests with retransmission, ACKs every CON it gets, de-duplicates by message id. */
export class RawCoapClient {
  readonly socket: Socket;
  readonly #port: number;
  #mid = 1;
  #token = 1;
  #waiting = new Map<string, (m: CoapMessage) => void>();
  #seen = new Set<number>();
  /** Every response / notification received (after de-duplication), by token. */
  readonly received: CoapMessage[] = [];
  onNotification: (m: CoapMessage) => void = () => {};

  private constructor(socket: Socket, port: number) {
    this.socket = socket;
    this.#port = port;
    socket.on("message", (msg) => this.#receive(new Uint8Array(msg)));
  }

  static async open(port: number): Promise<RawCoapClient> {
    return new RawCoapClient(await bindSocket(), port);
  }

  /** Send raw bytes to the server. */
  sendRaw(bytes: Uint8Array): void {
    this.socket.send(bytes, this.#port, "127.0.0.1");
  }

  /** A CON request, retransmitted every `retryMs` (up to `tries`) until its response comes. */
  request(
    code: number,
    options: CoapOption[],
    payload = new Uint8Array(),
    { retryMs = 150, tries = 40, token }: { retryMs?: number; tries?: number; token?: Uint8Array } = {},
  ): Promise<CoapMessage> {
    const messageId = this.#mid++ & 0xffff;
    const tok = token ?? Uint8Array.of(0xaa, this.#token++ & 0xff, (this.#token >> 8) & 0xff);
    const bytes = serialize({ type: CON, code, messageId, token: tok, options, payload });
    return new Promise((resolve, reject) => {
      let n = 0;
      const timer = setInterval(() => {
        if (++n >= tries) {
          clearInterval(timer);
          this.#waiting.delete(hexOf(tok));
          reject(new Error(`no response after ${tries} tries`));
        } else this.sendRaw(bytes);
      }, retryMs);
      this.#waiting.set(hexOf(tok), (m) => {
        clearInterval(timer);
        resolve(m);
      });
      this.sendRaw(bytes);
    });
  }

  close(): Promise<void> {
    return new Promise((r) => this.socket.close(() => r()));
  }

  #receive(bytes: Uint8Array): void {
    const r = parse(bytes);
    if (!r.ok) return;
    const m = r.message;
    if (m.type === CON) {
      this.sendRaw(
        serialize({
          type: ACK,
          code: 0,
          messageId: m.messageId,
          token: new Uint8Array(),
          options: [],
          payload: new Uint8Array(),
        }),
      );
    }
    if (m.code === 0) return;
    if (m.type === CON || m.type === NON) {
      // A retransmitted CON (or a duplicated NON) is the same message: handle it once.
      if (this.#seen.has(m.messageId)) return;
      this.#seen.add(m.messageId);
    }
    const key = hexOf(m.token);
    const waiter = this.#waiting.get(key);
    if (waiter !== undefined) {
      this.#waiting.delete(key);
      waiter(m);
      return;
    }
    this.received.push(m);
    this.onNotification(m);
  }
}

function hexOf(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}
