/**
 * Deep copies of stored records with the same fields the record codec keeps (absent stays absent), so the
 * memory backend hands out exactly what a KV round trip would, and nobody aliases stored state.
 * @module
 */

import type { PublishProperties } from "../packets/types.ts";
import type { StoredInflight, StoredMessage, StoredQueued, StoredSession, StoredWill } from "./storage.ts";

/** Copy a message, its payload and its properties. */
export function cloneMessage(m: StoredMessage): StoredMessage {
  const out: StoredMessage = {
    topic: m.topic,
    payload: new Uint8Array(m.payload),
    qos: m.qos,
    retain: m.retain,
    receivedAt: m.receivedAt,
  };
  if (m.properties !== undefined) out.properties = cloneProperties(m.properties);
  if (m.origin !== undefined) out.origin = m.origin;
  return out;
}

function cloneProperties(
  p: PublishProperties & { willDelayInterval?: number },
): PublishProperties & { willDelayInterval?: number } {
  const out: PublishProperties & { willDelayInterval?: number } = {};
  if (p.payloadFormatIndicator !== undefined) out.payloadFormatIndicator = p.payloadFormatIndicator;
  if (p.messageExpiryInterval !== undefined) out.messageExpiryInterval = p.messageExpiryInterval;
  if (p.topicAlias !== undefined) out.topicAlias = p.topicAlias;
  if (p.responseTopic !== undefined) out.responseTopic = p.responseTopic;
  if (p.correlationData !== undefined) out.correlationData = new Uint8Array(p.correlationData);
  if (p.userProperties !== undefined) out.userProperties = p.userProperties.map(([k, v]) => [k, v]);
  if (p.subscriptionIdentifiers !== undefined) out.subscriptionIdentifiers = [...p.subscriptionIdentifiers];
  if (p.contentType !== undefined) out.contentType = p.contentType;
  if (p.willDelayInterval !== undefined) out.willDelayInterval = p.willDelayInterval;
  return out;
}

/** Copy a session and its subscriptions. */
export function cloneSession(s: StoredSession): StoredSession {
  const out: StoredSession = {
    clientId: s.clientId,
    expiryInterval: s.expiryInterval,
    subscriptions: s.subscriptions.map((sub) => {
      const copy = {
        filter: sub.filter,
        qos: sub.qos,
        noLocal: sub.noLocal,
        retainAsPublished: sub.retainAsPublished,
        retainHandling: sub.retainHandling,
      };
      return sub.identifier === undefined ? copy : { ...copy, identifier: sub.identifier };
    }),
  };
  if (s.disconnectedAt !== undefined) out.disconnectedAt = s.disconnectedAt;
  if (s.owner !== undefined) out.owner = { ...s.owner };
  return out;
}

/** Copy an inflight entry. */
export function cloneInflight(e: StoredInflight): StoredInflight {
  const out: StoredInflight = {
    packetId: e.packetId,
    message: cloneMessage(e.message),
    qos: e.qos,
    retain: e.retain,
    state: e.state,
  };
  if (e.subscriptionIds !== undefined) out.subscriptionIds = [...e.subscriptionIds];
  return out;
}

/** Copy a queued entry. */
export function cloneQueued(e: StoredQueued): StoredQueued {
  const out: StoredQueued = { seq: e.seq, message: cloneMessage(e.message), qos: e.qos, retain: e.retain };
  if (e.subscriptionIds !== undefined) out.subscriptionIds = [...e.subscriptionIds];
  return out;
}

/** Copy a will and the client info stored with it. */
export function cloneWill(w: StoredWill): StoredWill {
  return { clientId: w.clientId, will: cloneMessage(w.will), at: w.at, info: { ...w.info } };
}
