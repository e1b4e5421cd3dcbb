/**
 * PUBLISH from a client and the acknowledgements of both QoS flows.
 * @module
 */

import { MqttError } from "../../errors.ts";
import { isPromise } from "../../hooks/hook_chain.ts";
import type { Message } from "../../message.ts";
import { PUBLISH_ACK_REASON_CODES, RC } from "../../packets/reason_codes.ts";
import type { AckPacket, PublishPacket, PublishProperties } from "../../packets/types.ts";
import { checkTopicName, type TopicLimits } from "../../topics/topic_rules.ts";
import type { ClientContext as Client } from "../broker_core.ts";

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Check v5 PUBLISH / will properties: a payload declared UTF-8 must be well-formed (0x99), a Response Topic is a
 * topic name without wildcards [MQTT-3.3.2-13] [MQTT-3.3.2-14]. Returns the problem, undefined when fine.
 */
export function checkPublishProperties(
  payload: Uint8Array,
  properties: PublishProperties | undefined,
  limits: TopicLimits,
): { reasonCode: number; message: string } | undefined {
  if (properties === undefined) return undefined;
  if (properties.payloadFormatIndicator === 1) {
    try {
      utf8.decode(payload);
    } catch {
      return { reasonCode: RC.payloadFormatInvalid, message: "payload is declared UTF-8 but is not" };
    }
  }
  if (properties.responseTopic !== undefined) {
    const problem = checkTopicName(properties.responseTopic, limits);
    if (problem !== undefined) return { reasonCode: RC.protocolError, message: `response topic: ${problem}` };
  }
  return undefined;
}

/** Resolve a v5 inbound topic alias; returns the topic to route to [MQTT-3.3.2-12]. */
function resolveAlias(client: Client, packet: PublishPacket): string {
  const alias = packet.properties?.topicAlias;
  if (alias === undefined) return packet.topic;
  const max = client.broker.limits.topicAliasMaximum;
  if (alias > max) {
    // Above the announced maximum, or any alias when none was announced [MQTT-3.2.2-17] [MQTT-3.2.2-18].
    throw new MqttError(RC.topicAliasInvalid, `Cannot accept topic alias ${alias}: the maximum is ${max}`);
  }
  if (packet.topic !== "") {
    (client.aliasesIn ??= new Map()).set(alias, packet.topic);
    return packet.topic;
  }
  const topic = client.aliasesIn?.get(alias);
  if (topic === undefined) {
    throw new MqttError(RC.protocolError, `Cannot accept unknown topic alias ${alias}`);
  }
  return topic;
}

/** Handle an inbound PUBLISH. */
export function handlePublish(client: Client, packet: PublishPacket): void | Promise<void> {
  const broker = client.broker;
  const session = client.session!;
  const v5 = client.protocolVersion === 5;
  const topic = v5 ? resolveAlias(client, packet) : packet.topic;
  // No wildcards, not empty, no U+0000 in a topic name [MQTT-3.3.2-2] [MQTT-4.7.3-1] [MQTT-4.7.3-2].
  const problem = checkTopicName(topic, broker.limits);
  if (problem !== undefined) {
    // v5: an empty topic with no alias is a Protocol Error [MQTT-4.7.3-1] (5.0); other bad names are 0x90.
    throw new MqttError(
      topic === "" && v5 ? RC.protocolError : RC.topicNameInvalid,
      `Cannot accept PUBLISH: ${problem}`,
    );
  }
  const caps = broker.capabilities;
  if (packet.qos > caps.maximumQoS) {
    throw new MqttError(
      RC.qosNotSupported,
      `Cannot accept QoS ${packet.qos}: the maximum is ${caps.maximumQoS}`,
    );
  }
  if (packet.retain && !caps.retainAvailable) {
    throw new MqttError(RC.retainNotSupported, "Cannot accept a retained message: retain is not available");
  }
  broker.stats.messagesReceived++;
  let properties = packet.properties;
  if (v5 && properties !== undefined) {
    const bad = checkPublishProperties(packet.payload, properties, broker.limits);
    if (bad !== undefined) {
      if (bad.reasonCode !== RC.payloadFormatInvalid) {
        throw new MqttError(bad.reasonCode, `Cannot accept PUBLISH: ${bad.message}`);
      }
      acknowledge(client, packet, bad.reasonCode);
      return;
    }
    if (properties.topicAlias !== undefined) {
      // The alias belongs to this hop only.
      const { topicAlias: _alias, ...rest } = properties;
      properties = Object.keys(rest).length > 0 ? rest : undefined;
    }
  }

  if (packet.qos === 2) {
    const id = packet.packetId!;
    if (session.hasIncoming(id)) {
      // A re-sent QoS 2 PUBLISH before PUBREL: answer PUBREC again, deliver nothing [MQTT-4.3.3-2].
      client.sendPacket({ type: "pubrec", packetId: id });
      return;
    }
    if (packet.duplicate) {
      // The decoder left the payload out because the id awaited PUBREL; it no longer does, which the order of
      // packets rules out. Never deliver an empty payload in its place.
      throw new MqttError(
        RC.implementationSpecificError,
        "Cannot accept a re-sent PUBLISH whose payload was dropped",
      );
    }
    if (session.incomingCount >= broker.limits.receiveMaximum) {
      throw new MqttError(RC.receiveMaximumExceeded, "Cannot accept more QoS 2 messages awaiting PUBREL");
    }
  }

  const message: Message = {
    topic,
    payload: packet.payload,
    qos: packet.qos,
    retain: packet.retain,
    properties: v5 ? properties : undefined,
    origin: client.id,
    receivedAt: broker.clock.now(),
  };

  if (topic.startsWith("$SYS")) {
    // Clients cannot publish to $SYS: the message is acknowledged and dropped [MQTT-3.3.5-2].
    broker.stats.dropped["not-authorized"]++;
    acknowledge(client, packet, RC.notAuthorized);
    return;
  }

  const allowed = broker.hooks.aclCheck(client, topic, "write");
  if (isPromise(allowed)) return allowed.then((ok) => afterAcl(client, packet, message, ok));
  return afterAcl(client, packet, message, allowed);
}

function afterAcl(
  client: Client,
  packet: PublishPacket,
  message: Message,
  allowed: boolean,
): void | Promise<void> {
  const broker = client.broker;
  if (!allowed) {
    // A publish the client may not make is acknowledged as usual and not delivered [MQTT-3.3.5-2].
    broker.stats.dropped["not-authorized"]++;
    broker.logger.debug("publish not authorized", { clientId: client.id, topic: message.topic });
    acknowledge(client, packet, RC.notAuthorized);
    return;
  }
  let transformed: Message | null | Promise<Message | null>;
  try {
    transformed = broker.hooks.publish(client, message);
  } catch (err) {
    return refused(client, packet, err);
  }
  if (isPromise(transformed)) {
    return transformed.then((m) => finish(client, packet, m), (err) => refused(client, packet, err));
  }
  finish(client, packet, transformed);
}

function refused(client: Client, packet: PublishPacket, err: unknown): void {
  // A hook fault (the chain logged it) is a transient error: the connection closes without acknowledging the
  // message, so the client sends it again later [MQTT-4.8.0-2].
  if (!(err instanceof MqttError)) throw err;
  client.broker.logger.debug("publish refused by a hook", { clientId: client.id, reason: err.message });
  // Only codes PUBACK/PUBREC define [MQTT-3.4.2-1] [MQTT-3.5.2-1] (5.0); others become unspecified error.
  acknowledge(
    client,
    packet,
    PUBLISH_ACK_REASON_CODES.has(err.reasonCode) ? err.reasonCode : RC.unspecifiedError,
    true,
    err.message,
  );
}

function finish(client: Client, packet: PublishPacket, message: Message | null): void {
  if (client.state === "closed") return;
  // Route before acknowledging: once PUBACK/PUBREC is sent the message is in every matching session [MQTT-4.5.0-1].
  const deliveries = message === null ? 0 : client.broker.route(message, client);
  const code = deliveries === 0 && client.protocolVersion === 5 ? RC.noMatchingSubscribers : RC.success;
  if (packet.qos === 0) return;
  // Remember an inbound QoS 2 id from now on, so that a re-sent PUBLISH is not delivered twice [MQTT-4.3.3-2].
  if (packet.qos === 2) client.session!.addIncoming(packet.packetId!);
  // With storage, PUBACK/PUBREC go once the message is durable in every persistent session it reached.
  client.acknowledgeWhenDurable(() => acknowledge(client, packet, code, false));
}

/** PUBACK for QoS 1, PUBREC for QoS 2, nothing for QoS 0 [MQTT-3.3.4-1], with the packet's id [MQTT-2.3.1-6]. */
/**
 * PUBACK or PUBREC. A v5 refusal may say why in a Reason String (a hook's MqttError message); sendPacket leaves it
 * out where the client asked for no problem information or its Maximum Packet Size has no room.
 */
function acknowledge(
  client: Client,
  packet: PublishPacket,
  reasonCode: number,
  remember = true,
  reason?: string,
): void {
  if (packet.qos === 0) return;
  const v5 = client.protocolVersion === 5;
  const code = v5 ? reasonCode : undefined;
  const properties = v5 && reason !== undefined ? { reasonString: reason } : undefined;
  if (packet.qos === 1) {
    client.sendPacket({ type: "puback", packetId: packet.packetId!, reasonCode: code, properties });
    return;
  }
  // Remember the id until PUBREL only when the message was taken; a refused one (v5 code >= 0x80) ends here.
  if (remember && (!v5 || reasonCode < 0x80)) client.session!.addIncoming(packet.packetId!);
  client.sendPacket({ type: "pubrec", packetId: packet.packetId!, reasonCode: code, properties });
}

/** PUBREL from the client: release the id and answer PUBCOMP [MQTT-4.3.3-2]. */
export function handlePubrel(client: Client, packet: AckPacket): void {
  const known = client.session!.releaseIncoming(packet.packetId);
  // PUBCOMP once the release is durable: otherwise a restart could take the id's reuse for a duplicate.
  client.acknowledgeWhenDurable(() =>
    client.sendPacket({
      type: "pubcomp",
      packetId: packet.packetId,
      reasonCode: client.protocolVersion === 5 && !known ? RC.packetIdentifierNotFound : undefined,
    })
  );
}

/** PUBACK, PUBREC, PUBCOMP for messages the broker sent. */
export function handleAck(client: Client, packet: AckPacket): void {
  const session = client.session!;
  const id = packet.packetId;
  if (packet.type === "puback") {
    session.puback(id);
    return;
  }
  if (packet.type === "pubcomp") {
    session.pubcomp(id);
    return;
  }
  // PUBREC: answer PUBREL with the same id [MQTT-2.3.1-6]; v5 flags an id it does not know.
  const known = session.pubrec(id);
  if (packet.reasonCode !== undefined && packet.reasonCode >= 0x80 && known) {
    // v5: a PUBREC with an error code ends the flow for that message.
    session.abandon(id);
    return;
  }
  client.sendPacket({
    type: "pubrel",
    packetId: id,
    reasonCode: client.protocolVersion === 5 && !known ? RC.packetIdentifierNotFound : undefined,
  });
}
