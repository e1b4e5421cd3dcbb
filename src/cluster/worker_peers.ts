/**
 * A worker's direct channels to the other workers. Routed messages go straight from the worker where they were
 * published to each worker whose clients subscribed to them, without a stop in the main thread: the hub only says
 * which filters each peer wants (a `want` op naming the peer), and the supervisor hands each pair of workers the
 * two ends of a MessageChannel.
 * @module
 */

import type { Message } from "../message.ts";
import { SubscriptionIndex } from "../topics/subscription_index.ts";
import { FrameReader, FrameWriter, StringCache } from "./worker_frames.ts";
import type { WorkerPort } from "./worker_protocol.ts";

/** What one worker sends another directly: routed messages, packed, or a takeover round's mark behind them. */
export type PeerBatch =
  | { readonly t: "peer"; readonly frames: Uint8Array }
  | { readonly t: "mark"; readonly round: number };

interface Peer {
  port: WorkerPort | undefined;
  readonly wanted: SubscriptionIndex<true>;
  readonly frames: FrameWriter;
}

/** The other workers, what each wants, and what is on its way to each in this turn. */
export class WorkerPeers {
  readonly #peers = new Map<number, Peer>();
  readonly #receive: (message: Message, from: number) => void;
  readonly #onMark: (from: number, round: number) => void;
  readonly #strings = new StringCache();
  #wants = 0;
  #hit = false;
  readonly #onHit = () => (this.#hit = true);
  /** Messages sent to peers, and received from them. */
  sent = 0;
  received = 0;

  /**
   * `receive` routes a message that peer `from` sent to this worker's subscribers; `onMark` hears a takeover
   * round's mark (src/cluster/worker_handover.ts).
   */
  constructor(
    receive: (message: Message, from: number) => void,
    onMark: (from: number, round: number) => void = () => {},
  ) {
    this.#receive = receive;
    this.#onMark = onMark;
  }

  /** The channel to worker `index` (a new one when that worker restarted). */
  add(index: number, port: WorkerPort): void {
    this.#peer(index).port = port;
    port.onMessage((data) => {
      const batch = data as PeerBatch;
      if (batch.t === "mark") {
        this.#onMark(index, batch.round);
        return;
      }
      const reader = new FrameReader(batch.frames, this.#strings);
      while (reader.more) {
        this.received++;
        this.#receive(reader.next(), index);
      }
    });
  }

  /** Worker `index` is gone: nothing more goes to it. */
  remove(index: number): void {
    const peer = this.#peers.get(index);
    if (peer === undefined) return;
    this.#wants -= peer.wanted.size;
    this.#peers.delete(index);
  }

  /** Worker `index` wants messages matching `filter` now (1), or no longer (-1). */
  want(index: number, filter: string, delta: 1 | -1): void {
    const wanted = this.#peer(index).wanted;
    if (delta === 1) {
      if (wanted.add(filter, "", true)) this.#wants++;
    } else if (wanted.remove(filter, "")) this.#wants--;
  }

  /** Queue `message` for every peer that wants it; true when one did. */
  forward(message: Message): boolean {
    if (this.#wants === 0) return false;
    let first: FrameWriter | undefined;
    let frame: Uint8Array | undefined;
    for (const peer of this.#peers.values()) {
      if (peer.wanted.size === 0) continue;
      this.#hit = false;
      peer.wanted.match(message.topic, this.#onHit);
      if (!this.#hit) continue;
      this.sent++;
      if (first === undefined) {
        first = peer.frames;
        first.write(message);
        frame = first.last();
      } else peer.frames.append(frame!);
    }
    return first !== undefined;
  }

  /** Send what this turn queued, one transferred buffer per peer. */
  flush(): void {
    for (const peer of this.#peers.values()) {
      if (peer.frames.count === 0) continue;
      const frames = peer.frames.take();
      if (peer.port === undefined) continue; // a worker that is starting: it has no subscribers yet
      peer.port.postMessage({ t: "peer", frames } satisfies PeerBatch, [frames.buffer as ArrayBuffer]);
    }
  }

  /** Post a mark of takeover `round` to worker `index`, behind everything queued for it so far. */
  mark(index: number, round: number): void {
    this.flush();
    this.#peers.get(index)?.port?.postMessage({ t: "mark", round } satisfies PeerBatch);
  }

  #peer(index: number): Peer {
    let peer = this.#peers.get(index);
    if (peer === undefined) {
      peer = { port: undefined, wanted: new SubscriptionIndex(), frames: new FrameWriter() };
      this.#peers.set(index, peer);
    }
    return peer;
  }
}
