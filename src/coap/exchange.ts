/**
 * What the CoAP message layer and its users exchange: replies, requests being answered, messages to send, how a
 * sent message ended, and the endpoint's options and counters.
 * @module
 */

import type { Clock } from "../clock.ts";
import type { CoapMessage, CoapOption, CON, NON } from "./message.ts";
import type { Peer } from "./datagram.ts";

/** How a Confirmable (or tracked Non-confirmable) message we sent ended. */
export type Outcome = "ack" | "reset" | "timeout" | "dropped";

/** A response to a request. */
export interface Reply {
  readonly code: number;
  readonly options?: readonly CoapOption[];
  readonly payload?: Uint8Array;
}

/** One request being answered. */
export interface Exchange {
  readonly peer: Peer;
  readonly request: CoapMessage;
  /** Answer the request (only the first call counts): piggy-backed on the ACK when still possible. */
  respond(reply: Reply): void;
}

/** A message to send; the endpoint picks the message id. */
export interface Outgoing {
  readonly type: typeof CON | typeof NON;
  readonly code: number;
  readonly token: Uint8Array;
  readonly options: readonly CoapOption[];
  readonly payload: Uint8Array;
}

/** Transmission parameters [RFC 7252 4.8] and the bounds that keep one remote from taking all memory. */
export interface EndpointOptions {
  /** Write one datagram to `peer`. */
  send(bytes: Uint8Array, peer: Peer): void;
  /** Time source for retransmissions and de-duplication. */
  clock: Clock;
  /** Uniform in [0, 1): the back-off jitter. */
  random?: () => number;
  /** Initial wait for the ACK of a confirmable message, in milliseconds (ACK_TIMEOUT). Default 2000. */
  ackTimeoutMs?: number;
  /** The initial wait is stretched by a random factor up to this (ACK_RANDOM_FACTOR). Default 1.5. */
  ackRandomFactor?: number;
  /** Retransmissions of a confirmable message before giving up (MAX_RETRANSMIT). Default 4. */
  maxRetransmit?: number;
  /** How long a request's message id is remembered for de-duplication (EXCHANGE_LIFETIME, 247 s). */
  exchangeLifetimeMs?: number;
  /** Message ids remembered per remote; the oldest go first. */
  dedupPerPeer?: number;
  /** Bytes of remembered responses (re-sent to duplicates) over all remotes; past it new ones are not kept. */
  maxReplyBytes?: number;
  /** Remote endpoints tracked at once; datagrams from more are dropped until some go idle. */
  maxPeers?: number;
  /** Messages queued per remote behind the Confirmable one in flight (NSTART = 1); more are dropped. */
  maxQueuePerPeer?: number;
  /** Requests being processed per remote; more are answered 5.03. */
  maxPendingPerPeer?: number;
  /** A CON request not answered within this time gets an empty ACK and, later, a separate response. */
  separateAfterMs?: number;
}

/** Counters for logs and tests. */
export interface EndpointStats {
  received: number;
  malformed: number;
  duplicates: number;
  retransmissions: number;
  timeouts: number;
  droppedPeers: number;
}
