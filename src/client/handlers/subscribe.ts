/**
 * SUBSCRIBE and UNSUBSCRIBE: filter checks, capabilities, ACL, limits, SUBACK codes, retained messages.
 * @module
 */

import { MqttError } from "../../errors.ts";
import { RC, SUBACK_FAILURE_V3 } from "../../packets/reason_codes.ts";
import type { QoS, SubscribePacket, SubscriptionRequest, UnsubscribePacket } from "../../packets/types.ts";
import { checkTopicFilter, parseSharedFilter } from "../../topics/topic_rules.ts";
import type { ClientContext as Client } from "../broker_core.ts";

/**
 * Handle SUBSCRIBE as a series of single subscriptions answered by one SUBACK [MQTT-3.8.4-4] (5.0: 3.8.4-5), one code per
 * filter in order [MQTT-3.8.4-5] (5.0: 3.8.4-6) [MQTT-3.9.3-1], then send matching retained messages [MQTT-3.3.1-6].
 */
export async function handleSubscribe(client: Client, packet: SubscribePacket): Promise<void> {
  const broker = client.broker;
  const session = client.session!;
  const v5 = client.protocolVersion === 5;
  const identifier = packet.properties?.subscriptionIdentifier;
  if (identifier !== undefined && !broker.capabilities.subscriptionIdentifiersAvailable) {
    throw new MqttError(RC.subscriptionIdentifiersNotSupported, "Cannot accept a Subscription Identifier");
  }
  for (const request of packet.subscriptions) {
    // No Local on a shared subscription is a Protocol Error [MQTT-3.8.3-4] (5.0).
    if (request.noLocal && parseSharedFilter(request.topicFilter) !== undefined) {
      throw new MqttError(
        RC.protocolError,
        `Cannot set No Local on shared subscription "${request.topicFilter}"`,
      );
    }
  }
  let requests: SubscriptionRequest[];
  try {
    requests = await broker.hooks.subscribe(client, packet.subscriptions);
  } catch (err) {
    if (err instanceof MqttError) throw err;
    // A hook fault (the chain logged it) refuses every filter of this SUBSCRIBE.
    if (client.state === "closed") return;
    const code = v5 ? RC.unspecifiedError : SUBACK_FAILURE_V3;
    client.sendPacket({
      type: "suback",
      packetId: packet.packetId,
      reasonCodes: packet.subscriptions.map(() => code),
    });
    return;
  }
  const codes: number[] = [];
  const granted: Array<{ request: SubscriptionRequest; qos: QoS; isNew: boolean }> = [];
  for (const request of requests) {
    const code = await grant(client, request);
    if (code >= 0x80) {
      codes.push(v5 ? code : SUBACK_FAILURE_V3);
      continue;
    }
    const qos = code as QoS;
    const isNew = broker.subscribe(session, request, qos, identifier);
    codes.push(qos);
    granted.push({ request, qos, isNew });
  }
  if (client.state === "closed") return;
  // SUBACK carries the SUBSCRIBE's packet id [MQTT-3.8.4-1] [MQTT-3.8.4-2].
  client.sendPacket({ type: "suback", packetId: packet.packetId, reasonCodes: codes });
  for (const { request, qos, isNew } of granted) {
    // A replaced subscription gets its retained messages again [MQTT-3.8.4-3]; v5 Retain Handling 1 only for a
    // new one, 2 never [MQTT-3.3.1-9] [MQTT-3.3.1-10] [MQTT-3.3.1-11]; never for a shared subscription.
    const handling = request.retainHandling ?? 0;
    if (handling === 2 || (handling === 1 && !isNew)) continue;
    if (parseSharedFilter(request.topicFilter) !== undefined) continue;
    broker.sendRetained(session, client, request, qos, identifier);
  }
  broker.hooks.notify("onSubscribed", client, requests, codes);
}

/** The granted QoS (0..2) or a failure reason code (>= 0x80) for one filter. */
async function grant(client: Client, request: SubscriptionRequest): Promise<number> {
  const broker = client.broker;
  const caps = broker.capabilities;
  const filter = request.topicFilter;
  if (checkTopicFilter(filter, broker.limits) !== undefined) return RC.topicFilterInvalid;
  const shared = parseSharedFilter(filter);
  if (shared !== undefined && !caps.sharedSubscriptionAvailable) return RC.sharedSubscriptionsNotSupported;
  const inner = shared?.filter ?? filter;
  if (!caps.wildcardSubscriptionAvailable && /[+#]/.test(inner)) return RC.wildcardSubscriptionsNotSupported;
  const session = client.session!;
  const max = broker.limits.maxSubscriptionsPerClient;
  if (max > 0 && !session.subscriptions.has(filter) && session.subscriptions.size >= max) {
    return RC.quotaExceeded;
  }
  if (!(await broker.hooks.aclCheck(client, filter, "read"))) return RC.notAuthorized;
  // Granted at most the broker's maximum QoS; SUBSCRIBE for any QoS is still accepted [MQTT-3.2.2-10].
  return Math.min(request.qos, caps.maximumQoS);
}

/** Handle UNSUBSCRIBE: remove exact matches only [MQTT-3.10.4-1]; UNSUBACK always [MQTT-3.10.4-4] [MQTT-3.10.4-5]. */
export async function handleUnsubscribe(client: Client, packet: UnsubscribePacket): Promise<void> {
  const broker = client.broker;
  let filters: string[];
  try {
    filters = await broker.hooks.unsubscribe(client, packet.topicFilters);
  } catch (err) {
    // A hook fault (the chain logged it) removes nothing: v5 says so with 0x80 per filter; a 3.1.1 UNSUBACK
    // cannot, so that connection closes as on any transient error [MQTT-4.8.0-2].
    if (err instanceof MqttError || client.protocolVersion < 5) throw err;
    if (client.state === "closed") return;
    client.sendPacket({
      type: "unsuback",
      packetId: packet.packetId,
      reasonCodes: client.protocolVersion === 5
        ? packet.topicFilters.map(() => RC.unspecifiedError)
        : undefined,
    });
    return;
  }
  const codes: number[] = [];
  for (const filter of filters) {
    if (checkTopicFilter(filter, broker.limits) !== undefined) {
      // 3.1.1 UNSUBACK has no failure code: an invalid filter (e.g. empty [MQTT-4.7.3-1]) is a protocol
      // violation that closes the connection [MQTT-4.8.0-1]; v5 answers 0x8F for that filter.
      if (client.protocolVersion < 5) {
        throw new MqttError(
          RC.topicFilterInvalid,
          `Cannot unsubscribe from ${JSON.stringify(filter)}: invalid filter`,
        );
      }
      codes.push(RC.topicFilterInvalid);
      continue;
    }
    codes.push(broker.unsubscribe(client.session!, filter) ? RC.success : RC.noSubscriptionExisted);
  }
  if (client.state === "closed") return;
  client.sendPacket({
    type: "unsuback",
    packetId: packet.packetId,
    reasonCodes: client.protocolVersion === 5 ? codes : undefined,
  });
  broker.hooks.notify("onUnsubscribed", client, filters);
}
