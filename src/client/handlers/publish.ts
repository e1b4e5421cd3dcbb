/**
 * PUBLISH from a client and the acknowledgements of both QoS flows.
 * @module
 */

import { MqttError } from "../../errors.ts";
import { isPromise } from "../../hooks/hook_chain.ts";
import type { Message } from "../../message.ts";
import { RC } from "../../packets/reason_codes.ts";
import type { AckPacket, PublishPacket } from "../../packets/types.ts";
import { checkTopicName } from "../../topics/topic_rules.ts";
import type { Client } from "../client.ts";

/** Handle an inbound PUBLISH. */
export function handlePublish(client: Client, packet: PublishPacket): void | Promise<void> {
  const broker = client.broker;
  const session = client.session!;
  // No wildcards, not empty, no U+0000 in a topic name [MQTT-3.3.2-2] [MQTT-4.7.3-1] [MQTT-4.7.3-2].
  const problem = checkTopicName(packet.topic, broker.limits);
  if (problem !== undefined) throw new MqttError(RC.topicNameInvalid, `Cannot accept PUBLISH: ${problem}`);
  broker.stats.messagesReceived++;

  if (packet.qos === 2) {
    const id = packet.packetId!;
    if (session.incomingQos2.has(id)) {
      // A re-sent QoS 2 PUBLISH before PUBREL: answer PUBREC again, deliver nothing [MQTT-4.3.3-2].
      client.sendPacket({ type: "pubrec", packetId: id });
      return;
    }
    if (session.incomingQos2.size >= broker.limits.receiveMaximum) {
      throw new MqttError(RC.receiveMaximumExceeded, "Cannot accept more QoS 2 messages awaiting PUBREL");
    }
  }

  const message: Message = {
    topic: packet.topic,
    payload: packet.payload,
    qos: packet.qos,
    retain: packet.retain,
    properties: packet.properties,
    origin: client.id,
    receivedAt: broker.clock.now(),
  };

  if (packet.topic.startsWith("$SYS")) {
    // Clients cannot publish to $SYS: the message is acknowledged and dropped [MQTT-3.3.5-2].
    broker.stats.dropped["not-authorized"]++;
    acknowledge(client, packet, RC.notAuthorized);
    return;
  }

  const allowed = broker.hooks.aclCheck(client, packet.topic, "write");
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
    broker.logger.debug("publish not authorized", { clientId: client.id, topic: packet.topic });
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
  if (!(err instanceof MqttError)) throw err;
  client.broker.logger.debug("publish refused by a hook", { clientId: client.id, reason: err.message });
  acknowledge(client, packet, err.reasonCode);
}

function finish(client: Client, packet: PublishPacket, message: Message | null): void {
  if (client.state === "closed") return;
  // Route before acknowledging: once PUBACK/PUBREC is sent the message is in every matching session [MQTT-4.5.0-1].
  const deliveries = message === null ? 0 : client.broker.route(message, client);
  acknowledge(
    client,
    packet,
    deliveries === 0 && client.protocolVersion === 5 ? RC.noMatchingSubscribers : RC.success,
  );
}

/** PUBACK for QoS 1, PUBREC for QoS 2, nothing for QoS 0 [MQTT-3.3.4-1], with the packet's id [MQTT-2.3.1-6]. */
function acknowledge(client: Client, packet: PublishPacket, reasonCode: number): void {
  if (packet.qos === 0) return;
  const v5 = client.protocolVersion === 5;
  const code = v5 ? reasonCode : undefined;
  if (packet.qos === 1) {
    client.sendPacket({ type: "puback", packetId: packet.packetId!, reasonCode: code });
    return;
  }
  // Remember the id until PUBREL only when the message was taken; a refused one (v5 code >= 0x80) ends here.
  if (!v5 || reasonCode < 0x80) client.session!.incomingQos2.add(packet.packetId!);
  client.sendPacket({ type: "pubrec", packetId: packet.packetId!, reasonCode: code });
}

/** PUBREL from the client: release the id and answer PUBCOMP [MQTT-4.3.3-2]. */
export function handlePubrel(client: Client, packet: AckPacket): void {
  const known = client.session!.incomingQos2.delete(packet.packetId);
  client.sendPacket({
    type: "pubcomp",
    packetId: packet.packetId,
    reasonCode: client.protocolVersion === 5 && !known ? RC.packetIdentifierNotFound : undefined,
  });
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
    session.inflight.delete(id);
    session.pump();
    return;
  }
  client.sendPacket({
    type: "pubrel",
    packetId: id,
    reasonCode: client.protocolVersion === 5 && !known ? RC.packetIdentifierNotFound : undefined,
  });
}
