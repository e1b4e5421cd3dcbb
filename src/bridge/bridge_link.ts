/**
 * The contract between a bridge (src/bridge/bridge.ts) and the MQTT client that talks to the remote broker.
 * The core stays runtime-free: adapters/bridge/mqtt_link.ts fills this in with MQTT.js; tests may use a fake.
 * @module
 */

import type { PublishProperties, QoS } from "../packets/types.ts";

/** A message to or from the remote broker. */
export interface LinkMessage {
  /** Topic name. */
  topic: string;
  /** Application payload bytes. */
  payload: Uint8Array;
  /** QoS to send or received with. */
  qos: QoS;
  /** Retain flag. */
  retain: boolean;
  /** v5 remotes only. */
  properties?: PublishProperties;
}

/** One remote subscription. */
export interface LinkSubscription {
  /** Remote topic filter. */
  filter: string;
  /** Maximum QoS asked for. */
  qos: QoS;
  /** v5 No Local: the remote does not send back what this connection published (loop prevention). */
  noLocal: boolean;
}

/** What the link tells the bridge. */
export interface LinkHandlers {
  /**
   * A message arrived. The link acknowledges it to the remote (PUBACK / PUBREC) only when the returned promise
   * resolves, i.e. once the local broker took it (durably, with storage).
   */
  message(message: LinkMessage): Promise<void>;
  /** The connection ended (after a successful connect); `error` when it was not asked for. */
  closed(error?: Error): void;
}

/** One established connection to the remote broker. */
export interface BridgeLink {
  /**
   * Send a message. QoS 1 resolves on PUBACK, QoS 2 on PUBCOMP (or a PUBREC that refuses it), QoS 0 once
   * written, with the remote's reason code (0 for 3.1.1; 0x80 and above: the remote refused the message).
   * Rejects when the connection goes first: the bridge sends it again on the next one.
   */
  publish(message: LinkMessage): Promise<number>;
  /** Subscribe to the remote filters; resolves once the remote answered SUBACK. */
  subscribe(subscriptions: readonly LinkSubscription[]): Promise<void>;
  /** Close the connection; `closed` is not called for it. */
  close(): Promise<void>;
}

/**
 * Open a connection to the remote broker (one attempt: the bridge does the retrying). Rejects with an error that
 * says why (refused, unreachable, TLS) when no session could be established.
 */
export type BridgeConnector = (handlers: LinkHandlers) => Promise<BridgeLink>;
