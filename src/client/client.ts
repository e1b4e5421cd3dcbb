/**
 * One connection's protocol state machine: bytes in, packets decoded and handled in order, bytes out.
 * Packet handling lives in the handlers/ files; this file owns the connection's lifecycle.
 * @module
 */

import { MqttError } from "../errors.ts";
import { isPromise } from "../hooks/hook_chain.ts";
import type { Message } from "../message.ts";
import { PacketDecoder } from "../packets/decoder.ts";
import { encodePacket } from "../packets/encoder.ts";
import { disconnectCode, RC } from "../packets/reason_codes.ts";
import type { DisconnectPacket, Packet, ProtocolVersion } from "../packets/types.ts";
import type { Delivery, PreparedPublish, Session, SessionOutlet } from "../session/session.ts";
import { outboundProperties, type PublishForms } from "../session/publish_forms.ts";
import { encodePublish } from "../packets/encoder.ts";
import type { AcceptInfo, Connection, ConnectionHandler } from "../transport/connection.ts";
import type { BrokerCore, ClientContext, ClientState } from "./broker_core.ts";
import { handleAuth, startEnhancedAuth } from "./handlers/auth.ts";
import { handleConnect } from "./handlers/connect.ts";
import { handleAck, handlePublish, handlePubrel } from "./handlers/publish.ts";
import { handleSubscribe, handleUnsubscribe } from "./handlers/subscribe.ts";

export type { ClientState } from "./broker_core.ts";

/** A client as hooks and the API see it, with the broker's mutable view of it. */
export class Client implements ConnectionHandler, SessionOutlet, ClientContext {
  readonly broker: BrokerCore;
  readonly connection: Connection;
  readonly remoteAddress: string;
  readonly listener: string;
  readonly certificateCommonName?: string;
  /** The listener names the user after the certificate (AcceptInfo.useIdentityAsUsername). */
  readonly useIdentityAsUsername: boolean;
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
  /** Outbound window (SessionOutlet): broker maxInflight, lowered to the client's v5 Receive Maximum. */
  sendQuota: number;
  /** v5: the largest packet the client accepts (Maximum Packet Size), 0 for no limit. */
  maxPacketSizeOut = 0;
  /** v5: Topic Alias Maximum the client accepts from the broker; 0 sends none [MQTT-3.1.2-27]. */
  topicAliasMaximumOut = 0;
  /** v5: Request Problem Information (reason strings only on CONNACK, PUBLISH, DISCONNECT when false). */
  problemInformation = true;
  /** v5: Session Expiry Interval asked for in CONNECT (for the DISCONNECT rule of 3.14.2.2.2). */
  connectSessionExpiry = 0;
  /** v5: the authentication method of CONNECT, when enhanced authentication is used. */
  authenticationMethod: string | undefined;
  /** v5: inbound topic aliases of this connection (never carried to the next one [MQTT-3.3.2-7]). */
  aliasesIn: Map<number, string> | undefined;
  /** v5: outbound topic aliases the broker set up on this connection. */
  aliasesOut: Map<string, number> | undefined;

  readonly decoder: PacketDecoder;
  #busy = false;
  /** Acknowledgements waiting for storage, in order. */
  #acks: Promise<void> | undefined;
  /** How many acknowledgements wait in {@link #acks}. */
  #acksWaiting = 0;
  /** True while the broker does not read this client because storage is behind. */
  #storageWait = false;
  #finished = false;
  /**
   * Bytes that arrived while the CONNECT was being authenticated: held undecoded (nothing more is read from a
   * client before it is let in), at most maxPacketSize of them.
   */
  #held: Uint8Array[] | undefined;
  #heldBytes = 0;

  constructor(broker: BrokerCore, connection: Connection, info: AcceptInfo) {
    this.broker = broker;
    this.connection = connection;
    this.remoteAddress = connection.remoteAddress;
    this.listener = info.listener;
    this.certificateCommonName = info.certificateCommonName;
    this.useIdentityAsUsername = info.useIdentityAsUsername === true;
    this.acceptedAt = this.lastActivity = broker.clock.now();
    this.decoder = new PacketDecoder({
      maxPacketSize: broker.limits.maxPacketSize,
      awaitingRelease: (packetId) => this.session !== undefined && this.session.hasIncoming(packetId),
    });
    this.sendQuota = broker.limits.maxInflight;
  }

  // ---- ConnectionHandler -------------------------------------------------------------------------------

  data(bytes: Uint8Array): void {
    if (this.state === "closed") return;
    this.lastActivity = this.broker.clock.now();
    this.broker.stats.bytesReceived += bytes.byteLength;
    if (this.#held !== undefined) {
      this.#hold(bytes);
      return;
    }
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
    const b0 = bytes[0]!;
    if (b0 >> 4 === 3) {
      stats.messagesSent++;
      stats.messagesSentByQos[(b0 >> 1) & 3]!++;
    }
    if (!this.connection.write(bytes)) this.congested = true;
  }

  /** Encode and send a control packet in this client's protocol version. */
  sendPacket(packet: Packet): void {
    if (!this.problemInformation && packet.type !== "connack" && packet.type !== "disconnect") {
      // Request Problem Information 0: no Reason String or User Properties on anything but PUBLISH, CONNACK and
      // DISCONNECT [MQTT-3.1.2-29] (5.0). PUBLISH does not come through here.
      packet = withoutProblemInformation(packet);
    }
    let bytes = encodePacket(packet, this.protocolVersion);
    if (this.maxPacketSizeOut > 0 && bytes.byteLength > this.maxPacketSizeOut && "properties" in packet) {
      // Reason String and User Properties are left out when they would exceed the client's Maximum Packet Size
      // [MQTT-3.2.2-19] [MQTT-3.2.2-20] [MQTT-3.1.2-24] (5.0).
      const { reasonString: _r, userProperties: _u, ...rest } = (packet.properties ?? {}) as Record<
        string,
        unknown
      >;
      bytes = encodePacket({ ...packet, properties: rest } as Packet, this.protocolVersion);
    }
    this.send(bytes);
  }

  /**
   * Send an acknowledgement once what it confirms is durable (when the broker has storage), keeping
   * acknowledgements in the order their packets arrived.
   */
  acknowledgeWhenDurable(send: () => void): void {
    const durable = this.broker.durability();
    if (durable === undefined && this.#acks === undefined) {
      send();
      return;
    }
    this.#acksWaiting++;
    const next: Promise<void> = (this.#acks ?? Promise.resolve()).then(() => durable).then(() => {
      this.#acksWaiting--;
      if (this.#acks === next) this.#acks = undefined;
      if (this.state !== "closed") send();
    }, (err) => this.fail(err));
    this.#acks = next;
  }

  sendPubrel(packetId: number): void {
    this.sendPacket({ type: "pubrel", packetId });
  }

  preparePublish(
    delivery: Delivery,
    dup: boolean,
    forms: PublishForms | undefined,
  ): PreparedPublish | undefined {
    const v5 = this.protocolVersion === 5;
    const { message, qos, retain } = delivery;
    let prepared: PreparedPublish;
    let alias: number | undefined;
    let newAlias = false;
    if (v5 && this.topicAliasMaximumOut > 0) {
      const aliases = this.aliasesOut ??= new Map();
      alias = aliases.get(message.topic);
      if (alias === undefined && aliases.size < this.topicAliasMaximumOut) {
        // Aliases stay within the client's Topic Alias Maximum and are never 0 [MQTT-3.3.2-11] [MQTT-3.3.2-8].
        alias = aliases.size + 1;
        newAlias = true;
      }
    }
    if (!dup && forms !== undefined && delivery.subscriptionIds === undefined && alias === undefined) {
      const form = forms.form(v5, qos, retain);
      prepared = { bytes: form.bytes, packetIdOffset: form.packetIdOffset, shared: true };
    } else {
      const properties = v5
        ? outboundProperties(message, this.broker.clock.now(), delivery.subscriptionIds)
        : undefined;
      const form = encodePublish({
        type: "publish",
        // A known alias replaces the topic with an empty string; a new one is sent with the topic.
        topic: alias !== undefined && !newAlias ? "" : message.topic,
        payload: message.payload,
        qos,
        retain,
        dup,
        properties: alias === undefined ? properties : { ...properties, topicAlias: alias },
      }, this.protocolVersion);
      prepared = { bytes: form.bytes, packetIdOffset: form.packetIdOffset, shared: false };
    }
    if (this.maxPacketSizeOut > 0 && prepared.bytes.byteLength > this.maxPacketSizeOut) return undefined;
    if (newAlias) this.aliasesOut!.set(message.topic, alias!);
    return prepared;
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
    if (this.state === "connected" && this.protocolVersion === 5) {
      this.sendPacket({ type: "disconnect", reasonCode: disconnectCode(code, RC.unspecifiedError) });
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
    // A client the broker stopped reading (storage behind) is not blamed for the silence.
    if (this.#storageWait) {
      this.lastActivity = now;
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
      if (this.#acks !== undefined || this.broker.storageBehind) {
        // Storage is behind: stop reading this client until it catches up, so neither the write-behind nor the
        // chain of acknowledgements grows without bound; the socket's receive window slows the publisher.
        // Publishers are what make it grow: a client that only pings or acknowledges goes on being read.
        if (
          (this.broker.storageBehind && packet.type === "publish") ||
          this.#acksWaiting >= this.broker.maxPendingAcks
        ) {
          this.#waitForStorage(pending);
          return;
        }
      }
      if (isPromise(pending)) {
        this.#busy = true;
        if (this.state === "connecting") this.#held ??= [];
        pending.then(
          () => {
            this.#busy = false;
            if (this.#held !== undefined) this.#release();
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

  /** Pause reading until the packet in hand is handled and storage has caught up, then go on. */
  #waitForStorage(pending: void | Promise<void>): void {
    this.#busy = true;
    this.#storageWait = true;
    this.connection.pause?.();
    const caughtUp = async () => {
      await pending;
      while (this.state !== "closed") {
        if (this.broker.storageBehind) await this.broker.storageCaughtUp();
        else if (this.#acksWaiting >= this.broker.maxPendingAcks) await this.#acks;
        else break;
      }
    };
    caughtUp().then(
      () => {
        this.#busy = false;
        this.#storageWait = false;
        this.connection.resume?.();
        this.#pump();
      },
      (err) => {
        this.#busy = false;
        this.#storageWait = false;
        this.fail(err);
      },
    );
  }

  /** Keep bytes that arrive while CONNECT is authenticated, undecoded and bounded by maxPacketSize. */
  #hold(bytes: Uint8Array): void {
    this.#heldBytes += bytes.byteLength;
    if (this.#heldBytes > this.broker.limits.maxPacketSize) {
      this.broker.logger.info("connection closed: too much sent before CONNACK", {
        remote: this.remoteAddress,
        bytes: this.#heldBytes,
      });
      this.#held = undefined;
      this.close(false, new Error("more than maxPacketSize bytes sent while CONNECT was authenticated"));
      return;
    }
    this.#held!.push(bytes.slice());
  }

  /** CONNECT is answered: decode what was held back. */
  #release(): void {
    const held = this.#held!;
    this.#held = undefined;
    this.#heldBytes = 0;
    for (const chunk of held) this.decoder.push(chunk);
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
      return handleConnect(this, packet, startEnhancedAuth);
    }
    if (this.state === "connecting") {
      // During enhanced authentication only AUTH and DISCONNECT may come before CONNACK [MQTT-3.1.2-30] (5.0).
      if (packet.type === "auth") return handleAuth(this, packet);
      if (packet.type === "disconnect") return this.#disconnect(packet);
      throw new MqttError(RC.protocolError, `Cannot accept ${packet.type} before CONNACK`);
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
        return this.#disconnect(packet);
      case "auth":
        if (this.protocolVersion === 5) return handleAuth(this, packet);
        throw new MqttError(RC.protocolError, "Cannot accept AUTH from a 3.1.1 client");
      case "connect":
        // A second CONNECT is a protocol violation [MQTT-3.1.0-2].
        throw new MqttError(RC.protocolError, "Cannot accept a second CONNECT on one connection");
      default:
        throw new MqttError(RC.protocolError, `Cannot accept a ${packet.type} packet from a client`);
    }
  }

  #disconnect(packet: DisconnectPacket): void {
    const expiry = packet.properties?.sessionExpiryInterval;
    if (expiry !== undefined && this.session !== undefined) {
      // A Session Expiry Interval of 0 in CONNECT cannot be raised on DISCONNECT (5.0 section 3.14.2.2.2).
      if (this.connectSessionExpiry === 0 && expiry !== 0) {
        throw new MqttError(
          RC.protocolError,
          "Cannot set a session expiry on DISCONNECT after CONNECT set 0",
        );
      }
      this.session.expiryInterval = Math.min(expiry, this.broker.limits.maxSessionExpiryInterval);
    }
    if (packet.reasonCode === RC.disconnectWithWill) {
      // v5 0x04: disconnect normally but publish the will.
      this.close(false);
      return;
    }
    // The will is discarded, never published [MQTT-3.14.4-3] [MQTT-3.1.2-10].
    this.will = undefined;
    this.close(true);
  }
}

/** `packet` without a Reason String and User Properties (the same object when it has neither). */
function withoutProblemInformation(packet: Packet): Packet {
  const properties = (packet as { properties?: Record<string, unknown> }).properties;
  if (
    properties === undefined ||
    (properties.reasonString === undefined && properties.userProperties === undefined)
  ) {
    return packet;
  }
  const { reasonString: _r, userProperties: _u, ...rest } = properties;
  return { ...packet, properties: rest } as Packet;
}
