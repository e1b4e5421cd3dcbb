/**
 * The CoAP message layer (RFC 7252 section 4) for a server: de-duplication of requests, piggy-backed and
 * separate responses, Confirmable messages retransmitted with exponential back-off, and RST.
 *
 * Everything about one remote endpoint lives in one bounded {@link PeerState}; time goes through the injected
 * clock and randomness through the injected `random`, so tests run the back-off on a fake clock.
 * @module
 */

import type { TimerHandle } from "../clock.ts";
import { parse, serialize } from "./codec.ts";
import { ACK, type CoapMessage, CON, NON, RESPONSE, RST } from "./message.ts";
import { type Peer, peerKey } from "./datagram.ts";

export type { EndpointOptions, EndpointStats, Exchange, Outcome, Outgoing, Reply } from "./exchange.ts";
import type { EndpointOptions, EndpointStats, Exchange, Outcome, Outgoing, Reply } from "./exchange.ts";

interface Seen {
  at: number;
  reply?: Uint8Array;
}

interface Inflight {
  mid: number;
  bytes: Uint8Array;
  tries: number;
  timeoutMs: number;
  timer: TimerHandle;
  onOutcome?: (outcome: Outcome) => void;
}

interface PeerState {
  peer: Peer;
  nextMid: number;
  lastSeen: number;
  seen: Map<number, Seen>;
  inflight?: Inflight;
  queue: Array<{ message: Outgoing; onOutcome?: (outcome: Outcome) => void }>;
  nonSent: Map<number, { at: number; onOutcome: (outcome: Outcome) => void }>;
  pending: number;
}

const NON_TRACKED = 64;
const EMPTY = new Uint8Array(0);

/** A CoAP server endpoint: feed it datagrams with {@link receive}; it calls `onRequest` for each new request. */
export class CoapEndpoint {
  onRequest: (request: CoapMessage, exchange: Exchange) => void = () => {};
  readonly stats: EndpointStats = {
    received: 0,
    malformed: 0,
    duplicates: 0,
    retransmissions: 0,
    timeouts: 0,
    droppedPeers: 0,
  };
  readonly #o: Required<EndpointOptions>;
  readonly #peers = new Map<string, PeerState>();
  #sweeper: TimerHandle;
  #closed = false;
  /** Bytes held in `Seen.reply` over all peers. */
  #replyBytes = 0;

  constructor(options: EndpointOptions) {
    this.#o = {
      random: Math.random,
      ackTimeoutMs: 2000,
      ackRandomFactor: 1.5,
      maxRetransmit: 4,
      exchangeLifetimeMs: 247_000,
      dedupPerPeer: 64,
      maxReplyBytes: 8 * 1024 * 1024,
      maxPeers: 10_000,
      maxQueuePerPeer: 64,
      maxPendingPerPeer: 32,
      separateAfterMs: 1000,
      ...options,
    };
    this.#sweeper = this.#o.clock.every(Math.min(10_000, this.#o.exchangeLifetimeMs), () => this.#sweep());
  }

  /** Remote endpoints currently tracked. */
  get peerCount(): number {
    return this.#peers.size;
  }

  /** One datagram from `peer`. Never throws. */
  receive(bytes: Uint8Array, peer: Peer): void {
    if (this.#closed) return;
    this.stats.received++;
    const parsed = parse(bytes);
    if (!parsed.ok) {
      this.stats.malformed++;
      // A Confirmable message with a format error is rejected with RST; anything else is dropped [RFC 7252 4.2, 4.3].
      if (parsed.header?.type === CON) this.#rst(peer, parsed.header.messageId);
      return;
    }
    const m = parsed.message;
    const state = this.#state(peer);
    if (state === undefined) return;
    state.lastSeen = this.#o.clock.now();
    if (m.type === ACK || m.type === RST) return this.#ackOrReset(state, m);
    if (m.code === 0 || m.code >> 5 !== 0) {
      // An empty CON is a ping, answered with RST [RFC 7252 4.3]; a server takes no responses: CON ones are
      // rejected, NON ones ignored.
      if (m.type === CON) this.#rst(peer, m.messageId);
      return;
    }
    const seen = state.seen.get(m.messageId);
    if (seen !== undefined) {
      // A duplicate gets the same answer again and is not processed twice [RFC 7252 4.5].
      this.stats.duplicates++;
      if (seen.reply !== undefined) this.#o.send(seen.reply, peer);
      return;
    }
    const entry: Seen = { at: state.lastSeen };
    state.seen.set(m.messageId, entry);
    if (state.seen.size > this.#o.dedupPerPeer) this.#forget(state, state.seen.keys().next().value!);
    this.#exchange(state, m, entry);
  }

  /**
   * Send a message to `peer`: CON ones wait their turn (one in flight per peer) and are retransmitted. A NON one
   * goes at once unless messages are waiting, then after them, so that the remote sees them in order (Observe
   * sequence numbers would otherwise make a client discard an older notification that arrives late).
   */
  send(peer: Peer, message: Outgoing, onOutcome?: (outcome: Outcome) => void): void {
    if (this.#closed) return onOutcome?.("dropped");
    const state = this.#state(peer);
    if (state === undefined) return onOutcome?.("dropped");
    if (message.type === NON && state.inflight === undefined && state.queue.length === 0) {
      return this.#sendNon(state, message, onOutcome);
    }
    if (state.queue.length >= this.#o.maxQueuePerPeer) return onOutcome?.("dropped");
    state.queue.push({ message, onOutcome });
    this.#pump(state);
  }

  #sendNon(state: PeerState, message: Outgoing, onOutcome?: (outcome: Outcome) => void): void {
    const mid = this.#mid(state);
    this.#o.send(serialize({ ...message, messageId: mid }), state.peer);
    if (onOutcome === undefined) return;
    // Remembered only to match an RST, which ends an observation [RFC 7641 3.6].
    state.nonSent.set(mid, { at: this.#o.clock.now(), onOutcome });
    if (state.nonSent.size > NON_TRACKED) state.nonSent.delete(state.nonSent.keys().next().value!);
  }

  /** Keep `bytes` to answer duplicates of a request with, within the global budget. */
  #remember(seen: Seen, bytes: Uint8Array): void {
    if (seen.reply !== undefined) this.#replyBytes -= seen.reply.length;
    seen.reply = undefined;
    if (this.#replyBytes + bytes.length > this.#o.maxReplyBytes) return;
    seen.reply = bytes;
    this.#replyBytes += bytes.length;
  }

  #forget(state: PeerState, mid: number): void {
    const seen = state.seen.get(mid);
    if (seen?.reply !== undefined) this.#replyBytes -= seen.reply.length;
    state.seen.delete(mid);
  }

  /** Stop timers and forget every peer (no callbacks run). */
  close(): void {
    this.#closed = true;
    this.#sweeper.cancel();
    for (const state of this.#peers.values()) state.inflight?.timer.cancel();
    this.#peers.clear();
    this.#replyBytes = 0;
  }

  #exchange(state: PeerState, request: CoapMessage, seen: Seen): void {
    const peer = state.peer;
    if (state.pending >= this.#o.maxPendingPerPeer) {
      const bytes = this.#reply(state, request, { code: RESPONSE.serviceUnavailable }, request.type === NON);
      this.#remember(seen, bytes);
      this.#o.send(bytes, peer);
      return;
    }
    state.pending++;
    let done = false;
    let separate = false;
    const timer = request.type === CON
      ? this.#o.clock.after(this.#o.separateAfterMs, () => {
        if (done) return;
        // Not ready in time: acknowledge now so the client stops retransmitting [RFC 7252 5.2.2].
        separate = true;
        const ack = serialize({
          type: ACK,
          code: 0,
          messageId: request.messageId,
          token: EMPTY,
          options: [],
          payload: EMPTY,
        });
        this.#remember(seen, ack);
        this.#o.send(ack, peer);
      })
      : undefined;
    const exchange: Exchange = {
      peer,
      request,
      respond: (reply) => {
        if (done) return;
        done = true;
        state.pending--;
        timer?.cancel();
        if (this.#closed) return;
        if (separate) {
          this.send(peer, {
            type: CON,
            token: request.token,
            code: reply.code,
            options: reply.options ?? [],
            payload: reply.payload ?? EMPTY,
          });
          return;
        }
        const bytes = this.#reply(state, request, reply, request.type === NON);
        this.#remember(seen, bytes);
        this.#o.send(bytes, peer);
      },
    };
    try {
      this.onRequest(request, exchange);
    } catch {
      exchange.respond({ code: RESPONSE.internalServerError });
    }
  }

  /** A piggy-backed ACK for a CON request, or a NON response with a new id for a NON one. */
  #reply(state: PeerState, request: CoapMessage, reply: Reply, non: boolean): Uint8Array {
    return serialize({
      type: non ? NON : ACK,
      code: reply.code,
      messageId: non ? this.#mid(state) : request.messageId,
      token: request.token,
      options: reply.options ?? [],
      payload: reply.payload ?? EMPTY,
    });
  }

  #ackOrReset(state: PeerState, m: CoapMessage): void {
    const inflight = state.inflight;
    if (inflight !== undefined && inflight.mid === m.messageId) {
      inflight.timer.cancel();
      state.inflight = undefined;
      inflight.onOutcome?.(m.type === ACK ? "ack" : "reset");
      this.#pump(state);
      return;
    }
    if (m.type === RST) {
      const non = state.nonSent.get(m.messageId);
      if (non === undefined) return;
      state.nonSent.delete(m.messageId);
      non.onOutcome("reset");
    }
  }

  #pump(state: PeerState): void {
    if (state.inflight !== undefined || this.#closed) return;
    let next = state.queue.shift();
    while (next !== undefined && next.message.type === NON) {
      this.#sendNon(state, next.message, next.onOutcome);
      next = state.queue.shift();
    }
    if (next === undefined) return;
    const mid = this.#mid(state);
    const bytes = serialize({ ...next.message, messageId: mid });
    // The first timeout is random in [ACK_TIMEOUT, ACK_TIMEOUT * ACK_RANDOM_FACTOR] [RFC 7252 4.8].
    const o = this.#o;
    const timeoutMs = o.ackTimeoutMs * (1 + o.random() * (o.ackRandomFactor - 1));
    const inflight: Inflight = {
      mid,
      bytes,
      tries: 0,
      timeoutMs,
      timer: undefined!,
      onOutcome: next.onOutcome,
    };
    state.inflight = inflight;
    o.send(bytes, state.peer);
    inflight.timer = o.clock.after(timeoutMs, () => this.#retransmit(state, inflight));
  }

  #retransmit(state: PeerState, inflight: Inflight): void {
    if (state.inflight !== inflight || this.#closed) return;
    if (inflight.tries >= this.#o.maxRetransmit) {
      // Given up after MAX_RETRANSMIT retransmissions [RFC 7252 4.2].
      this.stats.timeouts++;
      state.inflight = undefined;
      inflight.onOutcome?.("timeout");
      this.#pump(state);
      return;
    }
    inflight.tries++;
    // The timeout doubles with every retransmission [RFC 7252 4.2].
    inflight.timeoutMs *= 2;
    this.stats.retransmissions++;
    this.#o.send(inflight.bytes, state.peer);
    inflight.timer = this.#o.clock.after(inflight.timeoutMs, () => this.#retransmit(state, inflight));
  }

  #rst(peer: Peer, messageId: number): void {
    this.#o.send(
      serialize({ type: RST, code: 0, messageId, token: EMPTY, options: [], payload: EMPTY }),
      peer,
    );
  }

  #mid(state: PeerState): number {
    const mid = state.nextMid;
    state.nextMid = (mid + 1) & 0xffff;
    return mid;
  }

  #state(peer: Peer): PeerState | undefined {
    const key = peerKey(peer);
    let state = this.#peers.get(key);
    if (state !== undefined) return state;
    if (this.#peers.size >= this.#o.maxPeers) {
      this.stats.droppedPeers++;
      return undefined;
    }
    state = {
      peer: { address: peer.address, port: peer.port },
      nextMid: Math.floor(this.#o.random() * 0x10000),
      lastSeen: this.#o.clock.now(),
      seen: new Map(),
      queue: [],
      nonSent: new Map(),
      pending: 0,
    };
    this.#peers.set(key, state);
    return state;
  }

  /** Forget message ids past their lifetime and peers with nothing left. */
  #sweep(): void {
    const now = this.#o.clock.now();
    const lifetime = this.#o.exchangeLifetimeMs;
    for (const [key, state] of this.#peers) {
      for (const [mid, seen] of state.seen) {
        if (now - seen.at < lifetime) break; // insertion order is arrival order
        this.#forget(state, mid);
      }
      for (const [mid, non] of state.nonSent) {
        if (now - non.at < lifetime) break;
        state.nonSent.delete(mid);
      }
      const idle = state.inflight === undefined && state.queue.length === 0 && state.pending === 0;
      if (idle && state.seen.size === 0 && state.nonSent.size === 0) this.#peers.delete(key);
    }
  }
}
