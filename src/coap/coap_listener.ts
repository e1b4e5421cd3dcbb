/**
 * The CoAP listener: a {@link Listener} over a UDP socket (bound through the {@link BindDatagram} an adapter
 * gives), so the broker starts, lists and stops it like its TCP and WebSocket listeners.
 *
 * @example
 * ```ts
 * import { AllowHook, Broker, createCoapListener } from "@comqtt/broker";
 *
 * const broker = new Broker({ hooks: [new AllowHook()] });
 * await broker.addListener(createCoapListener({ host: "0.0.0.0", port: 5683 }));
 * ```
 * @module
 */

import { type Clock, systemClock } from "../clock.ts";
import { type Logger, silentLogger } from "../logger.ts";
import type { Accept, Listener } from "../transport/connection.ts";
import type { Limits } from "../options.ts";
import type { BindDatagram, DatagramSocket } from "./datagram.ts";
import { CoapEndpoint, type EndpointOptions } from "./endpoint.ts";
import { CoapGateway, type GatewayOptions } from "./gateway.ts";

/** The CoAP port [RFC 7252 6.1]. */
export const DEFAULT_COAP_PORT = 5683;

/** Options of {@link CoapListener}. */
export interface CoapListenerOptions {
  /** Binds the UDP socket (adapters/coap.ts gives node:dgram's). */
  readonly bind: BindDatagram;
  /** Default `coap`. */
  readonly id?: string;
  /** Default `0.0.0.0`. */
  readonly host?: string;
  /** Default 5683; 0 picks a free port. */
  readonly port?: number;
  /** Time source. Default the system clock. */
  readonly clock?: Clock;
  /** Where the listener logs. Default silent. */
  readonly logger?: Logger;
  /** Jitter of the retransmission back-off; tests pass a seeded one. */
  readonly random?: () => number;
  /** Most CoAP clients (virtual MQTT clients) at once; 0 or undefined for the default 10 000. */
  readonly maxConnections?: number;
  /** The broker's limits, so that publishes it would refuse are answered 4.13 or 4.00 (see {@link GatewayOptions}). */
  readonly limits?: Partial<Limits>;
  /** Message-layer tuning (timeouts, bounds); see {@link EndpointOptions}. */
  readonly endpoint?: Partial<Omit<EndpointOptions, "send" | "clock" | "random">>;
  /** Gateway tuning (idle times, body size, observers); see {@link GatewayOptions}. */
  readonly gateway?: Partial<Omit<GatewayOptions, "accept" | "listener" | "endpoint" | "clock" | "logger">>;
}

/** A CoAP gateway listening on UDP. */
export class CoapListener implements Listener {
  readonly id: string;
  readonly protocol = "coap";
  #host: string;
  #port: number;
  #o: CoapListenerOptions;
  #socket: DatagramSocket | undefined;
  #endpoint: CoapEndpoint | undefined;
  #gateway: CoapGateway | undefined;

  /** A listener that binds its UDP socket in `listen()`; throws a RangeError for a port outside 0..65535. */
  constructor(options: CoapListenerOptions) {
    this.#o = options;
    this.id = options.id ?? "coap";
    this.#host = options.host ?? "0.0.0.0";
    this.#port = options.port ?? DEFAULT_COAP_PORT;
    if (!Number.isInteger(this.#port) || this.#port < 0 || this.#port > 65535) {
      throw new RangeError(`Cannot create CoAP listener "${this.id}": port ${this.#port} is not 0..65535`);
    }
  }

  get address(): string {
    return this.#host.includes(":") ? `[${this.#host}]:${this.#port}` : `${this.#host}:${this.#port}`;
  }

  get port(): number {
    return this.#port;
  }

  /**
   * The endpoint's counters (received, malformed, duplicates, retransmissions, timeouts), once listening.
   * Typed through the internal `CoapEndpoint`, so left out of the generated docs.
   * @ignore
   */
  get stats(): CoapEndpoint["stats"] | undefined {
    return this.#endpoint?.stats;
  }

  /** Virtual clients open now. */
  get clientCount(): number {
    return this.#gateway?.clientCount ?? 0;
  }

  async listen(accept: Accept): Promise<void> {
    if (this.#socket !== undefined) {
      throw new Error(`Cannot listen: CoAP listener "${this.id}" already listens`);
    }
    const o = this.#o;
    const clock = o.clock ?? systemClock;
    const logger = o.logger ?? silentLogger;
    let socket: DatagramSocket | undefined;
    const endpoint = new CoapEndpoint({
      ...o.endpoint,
      clock,
      ...(o.random === undefined ? {} : { random: o.random }),
      send: (bytes, peer) => socket?.send(bytes, peer),
    });
    const gateway = new CoapGateway({
      ...o.gateway,
      ...(o.maxConnections ? { maxClients: o.maxConnections } : {}),
      ...(o.limits === undefined ? {} : { limits: o.limits }),
      accept,
      listener: this.id,
      endpoint,
      clock,
      logger,
    });
    endpoint.onRequest = (request, exchange) => gateway.handle(request, exchange);
    try {
      socket = await o.bind(
        { host: this.#host, port: this.#port },
        (bytes, peer) => endpoint.receive(bytes, peer),
      );
    } catch (err) {
      gateway.close();
      endpoint.close();
      throw err;
    }
    this.#socket = socket;
    this.#endpoint = endpoint;
    this.#gateway = gateway;
    this.#port = socket.port;
  }

  async close(): Promise<void> {
    const socket = this.#socket;
    if (socket === undefined) return;
    this.#socket = undefined;
    this.#gateway?.close();
    this.#endpoint?.close();
    await socket.close();
  }
}
