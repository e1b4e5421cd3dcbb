/**
 * What outlives a connection: subscriptions, QoS 1/2 state in both directions, and queued messages.
 * @module
 */

import { encodePacket, encodePublish } from "../packets/encoder.ts";
import type { Message } from "../message.ts";
import type { ProtocolVersion, QoS } from "../packets/types.ts";
import type { ClientInfo, DropReason } from "../hooks/hook.ts";
import type { PublishForms } from "./publish_forms.ts";
import type { Subscription } from "./subscription.ts";

/** The connection side of a session, provided by the client while it is connected. */
export interface SessionOutlet {
  readonly protocolVersion: ProtocolVersion;
  /** True while the connection's write buffer is over its high-water mark. */
  readonly congested: boolean;
  /** Write one encoded packet. */
  send(bytes: Uint8Array): void;
}

/** What a session needs from the broker. */
export interface SessionContext {
  /** Outbound window: QoS 1/2 messages sent and not yet acknowledged. */
  readonly maxInflight: number;
  /** Queue bound; 0 for no bound. */
  readonly maxQueuedMessages: number;
  /** A message for this session was dropped. */
  dropped(session: Session, message: Message, reason: DropReason): void;
}

/** A QoS 1/2 message sent to the client and not yet fully acknowledged. */
export interface InflightMessage {
  readonly packetId: number;
  readonly message: Message;
  readonly qos: 1 | 2;
  readonly retain: boolean;
  /** `publish`: waiting for PUBACK/PUBREC; `pubrel`: PUBREL sent, waiting for PUBCOMP. */
  state: "publish" | "pubrel";
}

interface QueuedMessage {
  readonly message: Message;
  readonly qos: QoS;
  readonly retain: boolean;
}

/** Session state keyed by client id [MQTT-3.1.3-2]. */
export class Session {
  readonly clientId: string;
  /** Ends when its connection ends (3.1.1 Clean Session = 1). */
  clean: boolean;
  /** Subscriptions by filter. */
  readonly subscriptions: Map<string, Subscription> = new Map();
  /** Outbound QoS 1/2 messages by packet id, in the order they were sent. */
  readonly inflight: Map<number, InflightMessage> = new Map();
  /** Inbound QoS 2 packet ids that got PUBREC and wait for PUBREL [MQTT-4.3.3-2]. */
  readonly incomingQos2: Set<number> = new Set();
  /** The client that owns the session now or last did (for ACL checks while offline). */
  owner: ClientInfo | undefined;
  /** When the last connection ended (ms), undefined while connected. */
  disconnectedAt: number | undefined;
  /** Routing scratch: the pass that last touched this session and the QoS it aggregated. */
  routeSeq: number = 0;
  routeQos: QoS = 0;
  routeRetain: boolean = false;

  #ctx: SessionContext;
  #outlet: SessionOutlet | undefined;
  #queue: Array<QueuedMessage | undefined> = [];
  #queueHead = 0;
  #nextId = 1;

  constructor(clientId: string, clean: boolean, context: SessionContext) {
    this.clientId = clientId;
    this.clean = clean;
    this.#ctx = context;
  }

  /** True while a connection is attached. */
  get connected(): boolean {
    return this.#outlet !== undefined;
  }

  /** Messages waiting to be sent. */
  get queued(): number {
    return this.#queue.length - this.#queueHead;
  }

  /**
   * Attach a connection: re-send unacknowledged messages with DUP set and PUBRELs with their
   * original packet ids [MQTT-4.4.0-1] [MQTT-3.3.1-1], then send what was queued.
   */
  attach(outlet: SessionOutlet): void {
    this.#outlet = outlet;
    this.disconnectedAt = undefined;
    for (const entry of this.inflight.values()) {
      if (entry.state === "pubrel") {
        outlet.send(encodePacket({ type: "pubrel", packetId: entry.packetId }, outlet.protocolVersion));
      } else {
        outlet.send(this.#encode(entry.message, entry.qos, entry.retain, entry.packetId, true));
      }
    }
    this.pump();
  }

  /** Detach the connection; the session keeps its state. */
  detach(now: number): void {
    this.#outlet = undefined;
    this.disconnectedAt = now;
  }

  /** Deliver a message at the given (already downgraded) QoS [MQTT-3.8.4-6]. */
  deliver(message: Message, qos: QoS, retain: boolean, forms?: PublishForms): void {
    const out = this.#outlet;
    if (out !== undefined && this.#queueHead === this.#queue.length && !out.congested) {
      if (qos === 0) {
        out.send(
          forms ? forms.bytes(out.protocolVersion, 0, retain, 0) : this.#encode(message, 0, retain, 0, false),
        );
        return;
      }
      if (this.inflight.size < this.#ctx.maxInflight) {
        this.#sendNew(out, message, qos, retain, forms);
        return;
      }
    }
    if (out === undefined && qos === 0) {
      // QoS 0 is not kept for offline sessions; only QoS 1 and 2 are [MQTT-3.1.2-5].
      this.#ctx.dropped(this, message, "qos0-offline");
      return;
    }
    this.#enqueue({ message, qos, retain });
  }

  /** PUBACK from the client. Returns false when the id was not in flight as QoS 1. */
  puback(packetId: number): boolean {
    const entry = this.inflight.get(packetId);
    if (entry === undefined || entry.qos !== 1) return false;
    this.inflight.delete(packetId);
    this.pump();
    return true;
  }

  /** PUBREC from the client: move to the PUBREL stage. Returns false for an unknown id. */
  pubrec(packetId: number): boolean {
    const entry = this.inflight.get(packetId);
    if (entry === undefined || entry.qos !== 2) return false;
    // Once PUBREL is sent the PUBLISH is never sent again [MQTT-4.3.3-1].
    entry.state = "pubrel";
    return true;
  }

  /** PUBCOMP from the client. Returns false for an unknown id. */
  pubcomp(packetId: number): boolean {
    const entry = this.inflight.get(packetId);
    if (entry === undefined || entry.state !== "pubrel") return false;
    this.inflight.delete(packetId);
    this.pump();
    return true;
  }

  /** Send queued messages while the connection and the inflight window have room. */
  pump(): void {
    const out = this.#outlet;
    if (out === undefined) return;
    const queue = this.#queue;
    while (this.#queueHead < queue.length && !out.congested) {
      const entry = queue[this.#queueHead]!;
      if (entry.qos > 0 && this.inflight.size >= this.#ctx.maxInflight) break;
      queue[this.#queueHead++] = undefined;
      if (entry.qos === 0) out.send(this.#encode(entry.message, 0, entry.retain, 0, false));
      else this.#sendNew(out, entry.message, entry.qos, entry.retain, undefined);
    }
    if (this.#queueHead === queue.length) {
      queue.length = 0;
      this.#queueHead = 0;
    } else if (this.#queueHead > 1024 && this.#queueHead * 2 > queue.length) {
      this.#queue = queue.slice(this.#queueHead);
      this.#queueHead = 0;
    }
  }

  /** Drop everything (the session ends). */
  clear(): void {
    this.inflight.clear();
    this.incomingQos2.clear();
    this.#queue = [];
    this.#queueHead = 0;
  }

  #enqueue(entry: QueuedMessage): void {
    const max = this.#ctx.maxQueuedMessages;
    if (max > 0 && this.queued >= max) {
      if (entry.qos === 0) {
        this.#ctx.dropped(this, entry.message, "queue-full");
        return;
      }
      // Full: make room by dropping the oldest QoS 0 message; with none, refuse the new one.
      const queue = this.#queue;
      let i = this.#queueHead;
      while (i < queue.length && queue[i]!.qos !== 0) i++;
      if (i === queue.length) {
        this.#ctx.dropped(this, entry.message, "queue-full");
        return;
      }
      const [old] = queue.splice(i, 1);
      this.#ctx.dropped(this, old!.message, "queue-full");
    }
    this.#queue.push(entry);
  }

  #sendNew(
    out: SessionOutlet,
    message: Message,
    qos: 1 | 2,
    retain: boolean,
    forms: PublishForms | undefined,
  ): void {
    const packetId = this.#allocateId();
    this.inflight.set(packetId, { packetId, message, qos, retain, state: "publish" });
    out.send(
      forms
        ? forms.bytes(out.protocolVersion, qos, retain, packetId)
        : this.#encode(message, qos, retain, packetId, false),
    );
  }

  /** A free, non-zero packet id: never one still in flight [MQTT-2.3.1-1] [MQTT-2.3.1-4]. */
  #allocateId(): number {
    let id = this.#nextId;
    while (this.inflight.has(id)) id = id === 65_535 ? 1 : id + 1;
    this.#nextId = id === 65_535 ? 1 : id + 1;
    return id;
  }

  #encode(message: Message, qos: QoS, retain: boolean, packetId: number, dup: boolean): Uint8Array {
    const version = this.#outlet?.protocolVersion ?? 4;
    return encodePublish(
      {
        type: "publish",
        topic: message.topic,
        payload: message.payload,
        qos,
        retain,
        // DUP only on a re-delivery, never copied from the publisher, never on QoS 0 [MQTT-3.3.1-2] [MQTT-3.3.1-3].
        dup: dup && qos > 0,
        packetId: qos > 0 ? packetId : undefined,
        properties: version === 5 ? message.properties : undefined,
      },
      version,
    ).bytes;
  }
}
