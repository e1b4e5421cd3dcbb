/**
 * Stored records for the storage tests: every optional field filled in, and nothing set to `undefined` (a loaded
 * record omits absent fields, so expected values must too).
 * @module
 */

import type {
  StoredInflight,
  StoredMessage,
  StoredQueued,
  StoredSession,
  StoredState,
  StoredWill,
} from "../../src/storage/storage.ts";

/** Deterministic pseudo-random bytes. */
export function bytes(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** A plain message. */
export function message(
  topic = "a/b",
  payload: Uint8Array = bytes(16),
  extra: Partial<StoredMessage> = {},
): StoredMessage {
  return { topic, payload, qos: 1, retain: false, receivedAt: 1_700_000_000_123, ...extra };
}

/** A message with every property set (user properties with a repeated name, correlation data with 0x00 and 0xff). */
export function richMessage(topic = "sensör/温度/🌡️"): StoredMessage {
  return {
    topic,
    payload: new Uint8Array([0, 1, 2, 0xfe, 0xff]),
    qos: 2,
    retain: true,
    origin: "publisher-ü",
    receivedAt: 1_700_000_000_456,
    properties: {
      payloadFormatIndicator: 1,
      messageExpiryInterval: 3600,
      topicAlias: 7,
      responseTopic: "reply/ß",
      correlationData: new Uint8Array([0x00, 0xff, 0x10, 0x00]),
      userProperties: [["b", "1"], ["a", "2"], ["b", "3"], ["ключ", "значение"]],
      subscriptionIdentifiers: [3, 268_435_455],
      contentType: "application/json; charset=utf-8",
      willDelayInterval: 30,
    },
  };
}

/** A session with every subscription option used. */
export function session(clientId = "c1", extra: Partial<StoredSession> = {}): StoredSession {
  return {
    clientId,
    expiryInterval: 3600,
    disconnectedAt: 1_700_000_100_000,
    subscriptions: [
      { filter: "a/+/c", qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 },
      {
        filter: "$share/g/x/#",
        qos: 2,
        noLocal: true,
        retainAsPublished: true,
        retainHandling: 2,
        identifier: 42,
      },
      { filter: "ü/#", qos: 0, noLocal: false, retainAsPublished: true, retainHandling: 1 },
    ],
    owner: {
      id: clientId,
      username: "alice",
      remoteAddress: "127.0.0.1:50001",
      listener: "tls1",
      protocolVersion: 5,
      certificateCommonName: "device-7",
    },
    ...extra,
  };
}

/** An inflight entry. */
export function inflight(packetId: number, extra: Partial<StoredInflight> = {}): StoredInflight {
  return { packetId, message: message(`in/${packetId}`), qos: 1, retain: false, state: "publish", ...extra };
}

/** A queued entry. */
export function queued(seq: number, extra: Partial<StoredQueued> = {}): StoredQueued {
  return { seq, message: message(`q/${seq}`), qos: 1, retain: false, ...extra };
}

/** A pending will. */
export function will(clientId = "c1", username: string | undefined = "alice"): StoredWill {
  const info: StoredWill["info"] = {
    id: clientId,
    remoteAddress: "127.0.0.1:50000",
    listener: "tcp",
    protocolVersion: 5,
  };
  if (username !== undefined) info.username = username;
  return { clientId, will: { ...richMessage("will/topic"), retain: false }, at: 1_700_000_200_000, info };
}

/** State with its lists in a fixed order, for comparing. */
export function sorted(state: StoredState): StoredState {
  return {
    sessions: [...state.sessions].sort((a, b) => cmp(a.clientId, b.clientId)),
    retained: [...state.retained].sort((a, b) => cmp(a.topic, b.topic)),
    wills: [...state.wills].sort((a, b) => cmp(a.clientId, b.clientId)),
    ...(state.bridges === undefined
      ? {}
      : { bridges: [...state.bridges].sort((a, b) => cmp(a.bridge, b.bridge)) }),
  };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
