/**
 * A virtual MQTT 5 client inside the broker: the gateway's way of acting for one CoAP client identity.
 *
 * It opens a {@link Connection} through the broker's own `accept`, so the broker sees an ordinary client on the
 * CoAP listener: authentication, ACL, sessions, $SYS, metrics and the dashboard apply unchanged. Requests become
 * MQTT packets encoded with the broker's encoder; the broker's answers are read back by {@link ServerFrameReader}.
 * @module
 */

import { encodePacket, encodePublish } from "../packets/encoder.ts";
import type { QoS } from "../packets/types.ts";
import type { Accept, Connection, ConnectionHandler } from "../transport/connection.ts";
import { ServerFrameReader, type ServerPacket } from "./mqtt_frames.ts";

/** A message the broker delivered to the virtual client. */
export interface LinkMessage {
  readonly topic: string;
  readonly payload: Uint8Array;
  readonly qos: QoS;
  readonly retain: boolean;
  /** Seconds left of its Message Expiry Interval, when it has one (becomes the CoAP Max-Age). */
  readonly expiry?: number;
}

/** Options of {@link MqttLink}. */
export interface MqttLinkOptions {
  readonly accept: Accept;
  readonly listener: string;
  readonly remoteAddress: string;
  /** A delivery; call `done` once it has been handed on (PUBACK / PUBREC go then). */
  onMessage(message: LinkMessage, done: () => void): void;
  /** The broker closed the connection (or {@link MqttLink.disconnect} did). Called once. */
  onClosed(): void;
  /** Receive Maximum announced in CONNECT: QoS 1/2 deliveries in flight at once. */
  readonly receiveMaximum?: number;
  /** Largest packet the virtual client accepts. */
  readonly maximumPacketSize?: number;
}

/** Reason code a request gets when the link closed before the broker answered (0x80 Unspecified error). */
export const LINK_CLOSED = 0x80;

const utf8 = new TextEncoder();

/** One virtual MQTT 5 client. */
export class MqttLink {
  /** The client id it connected with. */
  clientId = "";
  /** Shown by the broker as the client's address; the gateway updates it to the latest CoAP peer. */
  remoteAddress: string;
  #o: MqttLinkOptions;
  #handler: ConnectionHandler;
  #reader = new ServerFrameReader();
  #pending = new Map<number, (code: number) => void>();
  #connack: ((code: number) => void) | undefined;
  #nextId = 1;
  #closed = false;
  #outbox: Uint8Array[] = [];

  constructor(options: MqttLinkOptions) {
    this.#o = options;
    this.remoteAddress = options.remoteAddress;
    const remote = () => this.remoteAddress;
    const connection: Connection = {
      get remoteAddress() {
        return remote();
      },
      write: (bytes) => {
        this.#fromBroker(bytes);
        return true;
      },
      end: () => this.#shut(),
      destroy: () => this.#shut(),
    };
    this.#handler = options.accept(connection, { listener: options.listener });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** CONNECT; resolves with the CONNACK reason code (0 success). */
  connect(clientId: string, username?: string, password?: string): Promise<number> {
    this.clientId = clientId;
    const done = new Promise<number>((resolve) => (this.#connack = resolve));
    this.#toBroker(encodePacket({
      type: "connect",
      protocolName: "MQTT",
      protocolVersion: 5,
      clean: true,
      // The gateway keeps the link alive itself (CoAP clients have no MQTT keep-alive).
      keepalive: 0,
      clientId,
      ...(username === undefined ? {} : { username }),
      ...(password === undefined ? {} : { password: utf8.encode(password) }),
      properties: {
        ...(this.#o.receiveMaximum === undefined ? {} : { receiveMaximum: this.#o.receiveMaximum }),
        ...(this.#o.maximumPacketSize === undefined ? {} : { maximumPacketSize: this.#o.maximumPacketSize }),
      },
    }, 5));
    return done;
  }

  /** PUBLISH; resolves once the broker took it: QoS 0 at once, QoS 1 with PUBACK's code, QoS 2 with PUBREC's. */
  publish(
    message: { topic: string; payload: Uint8Array; qos: QoS; retain: boolean; expiry?: number },
  ): Promise<number> {
    const packetId = message.qos > 0 ? this.#id() : undefined;
    const { bytes } = encodePublish({
      type: "publish",
      topic: message.topic,
      payload: message.payload,
      qos: message.qos,
      retain: message.retain,
      dup: false,
      ...(packetId === undefined ? {} : { packetId }),
      ...(message.expiry === undefined ? {} : { properties: { messageExpiryInterval: message.expiry } }),
    }, 5);
    if (packetId === undefined) {
      this.#toBroker(bytes);
      return Promise.resolve(this.#closed ? LINK_CLOSED : 0);
    }
    return this.#request(packetId, bytes);
  }

  /** SUBSCRIBE one filter; resolves with the SUBACK code (granted QoS, or >= 0x80). */
  subscribe(topicFilter: string, qos: QoS): Promise<number> {
    const packetId = this.#id();
    return this.#request(
      packetId,
      encodePacket({ type: "subscribe", packetId, subscriptions: [{ topicFilter, qos }] }, 5),
    );
  }

  /** UNSUBSCRIBE one filter; resolves with the UNSUBACK code. */
  unsubscribe(topicFilter: string): Promise<number> {
    const packetId = this.#id();
    return this.#request(
      packetId,
      encodePacket({ type: "unsubscribe", packetId, topicFilters: [topicFilter] }, 5),
    );
  }

  /** DISCONNECT (normal, no will) and close. */
  disconnect(): void {
    if (this.#closed) return;
    this.#toBroker(encodePacket({ type: "disconnect", reasonCode: 0 }, 5));
    this.#flush();
    this.#shut();
  }

  #request(packetId: number, bytes: Uint8Array): Promise<number> {
    if (this.#closed) return Promise.resolve(LINK_CLOSED);
    const done = new Promise<number>((resolve) => this.#pending.set(packetId, resolve));
    this.#toBroker(bytes);
    return done;
  }

  #id(): number {
    for (;;) {
      const id = this.#nextId;
      this.#nextId = id === 0xffff ? 1 : id + 1;
      if (!this.#pending.has(id)) return id;
    }
  }

  #settle(packetId: number, code: number): void {
    const resolve = this.#pending.get(packetId);
    if (resolve === undefined) return;
    this.#pending.delete(packetId);
    resolve(code);
  }

  /** Bytes to the broker go in one batch per turn, as a socket would deliver them. */
  #toBroker(bytes: Uint8Array): void {
    if (this.#closed) return;
    this.#outbox.push(bytes);
    if (this.#outbox.length === 1) queueMicrotask(() => this.#flush());
  }

  #flush(): void {
    const batch = this.#outbox.splice(0);
    for (const bytes of batch) if (!this.#closed) this.#handler.data(bytes);
  }

  #fromBroker(bytes: Uint8Array): void {
    let packets: ServerPacket[];
    try {
      packets = this.#reader.push(bytes);
    } catch {
      this.#shut();
      return;
    }
    for (const p of packets) this.#packet(p);
  }

  #packet(p: ServerPacket): void {
    switch (p.type) {
      case "connack":
        this.#connack?.(p.reasonCode);
        this.#connack = undefined;
        return;
      case "publish": {
        const { type: _t, packetId, ...message } = p;
        let acked = false;
        const done = () => {
          if (acked || p.qos === 0) return;
          acked = true;
          this.#toBroker(encodePacket({ type: p.qos === 1 ? "puback" : "pubrec", packetId }, 5));
        };
        try {
          this.#o.onMessage(message, done);
        } catch {
          // This runs inside the broker's delivery (Connection.write): nothing may throw back into it.
          done();
        }
        return;
      }
      case "pubrel":
        this.#toBroker(encodePacket({ type: "pubcomp", packetId: p.packetId }, 5));
        return;
      case "pubrec":
        // A refused QoS 2 message ends at PUBREC; an accepted one is released and done at PUBCOMP.
        if (p.reasonCode >= 0x80) return this.#settle(p.packetId, p.reasonCode);
        this.#toBroker(encodePacket({ type: "pubrel", packetId: p.packetId }, 5));
        return;
      case "puback":
      case "pubcomp":
        return this.#settle(p.packetId, p.reasonCode);
      case "suback":
      case "unsuback":
        return this.#settle(p.packetId, p.reasonCodes[0] ?? LINK_CLOSED);
      case "disconnect":
      case "pingresp":
        return;
    }
  }

  #shut(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#connack?.(LINK_CLOSED);
    this.#connack = undefined;
    for (const resolve of this.#pending.values()) resolve(LINK_CLOSED);
    this.#pending.clear();
    this.#outbox.length = 0;
    queueMicrotask(() => this.#handler.closed());
    this.#o.onClosed();
  }
}
