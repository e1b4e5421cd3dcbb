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

/** Remembers the last `capacity` messages sent; each may be recognised (and forgotten) once when it comes back. */
export class EchoFilter {
  #capacity: number;
  #counts = new Map<string, number>();
  #order: string[] = [];
  #head = 0;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  sent(topic: string, payload: Uint8Array): void {
    const key = fingerprint(topic, payload);
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
    this.#order.push(key);
    if (this.#order.length - this.#head > this.#capacity) this.#forget(this.#order[this.#head++]!);
    if (this.#head > this.#capacity) {
      this.#order = this.#order.slice(this.#head);
      this.#head = 0;
    }
  }

  /** True (once per send) when this message is one that was sent. */
  isEcho(topic: string, payload: Uint8Array): boolean {
    const key = fingerprint(topic, payload);
    if (!this.#counts.has(key)) return false;
    this.#forget(key);
    return true;
  }

  #forget(key: string): void {
    const n = this.#counts.get(key);
    if (n === undefined) return;
    if (n <= 1) this.#counts.delete(key);
    else this.#counts.set(key, n - 1);
  }
}
