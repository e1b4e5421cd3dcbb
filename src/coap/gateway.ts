/**
 * The CoAP gateway: CoAP requests become MQTT operations of a virtual client per CoAP identity, with EMQX's paths
 * so devices can move between the two brokers:
 *
 * - `POST|PUT /ps/{topic}?qos=&retain=&expiry=` publishes (2.04 once the broker took it; a QoS 1/2 message only
 *   after its PUBACK / PUBREC). Without `qos`, a CON request publishes at QoS 1 and a NON one at QoS 0 (EMQX's
 *   `coap` default).
 * - `GET /ps/{filter}` with Observe 0 subscribes (wildcards URL-encoded), Observe 1 unsubscribes; without Observe
 *   it returns the retained message (4.04 when there is none).
 * - `POST /mqtt/connection?clientid=&username=&password=` connects and answers 2.01 with a token; later requests
 *   carry `clientid` and `token`; `PUT` is a heartbeat, `DELETE` disconnects. Without a connection, requests may
 *   carry `clientid`, `username` and `password` themselves (or nothing: one anonymous client per remote address).
 *
 * A refused CONNECT is 4.01, a SUBACK or PUBACK saying Not authorized 4.03.
 * @module
 */

import type { Clock, TimerHandle } from "../clock.ts";
import type { Logger } from "../logger.ts";
import type { Accept } from "../transport/connection.ts";
import { Blockwise, decodeBlock } from "./blockwise.ts";
import type { CoapEndpoint, Exchange, Reply } from "./endpoint.ts";
import {
  type CoapMessage,
  type CoapOption,
  encodeUint,
  GET,
  OPT,
  optionValue,
  POST,
  PUT,
  RESPONSE,
  uintOption,
} from "./message.ts";
import { type Capture, type Observer, observerKey, Observers } from "./observers.ts";
import type { QoS } from "../packets/types.ts";
import { type Limits, resolveLimits } from "../options.ts";
import { checkTopicName } from "../topics/topic_rules.ts";
import { type Peer, peerKey } from "./datagram.ts";
import { Identities, type Identity } from "./identities.ts";
import { checkOptions, diagnostic, readQos, readUri, refusal, type Uri } from "./requests.ts";

/** Options of {@link CoapGateway}. */
export interface GatewayOptions {
  /** Hands each virtual client's connection to the broker. */
  readonly accept: Accept;
  /** Id of the listener the virtual clients appear to come through. */
  readonly listener: string;
  /**
   * The CoAP message layer the gateway answers through (internal, so left out of the generated docs).
   * @ignore
   */
  readonly endpoint: CoapEndpoint;
  /** Time source for idle and heartbeat timeouts. */
  readonly clock: Clock;
  /** Where the gateway logs. */
  readonly logger: Logger;
  /** Virtual clients at once (CoAP identities); more are answered 5.03. Default 10 000. */
  readonly maxClients?: number;
  /** Observations per remote endpoint; more are answered 5.03. Default 64. */
  readonly maxObserversPerPeer?: number;
  /** A client without observers and without a connection is disconnected after this idle time. Default 60 s. */
  readonly idleMs?: number;
  /** A `/mqtt/connection` client that sends no request or heartbeat for this long is disconnected. Default 120 s. */
  readonly heartbeatMs?: number;
  /** Largest request body (Block1) and delivered message. Default 1 MiB. */
  readonly maxBodySize?: number;
  /**
   * The broker's limits (`maxPacketSize`, `maxTopicLength`, `maxTopicLevels`): a publish the broker would answer
   * by closing the virtual client (and ending its observations) is answered 4.13 or 4.00 here. Default: the
   * broker's defaults.
   */
  readonly limits?: Partial<Limits>;
  /** QoS 1/2 notifications awaiting their CoAP ACK per virtual client. Default 16. */
  readonly receiveMaximum?: number;
}

type Route = { reply: Reply; after?: () => void };

const DEFAULT_SZX = 6; // 1024-byte blocks
/** A PUBLISH's bytes besides topic and payload, at most: fixed header 5, topic length 2, packet id 2, properties 6. */
const PUBLISH_OVERHEAD = 15;
const utf8 = new TextEncoder();

/** Answers CoAP requests through virtual MQTT clients. */
export class CoapGateway {
  readonly #o: Required<GatewayOptions>;
  readonly #limits: Limits;
  readonly #identities: Identities;
  readonly #blockwise: Blockwise;
  readonly #observers: Observers;
  readonly #sweeper: TimerHandle;

  constructor(options: GatewayOptions) {
    this.#o = {
      maxClients: 10_000,
      maxObserversPerPeer: 64,
      idleMs: 60_000,
      heartbeatMs: 120_000,
      maxBodySize: 1024 * 1024,
      receiveMaximum: 16,
      limits: {},
      ...options,
    };
    this.#limits = resolveLimits(this.#o.limits);
    this.#blockwise = new Blockwise({ clock: options.clock, maxBodySize: this.#o.maxBodySize });
    this.#observers = new Observers({
      endpoint: options.endpoint,
      blockwise: this.#blockwise,
      clock: options.clock,
      logger: options.logger,
      checkIntervalMs: 60_000,
    });
    this.#identities = new Identities({
      accept: options.accept,
      listener: options.listener,
      clock: options.clock,
      endpoint: options.endpoint,
      observers: this.#observers,
      maxClients: this.#o.maxClients,
      idleMs: this.#o.idleMs,
      heartbeatMs: this.#o.heartbeatMs,
      receiveMaximum: this.#o.receiveMaximum,
      maxBodySize: this.#o.maxBodySize,
    });
    this.#sweeper = options.clock.every(5_000, () => {
      this.#identities.sweep();
      this.#blockwise.sweep();
    });
  }

  /** Virtual clients open now. */
  get clientCount(): number {
    return this.#identities.size;
  }

  /** Disconnect every virtual client and stop timers. */
  close(): void {
    this.#sweeper.cancel();
    this.#identities.close();
  }

  /** The endpoint's request handler. */
  handle(request: CoapMessage, exchange: Exchange): void {
    const pk = peerKey(exchange.peer);
    const bad = checkOptions(request);
    if (bad !== undefined) return exchange.respond(bad);
    const uri = readUri(request);
    if ("error" in uri) return exchange.respond(diagnostic(RESPONSE.badRequest, uri.error));
    const block2Value = optionValue(request, OPT.block2);
    const block2 = block2Value === undefined ? undefined : decodeBlock(block2Value);
    const block1Value = optionValue(request, OPT.block1);
    const block1 = block1Value === undefined ? undefined : decodeBlock(block1Value);
    if ((block2Value !== undefined && !block2) || (block1Value !== undefined && !block1)) {
      return exchange.respond(diagnostic(RESPONSE.badRequest, "bad Block option"));
    }
    const observe = optionValue(request, OPT.observe) !== undefined;
    if (request.code === GET && block2 !== undefined && block2.num > 0 && !observe) {
      // The rest of a large response or notification [RFC 7959 2.4, 3.4].
      // Such a request carries no Observe, so neither does its answer.
      const stored = this.#blockwise.next(pk, uri.resource, block2);
      if (stored !== undefined) {
        return exchange.respond({
          ...stored,
          options: stored.options!.filter((o) => o.number !== OPT.observe),
        });
      }
    }
    let body = request.payload;
    let block1Option: CoapOption | undefined;
    if (block1 !== undefined) {
      const step = this.#blockwise.upload(
        pk,
        uri.resource,
        block1,
        request.payload,
        uintOption(request, OPT.size1),
      );
      if (!step.done) return exchange.respond(step.reply);
      body = step.body;
      block1Option = step.option;
    }
    const szx = Math.min(block2?.szx ?? DEFAULT_SZX, DEFAULT_SZX);
    this.#route(request, exchange.peer, uri, body).then(
      ({ reply, after }) => {
        const options = [...(reply.options ?? []), ...(block1Option === undefined ? [] : [block1Option])];
        let out = this.#blockwise.first(pk, uri.resource, { ...reply, options }, szx);
        // A later block asked for with Observe (as node-coap does for a large notification) keeps the Observe
        // value of the notification it belongs to, so the client takes the whole as that notification.
        if (block2 !== undefined && block2.num > 0) {
          out = this.#blockwise.next(pk, uri.resource, block2) ?? out;
        }
        exchange.respond(out);
        after?.();
      },
      (err) => {
        this.#o.logger.warn("coap request failed", { peer: pk, error: (err as Error).message });
        exchange.respond(diagnostic(RESPONSE.internalServerError, "internal error"));
      },
    );
  }

  async #route(request: CoapMessage, peer: Peer, uri: Uri, body: Uint8Array): Promise<Route> {
    const { path, query } = uri;
    if (path.length === 2 && path[0] === "mqtt" && path[1] === "connection") {
      return { reply: await this.#identities.connection(request.code, peer, query) };
    }
    if (path[0] !== "ps" || path.length < 2) {
      return { reply: diagnostic(RESPONSE.notFound, "no such resource") };
    }
    const topic = path.slice(1).join("/");
    if (request.code !== GET && request.code !== POST && request.code !== PUT) {
      return { reply: { code: RESPONSE.methodNotAllowed } };
    }
    const identity = await this.#identities.identify(peer, query);
    if (!("link" in identity)) return { reply: identity };
    identity.busy++;
    try {
      if (request.code !== GET) return { reply: await this.#publish(request, identity, topic, query, body) };
      const observe = uintOption(request, OPT.observe);
      if (observe === undefined) return { reply: await this.#read(identity, topic) };
      if (observe === 0) return await this.#register(request, peer, identity, topic, query, uri.resource);
      if (observe === 1) return { reply: this.#deregister(request, peer, identity, topic) };
      return { reply: diagnostic(RESPONSE.badRequest, "Observe must be 0 or 1") };
    } finally {
      identity.busy--;
      identity.lastUsed = this.#o.clock.now();
    }
  }

  async #publish(
    request: CoapMessage,
    identity: Identity,
    topic: string,
    query: Map<string, string>,
    body: Uint8Array,
  ): Promise<Reply> {
    const qos = readQos(query, request);
    if (qos === undefined) return diagnostic(RESPONSE.badRequest, "qos must be 0, 1 or 2");
    const expiryText = query.get("expiry");
    const expiry = expiryText === undefined ? undefined : Number(expiryText);
    if (expiry !== undefined && !(Number.isInteger(expiry) && expiry >= 0 && expiry <= 0xffffffff)) {
      return diagnostic(RESPONSE.badRequest, "expiry must be a whole number of seconds");
    }
    // What the broker would refuse by closing the virtual client is answered here instead: a topic name with
    // wildcards (4.00), a packet over its maximum size (4.13 with the largest payload it would take in Size1).
    const room = this.#limits.maxPacketSize - PUBLISH_OVERHEAD - utf8.encode(topic).length;
    if (body.length > room) {
      return {
        code: RESPONSE.requestEntityTooLarge,
        options: [{ number: OPT.size1, value: encodeUint(Math.max(0, room)) }],
      };
    }
    const problem = checkTopicName(topic, this.#limits);
    if (problem !== undefined) return diagnostic(RESPONSE.badRequest, problem);
    const code = await identity.link.publish({
      topic,
      payload: body,
      qos,
      retain: query.get("retain") === "true",
      ...(expiry === undefined ? {} : { expiry }),
    });
    return code < 0x80 ? { code: RESPONSE.changed } : refusal(code);
  }

  /** GET without Observe: the retained message of `topic`, through a SUBSCRIBE so that the ACL applies. */
  async #read(identity: Identity, topic: string): Promise<Reply> {
    const subscribed = identity.filters.get(topic);
    const capture: Capture = { filter: topic, retainedOnly: true, retained: [], live: [] };
    identity.captures.push(capture);
    const code = await identity.link.subscribe(topic, subscribed?.qos ?? 0);
    identity.captures.splice(identity.captures.indexOf(capture), 1);
    for (const { done } of capture.retained) done();
    if (code >= 0x80) return refusal(code);
    if (!identity.filters.has(topic) && !identity.link.closed) void identity.link.unsubscribe(topic);
    const first = capture.retained[0]?.message;
    if (first === undefined) return diagnostic(RESPONSE.notFound, "no retained message");
    const options = first.expiry === undefined
      ? []
      : [{ number: OPT.maxAge, value: encodeUint(first.expiry) }];
    return { code: RESPONSE.content, options, payload: first.payload };
  }

  async #register(
    request: CoapMessage,
    peer: Peer,
    identity: Identity,
    filter: string,
    query: Map<string, string>,
    resource: string,
  ): Promise<Route> {
    if (request.token.length === 0) {
      return { reply: diagnostic(RESPONSE.badRequest, "Observe needs a token") };
    }
    const qos = readQos(query, request);
    if (qos === undefined) return { reply: diagnostic(RESPONSE.badRequest, "qos must be 0, 1 or 2") };
    const key = observerKey(peer, request.token);
    const existing = identity.observers.get(key);
    if (existing !== undefined && existing.filter === filter) {
      // Re-registration with the same token keeps the observation [RFC 7641 4.1].
      return { reply: this.#observers.representation(existing, undefined) };
    }
    if (existing !== undefined) this.#observers.remove(identity, existing, "replaced");
    const pk = peerKey(peer);
    if ((this.#observers.perPeer.get(pk) ?? 0) >= this.#o.maxObserversPerPeer) {
      return { reply: diagnostic(RESPONSE.serviceUnavailable, "too many observations from this address") };
    }
    const block2 = optionValue(request, OPT.block2);
    const observer: Observer = {
      key,
      peer,
      peerKey: pk,
      token: request.token,
      filter,
      resource,
      szx: Math.min((block2 && decodeBlock(block2)?.szx) ?? DEFAULT_SZX, DEFAULT_SZX),
      seq: 0,
      lastCon: this.#o.clock.now(),
    };
    // SUBSCRIBE even when another observer of this client has the filter: the retained messages it brings are
    // the new observer's current state. The QoS only ever goes up, so the other observers lose nothing.
    const subscribed = identity.filters.get(filter);
    const subscribeQos = Math.max(qos, subscribed?.qos ?? 0) as QoS;
    const capture: Capture = { filter, retainedOnly: false, retained: [], live: [] };
    identity.captures.push(capture);
    const code = await identity.link.subscribe(filter, subscribeQos);
    identity.captures.splice(identity.captures.indexOf(capture), 1);
    if (code >= 0x80 || identity.link.closed) {
      for (const { done } of capture.retained) done();
      return { reply: refusal(code) };
    }
    if (subscribed === undefined) identity.filters.set(filter, { users: 1, qos: subscribeQos });
    else {
      subscribed.users++;
      subscribed.qos = subscribeQos;
    }
    this.#observers.add(identity, observer);
    // The retained message (if any) is the current state: it is the initial response; the others, and what was
    // published meanwhile, follow as notifications to this observer only.
    const [first, ...rest] = capture.retained;
    first?.done();
    return {
      reply: this.#observers.representation(observer, first?.message),
      after: () => {
        for (const { message, done } of rest) this.#observers.notify(identity, observer, message, done);
        for (const message of capture.live) this.#observers.notify(identity, observer, message, () => {});
      },
    };
  }

  #deregister(request: CoapMessage, peer: Peer, identity: Identity, filter: string): Reply {
    const observer = identity.observers.get(observerKey(peer, request.token)) ??
      [...identity.observers.values()].find((o) => o.peerKey === peerKey(peer) && o.filter === filter);
    if (observer !== undefined) this.#observers.remove(identity, observer, "deregistered");
    return { code: RESPONSE.content };
  }
}
