/**
 * Loop prevention for bridges. Three layers:
 * - a message that came in over a bridge carries that bridge as its origin and never goes back out over it;
 * - v5 remotes: subscriptions use No Local, and every forwarded message carries the path of brokers it passed
 *   (a user property), so a message that comes back to a broker it already visited is dropped there; the path
 *   is capped, as a last resort against a ring of brokers that do not keep it;
 * - 3.1.1 remotes have neither: the {@link EchoFilter} remembers what this bridge sent and drops the copy the
 *   remote sends back to the same connection (what No Local would have done).
 * @module
 */

import type { PublishProperties, UserProperties } from "../packets/types.ts";

/** The user property that carries the path: node ids separated by commas. */
export const PATH_PROPERTY = "comqtt-bridge-path";
/** A path this long is treated as a loop whatever it holds. */
export const MAX_HOPS = 8;

function pathOf(properties: PublishProperties | undefined): string[] | undefined {
  const user = properties?.userProperties;
  if (user === undefined) return undefined;
  for (const [k, v] of user) if (k === PATH_PROPERTY) return v.split(",");
  return undefined;
}

/** True when the message already passed the broker `nodeId` (or too many brokers). */
export function hasVisited(message: { properties?: PublishProperties }, nodeId: string): boolean {
  const path = pathOf(message.properties);
  return path !== undefined && (path.includes(nodeId) || path.length >= MAX_HOPS);
}

/** The properties with `nodeId` appended to the path (a new object; the message's own stay as they were). */
export function withVisit(properties: PublishProperties | undefined, nodeId: string): PublishProperties {
  const path = pathOf(properties);
  const value = path === undefined ? nodeId : [...path, nodeId].join(",");
  const user: UserProperties = (properties?.userProperties ?? []).filter(([k]) => k !== PATH_PROPERTY);
  user.push([PATH_PROPERTY, value]);
  return { ...properties, userProperties: user };
}

/** FNV-1a over the payload: a cheap fingerprint, combined with the topic and length. */
function fingerprint(topic: string, payload: Uint8Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < payload.length; i++) h = Math.imul(h ^ payload[i]!, 0x01000193);
  return `${topic}\u0000${payload.length}\u0000${h >>> 0}`;
}

/**
 * Remembers the last `capacity` messages sent, for `ttlMs`; each may be recognised (and forgotten) once when it
 * comes back. The time limit keeps a later, genuinely new message with the same topic and payload from being
 * taken for an echo when the remote never echoed the first.
 */
export class EchoFilter {
  #capacity: number;
  #ttlMs: number;
  #now: () => number;
  /** Send times of each fingerprint not yet echoed, oldest first. */
  #pending = new Map<string, number[]>();
  /** Every send in order, to expire and evict by age and count. */
  #order: Array<{ key: string; at: number }> = [];
  #head = 0;

  constructor(capacity: number, ttlMs: number, now: () => number) {
    this.#capacity = capacity;
    this.#ttlMs = ttlMs;
    this.#now = now;
  }

  sent(topic: string, payload: Uint8Array): void {
    const key = fingerprint(topic, payload);
    const at = this.#now();
    this.#expire(at);
    const times = this.#pending.get(key);
    if (times === undefined) this.#pending.set(key, [at]);
    else times.push(at);
    this.#order.push({ key, at });
    if (this.#order.length - this.#head > this.#capacity) this.#drop(this.#order[this.#head++]!);
    if (this.#head > this.#capacity) {
      this.#order = this.#order.slice(this.#head);
      this.#head = 0;
    }
  }

  /** True (once per send) when this message is one that was sent. */
  isEcho(topic: string, payload: Uint8Array): boolean {
    this.#expire(this.#now());
    const key = fingerprint(topic, payload);
    const times = this.#pending.get(key);
    if (times === undefined) return false;
    times.shift();
    if (times.length === 0) this.#pending.delete(key);
    return true;
  }

  #expire(now: number): void {
    const oldest = now - this.#ttlMs;
    while (this.#head < this.#order.length && this.#order[this.#head]!.at < oldest) {
      this.#drop(this.#order[this.#head++]!);
    }
  }

  /** Forget one send, unless its echo already consumed it. */
  #drop(entry: { key: string; at: number }): void {
    const times = this.#pending.get(entry.key);
    if (times === undefined || times[0]! > entry.at) return;
    times.shift();
    if (times.length === 0) this.#pending.delete(entry.key);
  }
}
