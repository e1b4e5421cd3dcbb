/**
 * SUBSCRIBE and UNSUBSCRIBE: filter checks, capabilities, ACL, limits, SUBACK codes, retained messages.
 * @module
 */

import { MqttError } from "../../errors.ts";
import { isPromise } from "../../hooks/hook_chain.ts";
import { RC, SUBACK_FAILURE_V3 } from "../../packets/reason_codes.ts";
import type { QoS, SubscribePacket, SubscriptionRequest, UnsubscribePacket } from "../../packets/types.ts";
import { checkTopicFilter, parseSharedFilter } from "../../topics/topic_rules.ts";
import type { ClientContext as Client } from "../broker_core.ts";

/**
 * Handle SUBSCRIBE as a series of single subscriptions answered by one SUBACK [MQTT-3.8.4-4] (5.0: 3.8.4-5), one code per
 * filter in order [MQTT-3.8.4-5] (5.0: 3.8.4-6) [MQTT-3.9.3-1], then send matching retained messages [MQTT-3.3.1-6].
 *
 * A filter repeated in one packet is checked, stored and sent its retained messages once (the last entry wins, as
 * if the entries replaced each other in order [MQTT-3.8.4-3]), and the session is saved once per packet: a packet
 * holding one filter 100,000 times costs what one entry does.
 *
 * Synchronous unless a hook answers with a promise: a subscription is in place before the next packet from any
 * connection is handled, so a PUBLISH that reached the broker after this SUBSCRIBE is delivered to it.
 */
export function handleSubscribe(client: Client, packet: SubscribePacket): void | Promise<void> {
  const broker = client.broker;
  const v5 = client.protocolVersion === 5;
  const identifier = packet.properties?.subscriptionIdentifier;
  if (identifier !== undefined && !broker.capabilities.subscriptionIdentifiersAvailable) {
    throw new MqttError(RC.subscriptionIdentifiersNotSupported, "Cannot accept a Subscription Identifier");
  }
  const entries = packet.subscriptions;
  const max = broker.limits.maxSubscribeEntries;
  if (max > 0 && entries.length > max) {
    // Too many entries: every one is refused with Quota Exceeded (3.1.1: Failure), unread and unstored.
    broker.limitHits.hit("maxSubscribeEntries", { clientId: client.id, entries: entries.length, max });
    const code = v5 ? RC.quotaExceeded : SUBACK_FAILURE_V3;
    client.sendPacket({ type: "suback", packetId: packet.packetId, reasonCodes: entries.map(() => code) });
    return;
  }
  for (const request of entries) {
    // No Local on a shared subscription is a Protocol Error [MQTT-3.8.3-4] (5.0).
    if (request.noLocal && parseSharedFilter(request.topicFilter) !== undefined) {
      throw new MqttError(
        RC.protocolError,
        `Cannot set No Local on shared subscription "${request.topicFilter}"`,
      );
    }
  }
  let requests: SubscriptionRequest[] | Promise<SubscriptionRequest[]>;
  try {
    requests = broker.hooks.subscribe(client, entries);
  } catch (err) {
    return subscribeFault(client, packet, err);
  }
  if (isPromise(requests)) {
    return requests.then(
      (r) => subscribeAll(client, packet, r),
      (err) => subscribeFault(client, packet, err),
    );
  }
  return subscribeAll(client, packet, requests);
}

/** An onSubscribe hook fault (the chain logged it) refuses every filter of this SUBSCRIBE; a refusal passes on. */
function subscribeFault(client: Client, packet: SubscribePacket, err: unknown): void {
  if (err instanceof MqttError) throw err;
  if (client.state === "closed") return;
  const code = client.protocolVersion === 5 ? RC.unspecifiedError : SUBACK_FAILURE_V3;
  client.sendPacket({
    type: "suback",
    packetId: packet.packetId,
    reasonCodes: packet.subscriptions.map(() => code),
  });
}

interface Granted {
  readonly request: SubscriptionRequest;
  readonly qos: QoS;
  readonly isNew: boolean;
}

function subscribeAll(
  client: Client,
  packet: SubscribePacket,
  requests: SubscriptionRequest[],
): void | Promise<void> {
  // The last entry for each filter is the one that stays; earlier duplicates only get their own code.
  const last = new Map<string, SubscriptionRequest>();
  let previous: SubscriptionRequest | undefined;
  for (const request of requests) {
    if (request === previous) continue; // the decoder shares one object between equal neighbours
    last.set(request.topicFilter, request);
    previous = request;
  }
  const unique = [...last.values()];
  const verdicts = new Map<string, number>();
  const granted: Granted[] = [];
  const apply = (request: SubscriptionRequest, verdict: number): void => {
    verdicts.set(request.topicFilter, verdict);
    if (verdict >= 0x80) return;
    const qos = Math.min(request.qos, verdict) as QoS;
    const isNew = client.broker.subscribe(
      client.session!,
      request,
      qos,
      packet.properties?.subscriptionIdentifier,
    );
    granted.push({ request, qos, isNew });
  };
  // One filter after the other (a quota counts the ones before); asynchronous only from the first hook promise.
  const from = (i: number): void | Promise<void> => {
    for (; i < unique.length; i++) {
      const request = unique[i]!;
      const verdict = check(client, request.topicFilter);
      if (isPromise(verdict)) {
        const at = i;
        return verdict.then((v) => {
          if (client.state === "closed") return;
          apply(request, v);
          return from(at + 1);
        });
      }
      apply(request, verdict);
    }
    // In a cluster the SUBACK waits until the other nodes route matching messages here.
    const settled = granted.length > 0 ? client.broker.clusterSettled() : undefined;
    if (settled === undefined) return finish(client, packet, requests, verdicts, granted);
    return settled.then(() => finish(client, packet, requests, verdicts, granted));
  };
  return from(0);
}

function finish(
  client: Client,
  packet: SubscribePacket,
  requests: SubscriptionRequest[],
  verdicts: Map<string, number>,
  granted: Granted[],
): void {
  const broker = client.broker;
  const session = client.session!;
  const v5 = client.protocolVersion === 5;
  const identifier = packet.properties?.subscriptionIdentifier;
  if (granted.length > 0) broker.saveSession(session);
  const codes: number[] = new Array(requests.length);
  for (let i = 0; i < requests.length; i++) {
    const request = requests[i]!;
    const verdict = verdicts.get(request.topicFilter)!;
    // Granted at most the broker's maximum QoS; SUBSCRIBE for any QoS is still accepted [MQTT-3.2.2-10].
    codes[i] = verdict >= 0x80 ? (v5 ? verdict : SUBACK_FAILURE_V3) : Math.min(request.qos, verdict);
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
    // A queue that is already full takes no retained messages (they would only be dropped one by one).
    if (session.full) break;
    broker.sendRetained(session, client, request, qos, identifier);
  }
  broker.hooks.notify("onSubscribed", client, requests, codes);
}

/** The highest QoS the broker grants on `filter` (0..2), or a failure reason code (>= 0x80). */
function check(client: Client, filter: string): number | Promise<number> {
  const broker = client.broker;
  const caps = broker.capabilities;
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
  const allowed = broker.hooks.aclCheck(client, filter, "read");
  if (isPromise(allowed)) return allowed.then((ok) => ok ? caps.maximumQoS : RC.notAuthorized);
  return allowed ? caps.maximumQoS : RC.notAuthorized;
}

/**
 * Handle UNSUBSCRIBE: remove exact matches only [MQTT-3.10.4-1]; UNSUBACK always [MQTT-3.10.4-4] [MQTT-3.10.4-5].
 * Synchronous unless an onUnsubscribe hook answers with a promise (see {@link handleSubscribe}).
 */
export function handleUnsubscribe(client: Client, packet: UnsubscribePacket): void | Promise<void> {
  let filters: string[] | Promise<string[]>;
  try {
    filters = client.broker.hooks.unsubscribe(client, packet.topicFilters);
  } catch (err) {
    return unsubscribeFault(client, packet, err);
  }
  if (isPromise(filters)) {
    return filters.then(
      (f) => unsubscribeAll(client, packet, f),
      (err) => unsubscribeFault(client, packet, err),
    );
  }
  unsubscribeAll(client, packet, filters);
}

/**
 * An onUnsubscribe hook fault (the chain logged it) removes nothing: v5 says so with 0x80 per filter; a 3.1.1
 * UNSUBACK cannot, so that connection closes as on any transient error [MQTT-4.8.0-2].
 */
function unsubscribeFault(client: Client, packet: UnsubscribePacket, err: unknown): void {
  if (err instanceof MqttError || client.protocolVersion < 5) throw err;
  if (client.state === "closed") return;
  client.sendPacket({
    type: "unsuback",
    packetId: packet.packetId,
    reasonCodes: packet.topicFilters.map(() => RC.unspecifiedError),
  });
}

function unsubscribeAll(client: Client, packet: UnsubscribePacket, filters: string[]): void {
  const broker = client.broker;
  const codes: number[] = [];
  for (let i = 0; i < filters.length; i++) {
    const filter = filters[i]!;
    if (i > 0 && filter === filters[i - 1]) {
      // A filter repeated: the first removed it, so this one finds none (a packet of 100,000 costs one).
      const code = codes[i - 1]!;
      codes.push(code === RC.success ? RC.noSubscriptionExisted : code);
      continue;
    }
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
