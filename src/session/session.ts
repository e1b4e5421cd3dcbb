/**
 * What outlives a connection: subscriptions, QoS 1/2 state in both directions, queued messages and expiry.
 * @module
 */

import type { ClientInfo, DropReason } from "../hooks/hook.ts";
import type { Message } from "../message.ts";
import type { QoS } from "../packets/types.ts";
import { copyBytes } from "../packets/byte_pool.ts";
import type { PublishForms } from "./publish_forms.ts";
import type { StorageOp, StoredInflight } from "../storage/storage.ts";

/** One message on its way to one session, at the QoS and retain flag it is delivered with. */
export interface Delivery {
  readonly message: Message;
  /** Already downgraded to the granted QoS [MQTT-3.8.4-6]. */
  readonly qos: QoS;
  readonly retain: boolean;
  /** v5 Subscription Identifiers of every matching subscription [MQTT-3.3.4-3]. */
  readonly subscriptionIds?: number[];
}

/** A PUBLISH ready to send, with where its packet id goes; `shared` bytes must be copied before patching. */
export interface PreparedPublish {
  readonly bytes: Uint8Array;
  readonly packetIdOffset: number;
  readonly shared: boolean;
}

/** The connection side of a session, provided by the client while it is connected. */
export interface SessionOutlet {
  /** True while the connection's write buffer is over its high-water mark. */
  readonly congested: boolean;
  /** Outbound window: the smaller of the broker's maxInflight and the client's Receive Maximum. */
  readonly sendQuota: number;
  /**
   * Encode a delivery for this connection (its protocol version, topic aliases, maximum packet size), or
   * return undefined when it would be larger than the client accepts [MQTT-3.1.2-24].
   */
  preparePublish(
    delivery: Delivery,
    dup: boolean,
    forms: PublishForms | undefined,
  ): PreparedPublish | undefined;
  /** Send a PUBREL for an outbound QoS 2 message. */
  sendPubrel(packetId: number): void;
  /** Write one encoded packet. */
  send(bytes: Uint8Array): void;
}

/** What a session needs from the broker. */
export interface SessionContext {
  /** Queue bound; 0 for no bound. */
  readonly maxQueuedMessages: number;
  /** Bound on the payload bytes queued; 0 (or absent) for no bound. */
  readonly maxQueuedBytes?: number;
  /** A message was refused because the queue holds maxQueuedBytes already. */
  queuedBytesExceeded?(session: Session, queuedBytes: number): void;
  /**
   * Where persistent sessions record their changes (write-behind), when the broker has storage. `fresh`: a put of
   * a record that storage cannot hold yet (a new queue entry, a new inflight packet id: its last record was
   * deleted when the id was freed), so that a delete following it soon cancels it (WriteBehind.push).
   */
  readonly persist?: (op: StorageOp, fresh?: boolean) => void;
  now(): number;
  /** A message for this session was dropped. */
  dropped(session: Session, message: Message, reason: DropReason): void;
}

/** A QoS 1/2 message sent to the client and not yet fully acknowledged. */
export interface InflightMessage extends Delivery {
  readonly packetId: number;
  readonly qos: 1 | 2;
  /** `publish`: waiting for PUBACK/PUBREC; `pubrel`: PUBREL sent, waiting for PUBCOMP. */
  state: "publish" | "pubrel";
}

/** A queued delivery with its place in the queue (for storage). */
interface QueuedDelivery extends Delivery {
  readonly seq: number;
}

/** Never expires (v3 clean session 0, or v5 0xFFFFFFFF). */
export const SESSION_NEVER_EXPIRES = 0xffff_ffff;

const NO_SUBSCRIPTIONS: ReadonlyMap<string, Subscription> = new Map();
const NO_INFLIGHT: ReadonlyMap<number, InflightMessage> = new Map();

/** Session state keyed by client id [MQTT-3.1.3-2]. */
export class Session {
  readonly clientId: string;
  /**
   * Seconds the session outlives its connection: 0 ends it with the connection (3.1.1 Clean Session 1),
   * {@link SESSION_NEVER_EXPIRES} keeps it for ever.
   */
  expiryInterval: number;
  /**
   * Subscriptions and outbound QoS 1/2 messages, each made on first use: an empty Map still holds a hash table of
   * about 190 bytes, and an idle client (a publisher, a client between messages) needs neither.
   */
  #subscriptions: Map<string, Subscription> | undefined;
  #inflight: Map<number, InflightMessage> | undefined;
  /** Inbound QoS 2 packet ids that got PUBREC and wait for PUBREL [MQTT-4.3.3-2]; made on first use. */
  #incoming: Set<number> | undefined;
  /** The client that owns the session now or last did (for ACL checks while offline). */
  owner: ClientInfo | undefined;
  /** When the last connection ended (ms), undefined while connected. */
  disconnectedAt: number | undefined;
  /** Routing scratch: the pass that last touched this session and what it aggregated. */
  routeSeq: number = 0;
  routeQos: QoS = 0;
  routeRetain: boolean = false;
  routeSubIds: number[] | undefined;
  /** True once the session has been written to storage (so its end must be written too). */
  stored: boolean = false;

  #ctx: SessionContext;
  #outlet: SessionOutlet | undefined;
  #queue: Array<QueuedDelivery | undefined> = [];
  #queueHead = 0;
  #queueSeq = 0;
  /** Payload bytes of the queued messages. */
  #queueBytes = 0;
  #nextId = 1;
  /** Packet ids still to re-send after {@link attach}, and how far that got. */
  #resend: number[] | undefined;
  #resendAt = 0;

  constructor(clientId: string, expiryInterval: number, context: SessionContext) {
    this.clientId = clientId;
    this.expiryInterval = expiryInterval;
    this.#ctx = context;
  }

  /** Subscriptions by filter (shared ones by their full `$share/...` filter). */
  get subscriptions(): ReadonlyMap<string, Subscription> {
    return this.#subscriptions ?? NO_SUBSCRIPTIONS;
  }

  /** Outbound QoS 1/2 messages by packet id, in the order they were sent. */
  get inflight(): ReadonlyMap<number, InflightMessage> {
    return this.#inflight ?? NO_INFLIGHT;
  }

  /** Add or replace the subscription to `filter`. */
  setSubscription(filter: string, subscription: Subscription): void {
    (this.#subscriptions ??= new Map()).set(filter, subscription);
  }

  /** Remove the subscription to `filter`; false when there was none. */
  deleteSubscription(filter: string): boolean {
    return this.#subscriptions?.delete(filter) ?? false;
  }

  /** Remove every subscription. */
  clearSubscriptions(): void {
    this.#subscriptions = undefined;
  }

  /** True while a connection is attached. */
  get connected(): boolean {
    return this.#outlet !== undefined;
  }

  /** True when changes are recorded in storage: the broker has storage and the session outlives its connection. */
  get persistent(): boolean {
    return this.#ctx.persist !== undefined && this.expiryInterval > 0;
  }

  /** True while an inbound QoS 2 packet id waits for PUBREL. */
  hasIncoming(packetId: number): boolean {
    return this.#incoming !== undefined && this.#incoming.has(packetId);
  }

  /** Inbound QoS 2 packet ids waiting for PUBREL. */
  get incomingCount(): number {
    return this.#incoming === undefined ? 0 : this.#incoming.size;
  }

  /** Record an inbound QoS 2 packet id that got PUBREC [MQTT-4.3.3-2]. */
  addIncoming(packetId: number): void {
    (this.#incoming ??= new Set()).add(packetId);
    if (this.persistent) this.#ctx.persist!({ type: "incoming", clientId: this.clientId, packetId });
  }

  /** Release an inbound QoS 2 packet id on PUBREL; returns false when it was unknown. */
  releaseIncoming(packetId: number): boolean {
    if (this.#incoming === undefined || !this.#incoming.delete(packetId)) return false;
    if (this.persistent) this.#ctx.persist!({ type: "incomingDelete", clientId: this.clientId, packetId });
    return true;
  }

  /** Refill state read from storage at start (before any connection attaches). */
  restore(
    inflight: Iterable<InflightMessage>,
    queued: Iterable<Delivery & { seq: number }>,
    incoming: Iterable<number>,
  ): void {
    for (const entry of inflight) (this.#inflight ??= new Map()).set(entry.packetId, entry);
    for (const entry of queued) {
      this.#queue.push(entry);
      this.#queueBytes += entry.message.payload.byteLength;
      if (entry.seq >= this.#queueSeq) this.#queueSeq = entry.seq + 1;
    }
    for (const id of incoming) (this.#incoming ??= new Set()).add(id);
  }

  /** The messages waiting to be sent, oldest first (a session handed to another cluster node takes them along). */
  queuedDeliveries(): Delivery[] {
    const out: Delivery[] = [];
    for (let i = this.#queueHead; i < this.#queue.length; i++) out.push(this.#queue[i]!);
    return out;
  }

  /** Messages waiting to be sent. */
  get queued(): number {
    return this.#queue.length - this.#queueHead;
  }

  /** Payload bytes of the messages waiting to be sent. */
  get queuedBytes(): number {
    return this.#queueBytes;
  }

  /** True when the queue is at its bound and a new message would be dropped or refused. */
  get full(): boolean {
    const max = this.#ctx.maxQueuedMessages;
    const maxBytes = this.#ctx.maxQueuedBytes ?? 0;
    return (max > 0 && this.#queue.length - this.#queueHead >= max) ||
      (maxBytes > 0 && this.#queueBytes >= maxBytes);
  }

  /** When an offline session expires (ms), undefined while connected or when it never does. */
  get expiresAt(): number | undefined {
    if (this.disconnectedAt === undefined || this.expiryInterval === SESSION_NEVER_EXPIRES) return undefined;
    return this.disconnectedAt + this.expiryInterval * 1000;
  }

  /**
   * Attach a connection: re-send unacknowledged messages with DUP set and PUBRELs with their
   * original packet ids [MQTT-4.4.0-1] [MQTT-3.3.1-1], then send what was queued.
   */
  attach(outlet: SessionOutlet): void {
    this.#outlet = outlet;
    this.disconnectedAt = undefined;
    // What was in flight goes again first, within the connection's back-pressure: pump() goes on after drain.
    this.#resend = this.inflight.size === 0 ? undefined : [...this.inflight.keys()];
    this.#resendAt = 0;
    this.pump();
  }

  /** Re-send the in-flight messages of {@link attach} until the connection is congested; true once all went. */
  #resendInflight(outlet: SessionOutlet): boolean {
    const ids = this.#resend!;
    while (this.#resendAt < ids.length) {
      if (outlet.congested) return false;
      const entry = this.inflight.get(ids[this.#resendAt++]!);
      if (entry === undefined) continue; // acknowledged meanwhile
      if (entry.state === "pubrel") {
        outlet.sendPubrel(entry.packetId);
        continue;
      }
      const prepared = outlet.preparePublish(entry, true, undefined);
      if (prepared === undefined) {
        // Too large for this connection's maximum packet size: dropped as if delivered [MQTT-3.1.2-25].
        this.#forget(entry.packetId);
        this.#ctx.dropped(this, entry.message, "too-large");
        continue;
      }
      outlet.send(withPacketId(prepared, entry.packetId));
    }
    this.#resend = undefined;
    return true;
  }

  /** Detach the connection; the session keeps its state. */
  detach(now: number): void {
    this.#outlet = undefined;
    this.disconnectedAt = now;
  }

  /** Deliver a message, now when the connection and window allow it, else queued (bounded). */
  deliver(delivery: Delivery, forms?: PublishForms): void {
    const out = this.#outlet;
    if (out !== undefined && this.#queueHead === this.#queue.length && !out.congested && !this.#resend) {
      if (delivery.qos === 0 || this.inflight.size < out.sendQuota) {
        this.#send(out, delivery, forms);
        return;
      }
    }
    if (out === undefined && delivery.qos === 0) {
      // QoS 0 is not kept for offline sessions; only QoS 1 and 2 are [MQTT-3.1.2-5].
      this.#ctx.dropped(this, delivery.message, "qos0-offline");
      return;
    }
    this.#enqueue(delivery);
  }

  /** PUBACK from the client. Returns false when the id was not in flight as QoS 1. */
  puback(packetId: number): boolean {
    const entry = this.inflight.get(packetId);
    if (entry === undefined || entry.qos !== 1) return false;
    this.#forget(packetId);
    this.pump();
    return true;
  }

  /** PUBREC from the client: move to the PUBREL stage. Returns false for an unknown id. */
  pubrec(packetId: number): boolean {
    const entry = this.inflight.get(packetId);
    if (entry === undefined || entry.qos !== 2) return false;
    // Once PUBREL is sent the PUBLISH is never sent again [MQTT-4.3.3-1].
    if (entry.state !== "pubrel") {
      entry.state = "pubrel";
      if (this.persistent) {
        this.#ctx.persist!({ type: "inflight", clientId: this.clientId, entry: storedInflight(entry) });
      }
    }
    return true;
  }

  /** PUBCOMP from the client. Returns false for an unknown id. */
  pubcomp(packetId: number): boolean {
    const entry = this.inflight.get(packetId);
    if (entry === undefined || entry.state !== "pubrel") return false;
    this.#forget(packetId);
    this.pump();
    return true;
  }

  /** Forget an inflight message (a v5 PUBREC with an error code ends its flow). */
  abandon(packetId: number): void {
    if (!this.inflight.has(packetId)) return;
    this.#forget(packetId);
    this.pump();
  }

  /** Send queued messages while the connection and the inflight window have room. */
  pump(): void {
    const out = this.#outlet;
    if (out === undefined) return;
    if (this.#resend !== undefined && !this.#resendInflight(out)) return;
    const queue = this.#queue;
    while (this.#queueHead < queue.length && !out.congested) {
      const entry = queue[this.#queueHead]!;
      if (entry.qos > 0 && this.inflight.size >= out.sendQuota) break;
      queue[this.#queueHead++] = undefined;
      this.#queueBytes -= entry.message.payload.byteLength;
      if (entry.qos > 0 && this.persistent) {
        this.#ctx.persist!({ type: "queuedDelete", clientId: this.clientId, seq: entry.seq });
      }
      this.#send(out, entry, undefined);
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
    this.#inflight = undefined;
    this.#incoming = undefined;
    this.#queue = [];
    this.#queueHead = 0;
    this.#queueBytes = 0;
  }

  #send(out: SessionOutlet, delivery: Delivery, forms: PublishForms | undefined): void {
    if (
      delivery.message.properties?.messageExpiryInterval !== undefined &&
      isExpired(delivery.message, this.#ctx.now())
    ) {
      // Expired before onward delivery started: this copy is deleted [MQTT-3.3.2-5].
      this.#ctx.dropped(this, delivery.message, "expired");
      return;
    }
    const prepared = out.preparePublish(delivery, false, forms);
    if (prepared === undefined) {
      // Too large for the client: dropped unsent, as if delivered [MQTT-3.1.2-25].
      this.#ctx.dropped(this, delivery.message, "too-large");
      return;
    }
    if (delivery.qos === 0) {
      out.send(prepared.bytes);
      return;
    }
    const packetId = this.#allocateId();
    const entry: InflightMessage = {
      message: delivery.message,
      qos: delivery.qos,
      retain: delivery.retain,
      subscriptionIds: delivery.subscriptionIds,
      packetId,
      state: "publish",
    };
    (this.#inflight ??= new Map()).set(packetId, entry);
    if (this.persistent) {
      this.#ctx.persist!({ type: "inflight", clientId: this.clientId, entry: storedInflight(entry) }, true);
    }
    out.send(withPacketId(prepared, packetId));
  }

  #enqueue(delivery: Delivery): void {
    const size = delivery.message.payload.byteLength;
    const maxBytes = this.#ctx.maxQueuedBytes ?? 0;
    if (maxBytes > 0 && this.#queueBytes + size > maxBytes) {
      // Bytes, not only a count: a thousand 1 MiB messages would be a gigabyte.
      this.#ctx.queuedBytesExceeded?.(this, this.#queueBytes);
      this.#ctx.dropped(this, delivery.message, "queue-full");
      return;
    }
    const max = this.#ctx.maxQueuedMessages;
    if (max > 0 && this.queued >= max) {
      if (delivery.qos === 0) {
        this.#ctx.dropped(this, delivery.message, "queue-full");
        return;
      }
      // Full: make room by dropping the oldest QoS 0 message; with none, refuse the new one.
      const queue = this.#queue;
      let i = this.#queueHead;
      while (i < queue.length && queue[i]!.qos !== 0) i++;
      if (i === queue.length) {
        this.#ctx.dropped(this, delivery.message, "queue-full");
        return;
      }
      const [old] = queue.splice(i, 1);
      this.#queueBytes -= old!.message.payload.byteLength;
      this.#ctx.dropped(this, old!.message, "queue-full");
    }
    const entry: QueuedDelivery = { ...delivery, seq: this.#queueSeq++ };
    this.#queue.push(entry);
    this.#queueBytes += size;
    // QoS 0 is never persisted: it may be dropped at any time.
    if (entry.qos > 0 && this.persistent) {
      this.#ctx.persist!({
        type: "queued",
        clientId: this.clientId,
        entry: {
          seq: entry.seq,
          message: entry.message,
          qos: entry.qos,
          retain: entry.retain,
          subscriptionIds: entry.subscriptionIds,
        },
      }, true);
    }
  }

  #forget(packetId: number): void {
    this.#inflight?.delete(packetId);
    if (this.persistent) this.#ctx.persist!({ type: "inflightDelete", clientId: this.clientId, packetId });
  }

  /** A free, non-zero packet id: never one still in flight [MQTT-2.3.1-1] [MQTT-2.3.1-4]. */
  #allocateId(): number {
    let id = this.#nextId;
    while (this.inflight.has(id)) id = id === 65_535 ? 1 : id + 1;
    this.#nextId = id === 65_535 ? 1 : id + 1;
    return id;
  }
}

/** True when a v5 Message Expiry Interval has run out. */
export function isExpired(message: Message, now: number): boolean {
  const interval = message.properties?.messageExpiryInterval;
  return interval !== undefined && now - message.receivedAt >= interval * 1000;
}

function withPacketId(prepared: PreparedPublish, packetId: number): Uint8Array {
  const bytes = prepared.shared ? copyBytes(prepared.bytes) : prepared.bytes;
  bytes[prepared.packetIdOffset] = packetId >> 8;
  bytes[prepared.packetIdOffset + 1] = packetId & 0xff;
  return bytes;
}

function storedInflight(entry: InflightMessage): StoredInflight {
  return {
    packetId: entry.packetId,
    message: entry.message,
    qos: entry.qos,
    retain: entry.retain,
    state: entry.state,
    subscriptionIds: entry.subscriptionIds,
  };
}

/** A granted subscription. The index value points back at its session so routing needs no lookup. */
export interface Subscription {
  readonly session: Session;
  readonly filter: string;
  /** Granted maximum QoS. */
  qos: QoS;
  /** v5: do not deliver the subscriber's own messages. */
  noLocal: boolean;
  /** v5: keep the publisher's retain flag on delivery. */
  retainAsPublished: boolean;
  /** v5: 0 send retained on subscribe, 1 only for a new subscription, 2 never. */
  retainHandling: 0 | 1 | 2;
  /** v5 Subscription Identifier, when given. */
  identifier?: number;
}
