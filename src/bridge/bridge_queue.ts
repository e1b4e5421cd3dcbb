/**
 * The store-and-forward queue of one bridge: messages taken locally and not yet acknowledged by the remote broker.
 * @module
 */

import type { QoS } from "../packets/types.ts";
import type { StoredMessage, StoredQueued } from "../storage/storage.ts";

/** What a full queue does with a new QoS 1/2 message once no QoS 0 message is left to drop. */
export type QueueFullPolicy = "drop-oldest" | "refuse-new";

/** Limits of a {@link BridgeQueue}. */
export interface BridgeQueueLimits {
  /** Most messages queued at once. */
  maxMessages: number;
  /** Payload plus topic bytes of every queued message. */
  maxBytes: number;
  /** What to do with a new message when the queue is full. */
  policy: QueueFullPolicy;
}

/** One queued message; `message.topic` is already the remote topic. */
export interface QueueEntry {
  readonly seq: number;
  readonly message: StoredMessage;
  readonly qos: QoS;
  readonly retain: boolean;
  readonly bytes: number;
  /** Handed to the link and not acknowledged yet (resent after a reconnect). */
  sent: boolean;
}

/** What {@link BridgeQueue.push} did. */
export interface PushResult {
  /** False when the new message was refused (or, for QoS 0, dropped) because the queue is full. */
  accepted: boolean;
  /** Entries removed to make room, oldest first. */
  dropped: QueueEntry[];
}

/**
 * A FIFO in sequence order with a send cursor. Entries leave only when acknowledged ({@link ack}) or dropped for
 * room; after a lost connection {@link rewind} makes every unacknowledged entry due again, in the same order, so
 * order per topic (indeed overall) holds across reconnects. Removed slots are holes, compacted as the head moves.
 */
export class BridgeQueue {
  readonly limits: BridgeQueueLimits;
  #items: (QueueEntry | undefined)[] = [];
  #head = 0;
  #cursor = 0;
  #bySeq = new Map<number, number>();
  #count = 0;
  #bytes = 0;
  #qos0 = 0;
  #qos0Bytes = 0;
  #nextSeq = 1;

  constructor(limits: BridgeQueueLimits, restored: readonly StoredQueued[] = []) {
    this.limits = limits;
    for (const e of restored) {
      this.#append({ ...e, bytes: sizeOf(e.message), sent: false });
      if (e.seq >= this.#nextSeq) this.#nextSeq = e.seq + 1;
    }
  }

  /** Messages queued (sent or not). */
  get size(): number {
    return this.#count;
  }

  /** Bytes queued. */
  get bytes(): number {
    return this.#bytes;
  }

  /** True when a new message of `bytes` would not fit without dropping something. */
  wouldOverflow(bytes: number): boolean {
    return this.#count + 1 > this.limits.maxMessages || this.#bytes + bytes > this.limits.maxBytes;
  }

  /** True when a QoS 1/2 message of `bytes` would be queued (dropping QoS 0 messages if need be). */
  canTake(bytes: number): boolean {
    if (this.limits.policy === "drop-oldest") {
      return bytes <= this.limits.maxBytes && this.limits.maxMessages > 0;
    }
    return this.#count - this.#qos0 + 1 <= this.limits.maxMessages &&
      this.#bytes - this.#qos0Bytes + bytes <= this.limits.maxBytes;
  }

  /**
   * Queue a message. When full, the oldest QoS 0 messages go first; then `drop-oldest` removes the oldest
   * entries and `refuse-new` refuses this one. A message larger than the whole byte budget is refused.
   */
  push(message: StoredMessage, qos: QoS, retain: boolean): PushResult & { entry?: QueueEntry } {
    const bytes = sizeOf(message);
    const dropped: QueueEntry[] = [];
    if (bytes > this.limits.maxBytes || this.limits.maxMessages === 0) return { accepted: false, dropped };
    while (this.#qos0 > 0 && this.wouldOverflow(bytes)) dropped.push(this.#remove(this.#oldestQos0()));
    if (this.wouldOverflow(bytes)) {
      if (qos === 0 || this.limits.policy === "refuse-new") return { accepted: false, dropped };
      while (this.wouldOverflow(bytes)) dropped.push(this.#remove(this.#firstIndex()));
    }
    const entry: QueueEntry = { seq: this.#nextSeq++, message, qos, retain, bytes, sent: false };
    this.#append(entry);
    return { accepted: true, dropped, entry };
  }

  /** The next entry to send, marked sent; undefined when every entry was handed out. */
  takeNext(): QueueEntry | undefined {
    while (this.#cursor < this.#items.length) {
      const e = this.#items[this.#cursor++];
      if (e !== undefined && !e.sent) {
        e.sent = true;
        return e;
      }
    }
    return undefined;
  }

  /** Remove an acknowledged entry; false when it is no longer queued (dropped meanwhile). */
  ack(seq: number): boolean {
    const i = this.#bySeq.get(seq);
    if (i === undefined) return false;
    this.#remove(i);
    return true;
  }

  /** The connection was lost: every entry not acknowledged is due again, oldest first. */
  rewind(): void {
    for (let i = this.#head; i < this.#items.length; i++) {
      const e = this.#items[i];
      if (e !== undefined) e.sent = false;
    }
    this.#cursor = this.#head;
  }

  /** Entries in order (for tests and status). */
  *entries(): IterableIterator<QueueEntry> {
    for (let i = this.#head; i < this.#items.length; i++) {
      const e = this.#items[i];
      if (e !== undefined) yield e;
    }
  }

  #append(entry: QueueEntry): void {
    this.#bySeq.set(entry.seq, this.#items.length);
    this.#items.push(entry);
    this.#count++;
    this.#bytes += entry.bytes;
    if (entry.qos === 0) {
      this.#qos0++;
      this.#qos0Bytes += entry.bytes;
    }
  }

  #firstIndex(): number {
    let i = this.#head;
    while (this.#items[i] === undefined) i++;
    return i;
  }

  #oldestQos0(): number {
    let i = this.#head;
    while (this.#items[i] === undefined || this.#items[i]!.qos !== 0) i++;
    return i;
  }

  #remove(i: number): QueueEntry {
    const e = this.#items[i]!;
    this.#items[i] = undefined;
    this.#bySeq.delete(e.seq);
    this.#count--;
    this.#bytes -= e.bytes;
    if (e.qos === 0) {
      this.#qos0--;
      this.#qos0Bytes -= e.bytes;
    }
    while (this.#head < this.#items.length && this.#items[this.#head] === undefined) this.#head++;
    if (this.#cursor < this.#head) this.#cursor = this.#head;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) this.#compact();
    return e;
  }

  #compact(): void {
    const shift = this.#head;
    this.#items = this.#items.slice(shift);
    this.#head = 0;
    this.#cursor -= shift;
    for (const [seq, i] of this.#bySeq) this.#bySeq.set(seq, i - shift);
  }
}

/** Bytes a message counts against `maxBytes`. */
export function sizeOf(message: { topic: string; payload: Uint8Array }): number {
  return message.payload.byteLength + message.topic.length;
}
