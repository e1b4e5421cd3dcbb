/**
 * Shared subscriptions (`$share/{group}/{filter}`): each message matching a group's filter goes to exactly one
 * member of the group, chosen by a strategy (round robin by default), preferring connected members.
 * @module
 */

import type { SharedSubscriptionStrategy } from "../options.ts";
import { SubscriptionIndex } from "../topics/subscription_index.ts";
import type { Subscription } from "./subscription.ts";

/** One group: a name, the inner filter, and the subscriptions of its members. */
export interface SharedGroup {
  readonly name: string;
  readonly filter: string;
  readonly members: Subscription[];
  next: number;
}

/** The shared subscription groups of a broker, indexed by inner filter. */
export class SharedGroups {
  #index = new SubscriptionIndex<SharedGroup>();
  #groups = new Map<string, SharedGroup>();
  #strategy: SharedSubscriptionStrategy;

  constructor(strategy: SharedSubscriptionStrategy = "round-robin") {
    if (strategy !== "round-robin" && strategy !== "random") {
      throw new RangeError(
        `Cannot use shared subscription strategy "${strategy}": expected round-robin or random`,
      );
    }
    this.#strategy = strategy;
  }

  /** Number of groups. */
  get size(): number {
    return this.#groups.size;
  }

  /** Add or replace a member's subscription (`sub.filter` is the full `$share/...` filter). */
  add(group: string, filter: string, sub: Subscription): void {
    const key = `${group}\u0000${filter}`;
    let g = this.#groups.get(key);
    if (g === undefined) {
      g = { name: group, filter, members: [], next: 0 };
      this.#groups.set(key, g);
      this.#index.add(filter, group, g);
    }
    const i = g.members.findIndex((m) => m.session === sub.session);
    if (i >= 0) g.members[i] = sub;
    else g.members.push(sub);
  }

  /** Remove a member; the group goes when its last member does. */
  remove(group: string, filter: string, sub: Subscription): void {
    const key = `${group}\u0000${filter}`;
    const g = this.#groups.get(key);
    if (g === undefined) return;
    const i = g.members.findIndex((m) => m.session === sub.session);
    if (i < 0) return;
    g.members.splice(i, 1);
    if (g.next > i) g.next--;
    if (g.members.length === 0) {
      this.#groups.delete(key);
      this.#index.remove(filter, group);
    }
  }

  /** For each group whose filter matches `topic`, the one member that gets the message. */
  match(topic: string, visit: (member: Subscription) => void): void {
    this.#index.match(topic, (_name, group) => {
      const member = this.#pick(group);
      if (member !== undefined) visit(member);
    });
  }

  /** The member of the group `$share/{group}/{filter}` that gets the next message (a cluster routes by group). */
  member(group: string, filter: string): Subscription | undefined {
    const g = this.#groups.get(`${group}\u0000${filter}`);
    return g === undefined ? undefined : this.#pick(g);
  }

  /** Every group (for the API and tests). */
  groups(): IterableIterator<SharedGroup> {
    return this.#groups.values();
  }

  #pick(group: SharedGroup): Subscription | undefined {
    const members = group.members;
    const n = members.length;
    if (n === 0) return undefined;
    if (this.#strategy === "random") {
      const connected = members.filter((m) => m.session.connected);
      const pool = connected.length > 0 ? connected : members;
      return pool[Math.floor(Math.random() * pool.length)];
    }
    // Round robin over connected members; when none is connected, over all (the message is queued).
    for (let k = 0; k < n; k++) {
      const i = (group.next + k) % n;
      if (members[i]!.session.connected) {
        group.next = (i + 1) % n;
        return members[i];
      }
    }
    const i = group.next % n;
    group.next = (i + 1) % n;
    return members[i];
  }
}
