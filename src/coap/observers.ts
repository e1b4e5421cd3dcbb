/**
 * Observe (RFC 7641) on top of MQTT subscriptions: each observer is a filter subscribed by its identity's virtual
 * client; each delivery becomes a notification (Confirmable for QoS 1 and 2, so the PUBACK waits for the CoAP ACK).
 * An observer that answers RST, or lets a Confirmable notification time out, is dropped and unsubscribed.
 * @module
 */

import type { Clock } from "../clock.ts";
import type { Logger } from "../logger.ts";
import { topicMatches } from "../topics/topic_rules.ts";
import type { Blockwise } from "./blockwise.ts";
import type { CoapEndpoint, Outcome, Reply } from "./endpoint.ts";
import { type CoapOption, CON, encodeUint, NON, OPT, RESPONSE } from "./message.ts";
import type { LinkMessage, MqttLink } from "./mqtt_link.ts";
import { type Peer, peerKey } from "./datagram.ts";

/** One observation: a remote endpoint and token watching a topic filter. */
export interface Observer {
  readonly key: string;
  readonly peer: Peer;
  readonly peerKey: string;
  readonly token: Uint8Array;
  readonly filter: string;
  /** Block-wise key of the resource (path and query), for the rest of a large notification. */
  readonly resource: string;
  readonly szx: number;
  seq: number;
  lastCon: number;
}

/**
 * What arrives while a SUBSCRIBE is pending. The retained messages it brings (retain flag set: the gateway never
 * asks for Retain As Published, so live deliveries have it clear) belong to it alone; live messages that match
 * go to the active observers as usual, and a registration also keeps a copy for its new observer.
 */
export interface Capture {
  readonly filter: string;
  /** True for a GET that reads the retained message: it keeps no live copies. */
  readonly retainedOnly: boolean;
  readonly retained: Array<{ message: LinkMessage; done: () => void }>;
  readonly live: LinkMessage[];
}

/** What observers need from their identity. */
export interface ObservedIdentity {
  readonly link: MqttLink;
  readonly observers: Map<string, Observer>;
  /** Subscribed filters: how many observers use each, and the QoS it was subscribed with. */
  readonly filters: Map<string, { users: number; qos: 0 | 1 | 2 }>;
  readonly captures: Capture[];
}

/** Options of {@link Observers}. */
export interface ObserversOptions {
  readonly endpoint: CoapEndpoint;
  readonly blockwise: Blockwise;
  readonly clock: Clock;
  readonly logger: Logger;
  /** A QoS 0 notification goes Confirmable when the last Confirmable one is older than this [RFC 7641 4.5]. */
  readonly checkIntervalMs: number;
}

/** Observe sequence numbers are 24 bits [RFC 7641 4.4]. */
const SEQ_MASK = 0xffffff;

/** Sends notifications and drops observers that stopped listening. */
export class Observers {
  readonly #o: ObserversOptions;
  /** Observers per remote endpoint, for the per-remote bound. */
  readonly perPeer = new Map<string, number>();

  constructor(options: ObserversOptions) {
    this.#o = options;
  }

  /** Add an active observer. */
  add(identity: ObservedIdentity, observer: Observer): void {
    identity.observers.set(observer.key, observer);
    this.perPeer.set(observer.peerKey, (this.perPeer.get(observer.peerKey) ?? 0) + 1);
  }

  /** Remove an observer; unsubscribes its filter when no other observer of the identity uses it. */
  remove(identity: ObservedIdentity, observer: Observer, why: string): void {
    if (identity.observers.get(observer.key) !== observer) return;
    identity.observers.delete(observer.key);
    const n = (this.perPeer.get(observer.peerKey) ?? 1) - 1;
    if (n === 0) this.perPeer.delete(observer.peerKey);
    else this.perPeer.set(observer.peerKey, n);
    this.#o.logger.debug("coap observer removed", {
      client: identity.link.clientId,
      filter: observer.filter,
      why,
    });
    const sub = identity.filters.get(observer.filter);
    if (sub !== undefined && --sub.users > 0) return;
    identity.filters.delete(observer.filter);
    if (!identity.link.closed) void identity.link.unsubscribe(observer.filter);
  }

  /** A delivery from the broker to `identity`'s virtual client. */
  deliver(identity: ObservedIdentity, message: LinkMessage, done: () => void): void {
    if (message.retain) {
      const capture = identity.captures.find((c) => topicMatches(c.filter, message.topic));
      if (capture !== undefined) {
        capture.retained.push({ message, done });
        return;
      }
    } else {
      for (const c of identity.captures) {
        if (!c.retainedOnly && topicMatches(c.filter, message.topic)) c.live.push(message);
      }
    }
    const targets = [...identity.observers.values()].filter((o) => topicMatches(o.filter, message.topic));
    if (targets.length === 0) return done();
    let left = targets.length;
    const one = () => {
      if (--left === 0) done();
    };
    for (const observer of targets) this.notify(identity, observer, message, one);
  }

  /** The first response to a registration, or a notification when `exchange` is undefined. */
  representation(observer: Observer, message: LinkMessage | undefined): Reply {
    const options: CoapOption[] = [{ number: OPT.observe, value: encodeUint(observer.seq) }];
    // Max-Age carries what is left of an MQTT Message Expiry Interval.
    if (message?.expiry !== undefined) {
      options.push({ number: OPT.maxAge, value: encodeUint(message.expiry) });
    }
    return { code: RESPONSE.content, options, payload: message?.payload ?? new Uint8Array() };
  }

  /** Send one notification; `done` runs once it is acknowledged, dropped, or sent (NON). */
  notify(identity: ObservedIdentity, observer: Observer, message: LinkMessage, done: () => void): void {
    const now = this.#o.clock.now();
    observer.seq = (observer.seq + 1) & SEQ_MASK;
    const confirmable = message.qos > 0 || now - observer.lastCon >= this.#o.checkIntervalMs;
    if (confirmable) observer.lastCon = now;
    const reply = this.#o.blockwise.first(
      observer.peerKey,
      observer.resource,
      this.representation(observer, message),
      observer.szx,
    );
    const outgoing = {
      type: confirmable ? CON : NON,
      code: reply.code,
      token: observer.token,
      options: reply.options ?? [],
      payload: reply.payload ?? new Uint8Array(),
    } as const;
    const onOutcome = (outcome: Outcome) => {
      // RST to any notification, or no ACK to a Confirmable one, ends the observation [RFC 7641 3.6, 4.5]. A
      // notification dropped because the remote's queue is full is lost, and the observation goes on.
      if (outcome === "reset" || outcome === "timeout") this.remove(identity, observer, outcome);
      if (confirmable) done();
    };
    this.#o.endpoint.send(observer.peer, outgoing, onOutcome);
    if (!confirmable) done();
  }
}

/** The key of an observation: its remote endpoint and token [RFC 7641 4.1]. */
export function observerKey(peer: Peer, token: Uint8Array): string {
  return `${peerKey(peer)}|${[...token].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}
