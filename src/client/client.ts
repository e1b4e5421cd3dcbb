/**
 * One connection's protocol state machine: bytes in, packets decoded and handled in order, bytes out.
 * Packet handling lives in the handlers/ files; this file owns the connection's lifecycle.
 * @module
 */

import { MqttError } from "../errors.ts";
import type { ClientInfo } from "../hooks/hook.ts";
import { isPromise } from "../hooks/hook_chain.ts";
import type { Message } from "../message.ts";
import { PacketDecoder } from "../packets/decoder.ts";
import { encodePacket } from "../packets/encoder.ts";
import { RC } from "../packets/reason_codes.ts";
import type { Packet, ProtocolVersion } from "../packets/types.ts";
import type { Session, SessionOutlet } from "../session/session.ts";
import type { AcceptInfo, Connection, ConnectionHandler } from "../transport/connection.ts";
import type { BrokerCore } from "./broker_core.ts";
import { handleConnect } from "./handlers/connect.ts";
import { handleAck, handlePublish, handlePubrel } from "./handlers/publish.ts";
import { handleSubscribe, handleUnsubscribe } from "./handlers/subscribe.ts";

/** Where a client is in its life. */
export type ClientState = "new" | "connecting" | "connected" | "closed";

/** A client as hooks and the API see it, with the broker's mutable view of it. */
export class Client implements ConnectionHandler, SessionOutlet, ClientInfo {
  readonly broker: BrokerCore;
  readonly connection: Connection;
  readonly remoteAddress: string;
  readonly listener: string;
  readonly certificateCommonName?: string;
  /** When the socket was accepted (ms). */
  readonly acceptedAt: number;

  id = "";
  username: string | undefined;
  protocolVersion: ProtocolVersion = 4;
  state: ClientState = "new";
  /** Negotiated keep-alive in seconds, 0 for none. */
  keepAlive = 0;
  /** Last time any bytes arrived (ms). */
  lastActivity: number;
  /** When CONNACK was sent (ms). */
  connectedAt = 0;
  /** The session while connected. Cleared on takeover so the old connection no longer touches it. */
  session: Session | undefined;
  /** The will to publish if the connection ends without DISCONNECT [MQTT-3.1.2-8]. */
  will: Message | undefined;
  congested = false;

  readonly decoder: PacketDecoder;
  #busy = false;
  #finished = false;

  constructor(broker: BrokerCore, connection: Connection, info: AcceptInfo) {
    this.broker = broker;
    this.connection = connection;
    this.remoteAddress = connection.remoteAddress;
    this.listener = info.listener;
    this.certificateCommonName = info.certificateCommonName;
    this.acceptedAt = this.lastActivity = broker.clock.now();
    this.decoder = new PacketDecoder({ maxPacketSize: broker.limits.maxPacketSize });
  }

  // ---- ConnectionHandler -------------------------------------------------------------------------------

  data(bytes: Uint8Array): void {
    if (this.state === "closed") return;
    this.lastActivity = this.broker.clock.now();
    this.broker.stats.bytesReceived += bytes.byteLength;
    this.decoder.push(bytes);
    if (!this.#busy) this.#pump();
  }

  drain(): void {
    this.congested = false;
    this.session?.pump();
  }

  closed(error?: Error): void {
    this.#finish(false, error);
  }

  // ---- SessionOutlet -----------------------------------------------------------------------------------

  send(bytes: Uint8Array): void {
    if (this.state === "closed") return;
    const stats = this.broker.stats;
    stats.bytesSent += bytes.byteLength;
    if (bytes[0]! >> 4 === 3) stats.messagesSent++;
    if (!this.connection.write(bytes)) this.congested = true;
  }

  /** Encode and send a control packet in this client's protocol version. */
  sendPacket(packet: Packet): void {
    this.send(encodePacket(packet, this.protocolVersion));
  }

  // ---- lifecycle ---------------------------------------------------------------------------------------

  /**
   * Close the connection because of a protocol violation or malformed input: v5 clients get a DISCONNECT
   * with the reason code first; v3 connections are just closed [MQTT-4.8.0-1].
   */
  fail(error: unknown): void {
    if (this.state === "closed") return;
    const err = error instanceof Error ? error : new Error(String(error));
    const code = err instanceof MqttError ? err.reasonCode : RC.unspecifiedError;
    const stats = this.broker.stats;
    if (err instanceof MqttError) stats.protocolErrors++;
    this.broker.logger.warn("client closed for bad input", {
      clientId: this.id || undefined,
      remote: this.remoteAddress,
      reason: err.message,
      code: `0x${code.toString(16)}`,
    });
    this.broker.hooks.notify("onError", this.state === "connected" ? this : undefined, err);
    if (this.state === "connected" && this.protocolVersion === 5 && code >= 0x80) {
      this.sendPacket({ type: "disconnect", reasonCode: code });
    }
    this.close(false, err);
  }

  /** Close the connection (flushing what was written); graceful closes publish no will. */
  close(graceful: boolean, error?: Error): void {
    this.#finish(graceful, error);
    this.connection.end();
  }

  /** Housekeeping: connect timeout and keep-alive [MQTT-3.1.2-24]. */
  sweep(now: number): void {
    if (this.state === "new" || this.state === "connecting") {
      if (now - this.acceptedAt > this.broker.limits.connectTimeout * 1000) {
        this.broker.logger.debug("connect timeout", { remote: this.remoteAddress });
        this.close(false, new Error("no CONNECT within the connect timeout"));
      }
      return;
    }
    if (this.state === "connected" && this.keepAlive > 0 && now - this.lastActivity > this.keepAlive * 1500) {
      if (this.protocolVersion === 5) {
        this.sendPacket({ type: "disconnect", reasonCode: RC.keepAliveTimeout });
      }
      this.close(false, new Error("keep-alive timeout"));
    }
  }

  #finish(graceful: boolean, error: Error | undefined): void {
    if (this.#finished) return;
    this.#finished = true;
    this.state = "closed";
    this.broker.clientClosed(this, graceful, error);
  }

  // ---- packet loop -------------------------------------------------------------------------------------

  #pump(): void {
    while (!this.#busy && this.state !== "closed") {
      let packet: Packet | null;
      try {
        packet = this.decoder.next();
      } catch (err) {
        this.#badInput(err);
        return;
      }
      if (packet === null) return;
      let pending: void | Promise<void>;
      try {
        pending = this.#dispatch(packet);
      } catch (err) {
        this.fail(err);
        return;
      }
      if (isPromise(pending)) {
        this.#busy = true;
        pending.then(
          () => {
            this.#busy = false;
            this.#pump();
          },
          (err) => {
            this.#busy = false;
            this.fail(err);
          },
        );
        return;
      }
    }
  }

  #badInput(err: unknown): void {
    if (
      this.state === "new" && err instanceof MqttError && err.reasonCode === RC.unsupportedProtocolVersion
    ) {
      // Unsupported protocol level: CONNACK 0x01, then close [MQTT-3.1.2-2].
      this.broker.stats.connectsRefused++;
      this.send(encodePacket({ type: "connack", sessionPresent: false, reasonCode: 1 }, 4));
      this.broker.logger.info("connection refused", { remote: this.remoteAddress, reason: err.message });
      this.close(false, err);
      return;
    }
    this.fail(err);
  }

  #dispatch(packet: Packet): void | Promise<void> {
    if (this.state === "new") {
      // The first packet must be CONNECT [MQTT-3.1.0-1].
      if (packet.type !== "connect") {
        throw new MqttError(
          RC.protocolError,
          `Expected CONNECT as the first packet, received ${packet.type}`,
        );
      }
      return handleConnect(this, packet);
    }
    switch (packet.type) {
      case "publish":
        return handlePublish(this, packet);
      case "puback":
      case "pubrec":
      case "pubcomp":
        return handleAck(this, packet);
      case "pubrel":
        return handlePubrel(this, packet);
      case "subscribe":
        return handleSubscribe(this, packet);
      case "unsubscribe":
        return handleUnsubscribe(this, packet);
      case "pingreq":
        // [MQTT-3.12.4-1]
        this.sendPacket({ type: "pingresp" });
        return;
      case "disconnect":
        // The will is discarded, never published [MQTT-3.14.4-3] [MQTT-3.1.2-10].
        this.will = undefined;
        this.close(true);
        return;
      case "connect":
        // A second CONNECT is a protocol violation [MQTT-3.1.0-2].
        throw new MqttError(RC.protocolError, "Cannot accept a second CONNECT on one connection");
      default:
        throw new MqttError(RC.protocolError, `Cannot accept a ${packet.type} packet from a client`);
    }
  }
}
