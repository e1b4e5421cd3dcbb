/**
 * Messages caught for a session while it moves between nodes or workers, turned into what the session would have
 * queued had it been there: once, at the highest QoS its matching subscriptions grant [MQTT-3.3.5-1], with v5 No
 * Local and Retain As Published applied. Shared subscriptions are not the moving session's alone and take nothing.
 * @module
 */

import type { Message } from "../message.ts";
import type { StoredSubscription } from "../storage/storage.ts";
import { topicMatches } from "../topics/topic_rules.ts";
import type { HandedDelivery, HandedSession } from "./cluster_bus.ts";

/** What session `clientId` with `subscriptions` queues for `message`, or undefined when none of them matches. */
export function capturedDelivery(
  clientId: string,
  subscriptions: readonly StoredSubscription[],
  message: Message,
): HandedDelivery | undefined {
  let qos = -1;
  let retain = false;
  const ids: number[] = [];
  for (const s of subscriptions) {
    if (s.filter.startsWith("$share/") || !topicMatches(s.filter, message.topic)) continue;
    // v5 No Local: not back to the publisher's own session [MQTT-3.8.3-3] (5.0).
    if (s.noLocal && message.origin === clientId) continue;
    if (s.qos > qos) qos = s.qos;
    if (s.retainAsPublished) retain = true;
    if (s.identifier !== undefined) ids.push(s.identifier);
  }
  if (qos < 0) return undefined;
  const delivery: HandedDelivery = {
    message,
    qos: Math.min(qos, message.qos) as 0 | 1 | 2,
    retain: retain && message.retain,
    ...(ids.length === 0 ? {} : { subscriptionIds: ids }),
  };
  return delivery;
}

/** `handed`'s queue, then what its session queues for each of `messages` that `skip` does not name. */
export function queueWithCaptured(
  clientId: string,
  handed: HandedSession,
  messages: readonly Message[],
  skip?: (message: Message) => boolean,
): HandedDelivery[] {
  const queued = [...handed.queued];
  for (const message of messages) {
    if (skip?.(message)) continue;
    const delivery = capturedDelivery(clientId, handed.subscriptions, message);
    if (delivery !== undefined) queued.push(delivery);
  }
  return queued;
}
