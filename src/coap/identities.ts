/**
 * CoAP client identities and their virtual MQTT clients: who a request acts as (a `clientid` with its credentials
 * or token, or else the remote address), connecting it when needed, and disconnecting it when idle.
 * @module
 */

import type { Clock } from "../clock.ts";
import type { Accept } from "../transport/connection.ts";
import type { CoapEndpoint, Reply } from "./endpoint.ts";
import { DELETE, NON, POST, PUT, RESPONSE } from "./message.ts";
import { MqttLink } from "./mqtt_link.ts";
import type { ObservedIdentity, Observers } from "./observers.ts";
import { type Peer, peerKey } from "./datagram.ts";
import { credentials, diagnostic, randomToken } from "./requests.ts";

/** One CoAP client identity. */
export interface Identity extends ObservedIdentity {
  readonly key: string;
  /** Set for clients made by `POST /mqtt/connection`: later requests must carry it. */
  readonly token?: string;
  readonly credentials: string;
  /** Resolves once connected: undefined, or the reply for a refused CONNECT. */
  ready: Promise<Reply | undefined>;
  lastUsed: number;
  /** Requests of this identity being processed (it is not idle meanwhile). */
  busy: number;
}

/** Options of {@link Identities}. */
export interface IdentitiesOptions {
  readonly accept: Accept;
  readonly listener: string;
  readonly clock: Clock;
  readonly endpoint: CoapEndpoint;
  readonly observers: Observers;
  readonly maxClients: number;
  readonly idleMs: number;
  readonly heartbeatMs: number;
  readonly receiveMaximum: number;
  readonly maxBodySize: number;
}

const text = new TextEncoder();

/** The identities of one gateway. */
export class Identities {
  readonly #o: IdentitiesOptions;
  readonly #identities = new Map<string, Identity>();
  /**
   * Identities still connecting, by key, credentials and token. One only replaces the identity of its key once the
   * broker accepted it: a request with wrong credentials for a client id must not disconnect the real client.
   */
  readonly #connecting = new Map<string, Identity>();

  constructor(options: IdentitiesOptions) {
    this.#o = options;
  }

  /** Connected identities. */
  get size(): number {
    return this.#identities.size;
  }

  /** Disconnect every virtual client. */
  close(): void {
    for (const identity of [...this.#identities.values(), ...this.#connecting.values()]) {
      identity.link.disconnect();
    }
    this.#identities.clear();
    this.#connecting.clear();
  }

  /** `/mqtt/connection`: POST connects and answers the token, PUT is a heartbeat, DELETE disconnects. */
  async connection(method: number, peer: Peer, query: Map<string, string>): Promise<Reply> {
    const clientId = query.get("clientid");
    if (clientId === undefined || clientId === "") {
      return diagnostic(RESPONSE.badRequest, "clientid is required");
    }
    const key = `id:${clientId}`;
    const existing = this.#identities.get(key);
    if (method === POST) {
      const token = randomToken();
      const identity = this.#open(key, peer, clientId, query, token);
      if (identity === undefined) return diagnostic(RESPONSE.serviceUnavailable, "too many clients");
      const failed = await identity.ready;
      return failed ?? { code: RESPONSE.created, payload: text.encode(token) };
    }
    if (existing?.token === undefined || query.get("token") !== existing.token) {
      return diagnostic(RESPONSE.unauthorized, "unknown clientid or token");
    }
    if (method === PUT) {
      existing.lastUsed = this.#o.clock.now();
      return { code: RESPONSE.changed };
    }
    if (method === DELETE) {
      this.#drop(existing);
      return { code: RESPONSE.deleted };
    }
    return { code: RESPONSE.methodNotAllowed };
  }

  /** The identity a `/ps` request acts as, connecting it first when needed; a Reply when it may not. */
  async identify(peer: Peer, query: Map<string, string>): Promise<Identity | Reply> {
    const clientId = query.get("clientid");
    const key = clientId === undefined || clientId === "" ? `peer:${peerKey(peer)}` : `id:${clientId}`;
    let identity = this.#identities.get(key);
    const token = query.get("token");
    if (identity?.token !== undefined || token !== undefined) {
      // A connection made with /mqtt/connection is used only with its token.
      if (identity?.token === undefined || token !== identity.token) {
        return diagnostic(RESPONSE.unauthorized, "unknown clientid or token");
      }
    } else if (identity === undefined || identity.credentials !== credentials(query)) {
      // New credentials for a client id connect again; the new client replaces the old one once accepted.
      identity = this.#connecting.get(`${key}\u0000${credentials(query)}\u0000`) ??
        this.#open(key, peer, clientId || `coap-${randomToken()}`, query, undefined);
      if (identity === undefined) return diagnostic(RESPONSE.serviceUnavailable, "too many clients");
    }
    const failed = await identity.ready;
    if (failed !== undefined) return failed;
    identity.link.remoteAddress = peerKey(peer);
    identity.lastUsed = this.#o.clock.now();
    return identity;
  }

  #open(
    key: string,
    peer: Peer,
    clientId: string,
    query: Map<string, string>,
    token: string | undefined,
  ): Identity | undefined {
    if (this.#identities.size + this.#connecting.size >= this.#o.maxClients) return undefined;
    const link: MqttLink = new MqttLink({
      accept: this.#o.accept,
      listener: this.#o.listener,
      remoteAddress: peerKey(peer),
      receiveMaximum: this.#o.receiveMaximum,
      maximumPacketSize: this.#o.maxBodySize + 1024,
      onMessage: (message, done) => this.#o.observers.deliver(identity, message, done),
      onClosed: () => this.#closed(identity),
    });
    const identity: Identity = {
      key,
      link,
      ...(token === undefined ? {} : { token }),
      credentials: credentials(query),
      observers: new Map(),
      filters: new Map(),
      captures: [],
      ready: Promise.resolve(undefined),
      lastUsed: this.#o.clock.now(),
      busy: 0,
    };
    const pending = `${key}\u0000${identity.credentials}\u0000${token ?? ""}`;
    this.#connecting.set(pending, identity);
    identity.ready = link.connect(clientId, query.get("username"), query.get("password")).then((code) => {
      if (this.#connecting.get(pending) === identity) this.#connecting.delete(pending);
      if (code === 0 && !link.closed) {
        const old = this.#identities.get(key);
        this.#identities.set(key, identity);
        // With the same client id the broker's session takeover already closed the old one; not otherwise.
        if (old !== undefined && old !== identity) old.link.disconnect();
        return undefined;
      }
      link.disconnect();
      // Bad user name or password, not authorized, banned: 4.01; a bad client id 4.00; busy 5.03.
      if (code === 0x85) return diagnostic(RESPONSE.badRequest, "client identifier not valid");
      if (code === 0x89 || code === 0x97 || code === 0x9f) {
        return diagnostic(RESPONSE.serviceUnavailable, "busy");
      }
      return diagnostic(RESPONSE.unauthorized, "not authorized");
    });
    return identity;
  }

  #drop(identity: Identity): void {
    if (this.#identities.get(identity.key) === identity) this.#identities.delete(identity.key);
    identity.link.disconnect();
  }

  /** The broker closed a virtual client (takeover, admin disconnect, our own DISCONNECT): end its observations. */
  #closed(identity: Identity): void {
    if (this.#identities.get(identity.key) === identity) this.#identities.delete(identity.key);
    for (const observer of [...identity.observers.values()]) {
      this.#o.observers.remove(identity, observer, "client closed");
      // A final response without Observe tells the client the observation is over [RFC 7641 3.2].
      this.#o.endpoint.send(observer.peer, {
        type: NON,
        code: RESPONSE.serviceUnavailable,
        token: observer.token,
        options: [],
        payload: new Uint8Array(),
      });
    }
  }

  /** Disconnect clients idle past their limit. */
  sweep(): void {
    const now = this.#o.clock.now();
    for (const identity of [...this.#identities.values()]) {
      if (identity.busy > 0 || identity.observers.size > 0) continue;
      const limit = identity.token === undefined ? this.#o.idleMs : this.#o.heartbeatMs;
      if (now - identity.lastUsed > limit) this.#drop(identity);
    }
  }
}
