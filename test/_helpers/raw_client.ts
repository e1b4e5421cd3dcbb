/**
 * A raw MQTT test client: it writes packets (objects for mqtt-packet, or exact bytes from the fixture catalogue)
 * and reads what the broker sends, decoded by mqtt-packet as an independent oracle. Works over a real TCP socket
 * (node:net, available in all three runtimes) or the in-memory transport.
 * @module
 */

import { Buffer } from "node:buffer";
import net from "node:net";
import mqtt from "mqtt-packet";
import type { Broker } from "../../src/broker.ts";
import { connectMemory } from "../../src/transport/memory.ts";

// deno-lint-ignore no-explicit-any
export type AnyPacket = any;

interface Waiter {
  resolve: (p: AnyPacket) => void;
  reject: (e: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** One raw connection to the broker. */
export class RawClient {
  readonly packets: AnyPacket[] = [];
  closed = false;
  #parser: ReturnType<typeof mqtt.parser>;
  #waiters: Waiter[] = [];
  #closeWaiters: Array<() => void> = [];
  #write: (b: Uint8Array) => void;
  #end: () => void;
  version: number;

  private constructor(version: number) {
    this.version = version;
    this.#parser = mqtt.parser({ protocolVersion: version });
    this.#parser.on("packet", (p: AnyPacket) => {
      const w = this.#waiters.shift();
      if (w) {
        clearTimeout(w.timer);
        w.resolve(p);
      } else this.packets.push(p);
    });
    this.#parser.on("error", (e: Error) => {
      for (const w of this.#waiters.splice(0)) {
        clearTimeout(w.timer);
        w.reject(new Error(`The broker sent bytes mqtt-packet cannot parse: ${e.message}`));
      }
    });
    this.#write = () => {};
    this.#end = () => {};
  }

  /** Connect through the in-memory transport. */
  static memory(broker: Broker, version = 4): RawClient {
    const c = new RawClient(version);
    const peer = connectMemory(broker.accept);
    peer.onData = (b) => c.#parser.parse(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
    peer.onClose = () => c.#markClosed();
    c.#write = (b) => peer.write(b);
    c.#end = () => peer.close();
    return c;
  }

  /** Connect over TCP to 127.0.0.1:port. */
  static tcp(port: number, version = 4): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const c = new RawClient(version);
      const socket = net.connect({ host: "127.0.0.1", port }, () => resolve(c));
      socket.setNoDelay(true);
      socket.on("data", (b: Buffer) => c.#parser.parse(b));
      socket.on("close", () => c.#markClosed());
      socket.on("error", (e: Error) => {
        if (!c.closed) reject(e);
      });
      c.#write = (b) => {
        if (!socket.destroyed) socket.write(b);
      };
      c.#end = () => socket.destroy();
    });
  }

  /** Send a packet described as mqtt-packet takes it (`{ cmd: "connect", ... }`). */
  send(packet: AnyPacket): void {
    this.#write(mqtt.generate(packet, { protocolVersion: this.version }));
  }

  /** Send exact bytes. */
  sendBytes(bytes: Uint8Array | number[]): void {
    this.#write(bytes instanceof Uint8Array ? bytes : Uint8Array.from(bytes));
  }

  /** The next packet from the broker; rejects after `ms` or when the connection closes first. */
  next(ms = 2000): Promise<AnyPacket> {
    const queued = this.packets.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.closed) return Promise.reject(new Error("Connection closed while waiting for a packet"));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w.timer !== timer);
        reject(new Error(`No packet from the broker within ${ms} ms`));
      }, ms);
      this.#waiters.push({ resolve, reject, timer });
    });
  }

  /** The next packet, which must have command `cmd`. */
  async expect(cmd: string, ms = 2000): Promise<AnyPacket> {
    const p = await this.next(ms);
    if (p.cmd !== cmd) throw new Error(`Expected ${cmd}, received ${p.cmd} ${JSON.stringify(summary(p))}`);
    return p;
  }

  /** Resolves true once the broker closed the connection, false if still open after `ms`. */
  waitClosed(ms = 2000): Promise<boolean> {
    if (this.closed) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      this.#closeWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** Resolves with whatever packets arrive within `ms` (none expected in most uses). */
  async collect(ms: number): Promise<AnyPacket[]> {
    await new Promise((r) => setTimeout(r, ms));
    return this.packets.splice(0);
  }

  /** CONNECT with sensible defaults and return the CONNACK. */
  async connect(options: AnyPacket = {}): Promise<AnyPacket> {
    this.send({
      cmd: "connect",
      protocolId: this.version === 3 ? "MQIsdp" : "MQTT",
      protocolVersion: this.version,
      clean: true,
      clientId: "c" + Math.random().toString(16).slice(2, 10),
      keepalive: 0,
      ...options,
    });
    return await this.expect("connack");
  }

  /** SUBSCRIBE to filters at QoS and return the SUBACK. */
  async subscribe(filters: Array<[string, number]> | string, qos = 0, messageId = 1): Promise<AnyPacket> {
    const subs = typeof filters === "string" ? [[filters, qos] as [string, number]] : filters;
    this.send({ cmd: "subscribe", messageId, subscriptions: subs.map(([topic, q]) => ({ topic, qos: q })) });
    return await this.expect("suback");
  }

  /** PUBLISH (QoS 0 unless told). */
  publish(topic: string, payload: string | Uint8Array, options: AnyPacket = {}): void {
    this.send({
      cmd: "publish",
      topic,
      payload: typeof payload === "string" ? Buffer.from(payload) : Buffer.from(payload),
      qos: 0,
      retain: false,
      dup: false,
      ...options,
    });
  }

  /** Close the connection from the client side without DISCONNECT. */
  destroy(): void {
    this.#end();
  }

  /** DISCONNECT, then close. */
  disconnect(): void {
    this.send({ cmd: "disconnect" });
    setTimeout(() => this.#end(), 20);
  }

  #markClosed(): void {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.#waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(new Error("Connection closed while waiting for a packet"));
    }
    for (const f of this.#closeWaiters.splice(0)) f();
  }
}

function summary(p: AnyPacket): AnyPacket {
  const { cmd, topic, messageId, returnCode, reasonCode, granted, qos } = p;
  return { cmd, topic, messageId, returnCode, reasonCode, granted, qos };
}
