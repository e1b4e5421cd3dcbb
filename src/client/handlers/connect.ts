/**
 * CONNECT: client identifier rules, keep-alive bounds, authentication, session establishment, CONNACK.
 * @module
 */

import { MqttError } from "../../errors.ts";
import { isPromise } from "../../hooks/hook_chain.ts";
import { CONNACK_V3, connackCodeV3, RC } from "../../packets/reason_codes.ts";
import type { ConnectPacket } from "../../packets/types.ts";
import { checkTopicName } from "../../topics/topic_rules.ts";
import type { Client } from "../client.ts";

const encoder = new TextEncoder();

/** Handle the first packet of a connection. */
export function handleConnect(client: Client, packet: ConnectPacket): void | Promise<void> {
  const broker = client.broker;
  const limits = broker.limits;
  client.protocolVersion = packet.protocolVersion;
  client.decoder.protocolVersion = packet.protocolVersion;
  client.username = packet.username;
  client.state = "connecting";

  let clientId = packet.clientId;
  if (clientId === "") {
    // A zero-length id needs Clean Session in 3.1.1 [MQTT-3.1.3-8]; otherwise the server assigns one [MQTT-3.1.3-6].
    if (!packet.clean && packet.protocolVersion < 5) {
      return refuse(client, RC.clientIdentifierNotValid, "an empty client id needs clean session");
    }
    clientId = broker.generateClientId();
  }
  client.id = clientId;
  if (encoder.encode(clientId).byteLength > limits.maxClientIdLength) {
    return refuse(client, RC.clientIdentifierNotValid, "client id longer than maxClientIdLength");
  }
  if (packet.keepalive > limits.maxKeepAlive && packet.protocolVersion < 5) {
    // A 3.1/3.1.1 client cannot be told a lower keep-alive, so it is refused (as Mosquitto does).
    return refuse(client, RC.clientIdentifierNotValid, `keep-alive ${packet.keepalive} s above maxKeepAlive`);
  }
  if (packet.will) {
    // The will topic is a topic name: no wildcards, valid UTF-8 [MQTT-3.1.3-10] [MQTT-4.7.1-1].
    const problem = checkTopicName(packet.will.topic, limits);
    if (problem !== undefined) throw new MqttError(RC.topicNameInvalid, `Cannot accept the will: ${problem}`);
  }
  if (limits.maxConnections > 0 && broker.connectedCount() >= limits.maxConnections) {
    return refuse(client, RC.serverBusy, "maxConnections reached");
  }

  const allowed = broker.hooks.authenticate(client, packet);
  if (isPromise(allowed)) return allowed.then((ok) => afterAuthentication(client, packet, ok));
  return afterAuthentication(client, packet, allowed);
}

function afterAuthentication(client: Client, packet: ConnectPacket, allowed: boolean): void | Promise<void> {
  if (client.state === "closed") return;
  if (!allowed) {
    const credentials = packet.username !== undefined || packet.password !== undefined;
    return refuse(
      client,
      credentials ? RC.badUserNameOrPassword : RC.notAuthorized,
      credentials ? "bad user name or password" : "not authorized",
    );
  }
  let checked: void | Promise<void>;
  try {
    checked = client.broker.hooks.connect(client, packet);
  } catch (err) {
    return refuseByHook(client, err);
  }
  if (isPromise(checked)) {
    return checked.then(() => establish(client, packet), (err) => refuseByHook(client, err));
  }
  establish(client, packet);
}

function refuseByHook(client: Client, err: unknown): void {
  if (client.state === "closed") return;
  const code = err instanceof MqttError ? err.reasonCode : RC.serverUnavailable;
  refuse(client, code, err instanceof Error ? err.message : String(err));
}

function establish(client: Client, packet: ConnectPacket): void {
  if (client.state === "closed") return;
  const broker = client.broker;
  const { session, present } = broker.establish(client, packet.clean);
  client.session = session;
  client.keepAlive = packet.keepalive;
  if (packet.will) {
    client.will = {
      topic: packet.will.topic,
      payload: packet.will.payload,
      qos: packet.will.qos,
      retain: packet.will.retain,
      properties: packet.will.properties,
      origin: client.id,
      receivedAt: broker.clock.now(),
    };
  }
  client.state = "connected";
  client.connectedAt = broker.clock.now();
  // CONNACK is the first packet the server sends [MQTT-3.2.0-1]; Session Present as 3.2.2-1..3 say.
  client.sendPacket({ type: "connack", sessionPresent: present, reasonCode: RC.success });
  broker.logger.info("client connected", {
    clientId: client.id,
    remote: client.remoteAddress,
    listener: client.listener,
    protocol: client.protocolVersion,
    clean: packet.clean,
    keepAlive: packet.keepalive,
    username: client.username,
  });
  // Re-send what was in flight, then what was queued [MQTT-4.4.0-1].
  session.attach(client);
  broker.hooks.notify("onConnected", client, { sessionPresent: present });
}

/**
 * Refuse the connection: CONNACK with the code (v3 codes mapped; Session Present 0 [MQTT-3.2.2-4]) and close
 * [MQTT-3.2.2-5]; with no v3 code that fits, close without CONNACK [MQTT-3.2.2-6]. Nothing sent after it is
 * acted on [MQTT-3.1.4-5].
 */
function refuse(client: Client, reasonCode: number, reason: string): void {
  const broker = client.broker;
  broker.stats.connectsRefused++;
  broker.logger.info("connection refused", {
    clientId: client.id || undefined,
    remote: client.remoteAddress,
    reason,
    code: `0x${reasonCode.toString(16)}`,
  });
  if (client.protocolVersion === 5) {
    client.sendPacket({
      type: "connack",
      sessionPresent: false,
      reasonCode,
      properties: { reasonString: reason },
    });
  } else {
    const code = connackCodeV3(reasonCode);
    if (code !== undefined && code !== CONNACK_V3.accepted) {
      client.sendPacket({ type: "connack", sessionPresent: false, reasonCode: code });
    }
  }
  client.close(false, new MqttError(reasonCode, reason));
}
