/**
 * CONNECT: client identifier rules, keep-alive bounds, v5 connection properties, authentication (plain and
 * enhanced), session establishment, CONNACK.
 * @module
 */

import { MqttError } from "../../errors.ts";
import { isPromise } from "../../hooks/hook_chain.ts";
import { CONNACK_REASON_CODES, CONNACK_V3, connackCodeV3, RC } from "../../packets/reason_codes.ts";
import type { ConnackPacket, ConnectPacket } from "../../packets/types.ts";
import { checkTopicName } from "../../topics/topic_rules.ts";
import type { ClientContext as Client } from "../broker_core.ts";
import { checkPublishProperties } from "./publish.ts";

const encoder = new TextEncoder();

/** What CONNECT decided before CONNACK, kept while enhanced authentication runs. */
export interface PendingConnect {
  readonly packet: ConnectPacket;
  readonly assignedClientId?: string;
  readonly serverKeepAlive?: number;
  readonly sessionExpiryInterval: number;
  readonly sessionExpiryCapped: boolean;
}

/** How CONNECT hands over to v5 enhanced authentication (handlers/auth.ts, which calls back into this file). */
export type EnhancedAuthStart = (
  client: Client,
  pending: PendingConnect,
  method: string,
  data: Uint8Array | undefined,
) => Promise<void>;

/** Handle the first packet of a connection. */
export function handleConnect(
  client: Client,
  packet: ConnectPacket,
  startEnhancedAuth: EnhancedAuthStart,
): void | Promise<void> {
  const broker = client.broker;
  const limits = broker.limits;
  const caps = broker.capabilities;
  const v5 = packet.protocolVersion === 5;
  const props = packet.properties;
  client.protocolVersion = packet.protocolVersion;
  client.decoder.protocolVersion = packet.protocolVersion;
  // A listener with useIdentityAsUsername names the user after the verified certificate, not the CONNECT.
  client.username = client.useIdentityAsUsername ? client.certificateCommonName : packet.username;
  client.state = "connecting";
  if (v5) {
    // Known before any answer, so that even a refusal respects the client's Maximum Packet Size.
    client.connectSessionExpiry = props?.sessionExpiryInterval ?? 0;
    client.sendQuota = Math.min(limits.maxInflight, props?.receiveMaximum ?? 65_535);
    client.maxPacketSizeOut = props?.maximumPacketSize ?? 0;
    client.topicAliasMaximumOut = props?.topicAliasMaximum ?? 0;
    client.problemInformation = props?.requestProblemInformation ?? true;
  }

  let clientId = packet.clientId;
  let assignedClientId: string | undefined;
  if (clientId === "") {
    // A zero-length id needs Clean Session in 3.1.1 [MQTT-3.1.3-8]; otherwise the server assigns one
    // [MQTT-3.1.3-6], returned to a v5 client as Assigned Client Identifier [MQTT-3.1.3-7] [MQTT-3.2.2-16].
    if (!packet.clean && !v5) {
      return refuse(client, RC.clientIdentifierNotValid, "an empty client id needs clean session");
    }
    clientId = assignedClientId = broker.generateClientId();
  }
  client.id = clientId;
  if (encoder.encode(clientId).byteLength > limits.maxClientIdLength) {
    return refuse(client, RC.clientIdentifierNotValid, "client id longer than maxClientIdLength");
  }
  let serverKeepAlive: number | undefined;
  if (
    packet.keepalive > limits.maxKeepAlive || (v5 && packet.keepalive === 0 && limits.maxKeepAlive < 65_535)
  ) {
    // A 3.1/3.1.1 client cannot be told a lower keep-alive, so it is refused (as Mosquitto does);
    // a v5 client gets Server Keep Alive.
    if (!v5) {
      return refuse(
        client,
        RC.clientIdentifierNotValid,
        `keep-alive ${packet.keepalive} s above maxKeepAlive`,
      );
    }
    serverKeepAlive = limits.maxKeepAlive;
  }
  if (packet.will) {
    // The will topic is a topic name: no wildcards, valid UTF-8 [MQTT-3.1.3-11] [MQTT-4.7.1-1].
    const problem = checkTopicName(packet.will.topic, limits);
    if (problem !== undefined) throw new MqttError(RC.topicNameInvalid, `Cannot accept the will: ${problem}`);
    if (packet.will.qos > caps.maximumQoS) {
      return refuse(client, RC.qosNotSupported, `will QoS ${packet.will.qos} above maximum QoS`); // [MQTT-3.2.2-12]
    }
    if (packet.will.retain && !caps.retainAvailable) {
      return refuse(client, RC.retainNotSupported, "retained wills are not available"); // [MQTT-3.2.2-13]
    }
    if (v5) {
      const bad = checkPublishProperties(packet.will.payload, packet.will.properties, limits);
      if (bad !== undefined) return refuse(client, bad.reasonCode, `will: ${bad.message}`);
    }
  }
  if (limits.maxConnections > 0 && broker.connectedCount() >= limits.maxConnections) {
    return refuse(client, v5 ? RC.quotaExceeded : RC.serverBusy, "maxConnections reached");
  }

  let sessionExpiryInterval = v5 ? props?.sessionExpiryInterval ?? 0 : packet.clean
    ? 0
    // A 3.1.1 persistent session lasts v3SessionExpiryInterval, not for ever (the protocol has no expiry).
    : limits.v3SessionExpiryInterval;
  let sessionExpiryCapped = false;
  if (v5 && sessionExpiryInterval > limits.maxSessionExpiryInterval) {
    sessionExpiryInterval = limits.maxSessionExpiryInterval;
    sessionExpiryCapped = true;
  }
  const pending: PendingConnect = {
    packet,
    assignedClientId,
    serverKeepAlive,
    sessionExpiryInterval,
    sessionExpiryCapped,
  };

  if (v5 && props?.authenticationMethod !== undefined) {
    return startEnhancedAuth(client, pending, props.authenticationMethod, props.authenticationData);
  }
  // With useIdentityAsUsername the password is checked for the certificate's user, the one the ACL sees too.
  const checked = client.useIdentityAsUsername ? { ...packet, username: client.username } : packet;
  // Repeated failures from one address slow that address down (the check may wait its turn). An auth hook that
  // throws an MqttError refuses with its code (0x88 when its user store is down), with a CONNACK rather than a
  // dropped socket.
  let allowed: boolean | undefined | Promise<boolean | undefined>;
  try {
    allowed = broker.authThrottle.run(
      client.remoteAddress,
      () => client.state === "closed" ? undefined : broker.hooks.authenticate(client, checked),
    );
  } catch (err) {
    return refuseByHook(client, err);
  }
  if (isPromise(allowed)) {
    return allowed.then(
      (ok) => afterAuthentication(client, pending, ok === true),
      (err) => refuseByHook(client, err),
    );
  }
  return afterAuthentication(client, pending, allowed === true);
}

/** Continue once authentication answered; enhanced authentication calls this with its success. */
export function afterAuthentication(
  client: Client,
  pending: PendingConnect,
  allowed: boolean,
  authData?: Uint8Array,
): void | Promise<void> {
  if (client.state === "closed") return;
  const packet = pending.packet;
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
    checked = client.broker.hooks.connect(
      client,
      client.useIdentityAsUsername ? { ...packet, username: client.username } : packet,
    );
  } catch (err) {
    return refuseByHook(client, err);
  }
  if (isPromise(checked)) {
    return checked.then(() => establish(client, pending, authData), (err) => refuseByHook(client, err));
  }
  establish(client, pending, authData);
}

function refuseByHook(client: Client, err: unknown): void {
  if (client.state === "closed") return;
  if (!(err instanceof MqttError)) {
    // A hook fault (the chain logged it): refused as "server unavailable", its message kept from the client.
    return refuse(client, RC.serverUnavailable, "server unavailable");
  }
  refuse(client, err.reasonCode, err.message, err.serverReference);
}

function establish(client: Client, pending: PendingConnect, authData: Uint8Array | undefined): void {
  if (client.state === "closed") return;
  const broker = client.broker;
  const packet = pending.packet;
  const v5 = packet.protocolVersion === 5;
  if (broker.foreignSession(client)) {
    // A session belongs to the user who created it: another user may neither resume it nor take it over.
    return refuse(client, RC.notAuthorized, "the client id belongs to another user's session");
  }
  if (!broker.admitsPersistentSession(client, packet.clean, pending.sessionExpiryInterval)) {
    return refuse(client, RC.quotaExceeded, "maxPersistentSessions reached");
  }
  const { session, present } = broker.establish(client, packet.clean, pending.sessionExpiryInterval);
  client.session = session;
  client.keepAlive = pending.serverKeepAlive ?? packet.keepalive; // [MQTT-3.2.2-22]
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
  const connack: ConnackPacket = { type: "connack", sessionPresent: present, reasonCode: RC.success };
  if (v5) connack.properties = connackProperties(client, pending, authData);
  client.sendPacket(connack);
  broker.logger.info("client connected", {
    clientId: client.id,
    remote: client.remoteAddress,
    listener: client.listener,
    protocol: client.protocolVersion,
    clean: packet.clean,
    keepAlive: client.keepAlive,
    username: client.username,
  });
  // Re-send what was in flight, then what was queued [MQTT-4.4.0-1].
  session.attach(client);
  broker.hooks.notify("onConnected", client, { sessionPresent: present });
}

/** What a v5 CONNACK tells the client about this server. */
function connackProperties(
  client: Client,
  pending: PendingConnect,
  authData: Uint8Array | undefined,
): Record<string, unknown> {
  const broker = client.broker;
  const limits = broker.limits;
  const caps = broker.capabilities;
  const props: Record<string, unknown> = {
    receiveMaximum: limits.receiveMaximum,
    maximumPacketSize: limits.maxPacketSize,
    topicAliasMaximum: limits.topicAliasMaximum,
    retainAvailable: caps.retainAvailable,
    wildcardSubscriptionAvailable: caps.wildcardSubscriptionAvailable,
    subscriptionIdentifiersAvailable: caps.subscriptionIdentifiersAvailable,
    sharedSubscriptionAvailable: caps.sharedSubscriptionAvailable,
  };
  // Maximum QoS may only be sent as 0 or 1; its absence means 2 [MQTT-3.2.2-9].
  if (caps.maximumQoS < 2) props.maximumQoS = caps.maximumQoS;
  if (limits.topicAliasMaximum === 0) delete props.topicAliasMaximum;
  if (pending.sessionExpiryCapped) props.sessionExpiryInterval = pending.sessionExpiryInterval;
  if (pending.assignedClientId !== undefined) props.assignedClientIdentifier = pending.assignedClientId;
  if (pending.serverKeepAlive !== undefined) props.serverKeepAlive = pending.serverKeepAlive;
  const packetProps = pending.packet.properties;
  // Response Information only when asked for [MQTT-3.1.2-28].
  if (packetProps?.requestResponseInformation && broker.responseInformation !== undefined) {
    props.responseInformation = broker.responseInformation;
  }
  if (client.authenticationMethod !== undefined) {
    props.authenticationMethod = client.authenticationMethod;
    if (authData !== undefined) props.authenticationData = authData;
  }
  return props;
}

/**
 * Refuse the connection: CONNACK with the code (v3 codes mapped; Session Present 0 [MQTT-3.2.2-4]) and close
 * [MQTT-3.2.2-5]; with no v3 code that fits, close without CONNACK [MQTT-3.2.2-6]. Nothing sent after it is
 * acted on [MQTT-3.1.4-5].
 */
export function refuse(client: Client, code: number, reason: string, serverReference?: string): void {
  const broker = client.broker;
  // Only Connect Reason Codes go in a CONNACK [MQTT-3.2.2-8] (5.0); anything else is an unspecified error.
  const reasonCode = CONNACK_REASON_CODES.has(code) ? code : RC.unspecifiedError;
  broker.stats.connectsRefused++;
  broker.logger.info("connection refused", {
    clientId: client.id || undefined,
    remote: client.remoteAddress,
    reason,
    code: `0x${reasonCode.toString(16)}`,
  });
  if (client.protocolVersion === 5) {
    // A Reason String goes with every refusal (CONNACK may always carry one [MQTT-3.1.2-29]).
    const properties: Record<string, unknown> = { reasonString: reason };
    if (serverReference !== undefined) properties.serverReference = serverReference;
    client.sendPacket({ type: "connack", sessionPresent: false, reasonCode, properties });
  } else {
    const code = connackCodeV3(reasonCode);
    if (code !== undefined && code !== CONNACK_V3.accepted) {
      client.sendPacket({ type: "connack", sessionPresent: false, reasonCode: code });
    }
  }
  client.close(false, new MqttError(reasonCode, reason));
}
