/**
 * Shared-subscription groups across broker workers, for the hub: which workers have members of each
 * `$share/{group}/{filter}`, and whose turn it is. Each message for a group goes to one member worker, in turn;
 * that worker's broker picks the member session.
 * @module
 */

import { SubscriptionIndex } from "../topics/subscription_index.ts";

/** A group's member workers and whose turn is next. */
interface Group {
  readonly workers: number[];
  next: number;
}

/** Groups by filter, with their member workers. */
export class SharedGroups {
  readonly #index = new SubscriptionIndex<Group>();
  /** The same groups by `group\0filter`. */
  readonly #table = new Map<string, Group>();

  /** The filter of every group, once per group. */
  filters(): string[] {
    return [...this.#table.keys()].map((key) => key.split("\u0000")[1]!);
  }

  /** `worker` has a member of the group now; true when the group is new (its filter is wanted from now on). */
  join(worker: number, group: string, filter: string): boolean {
    const key = `${group}\u0000${filter}`;
    let g = this.#table.get(key);
    const created = g === undefined;
    if (g === undefined) {
      g = { workers: [], next: 0 };
      this.#table.set(key, g);
      this.#index.add(filter, group, g);
    }
    if (!g.workers.includes(worker)) g.workers.push(worker);
    return created;
  }

  /** `worker` has no member of the group left; returns the filter when the group is gone with it. */
  leave(worker: number, group: string, filter: string): string | undefined {
    const key = `${group}\u0000${filter}`;
    const g = this.#table.get(key);
    if (g === undefined) return undefined;
    const i = g.workers.indexOf(worker);
    if (i >= 0) g.workers.splice(i, 1);
    if (g.workers.length > 0) return undefined;
    this.#table.delete(key);
    this.#index.remove(filter, group);
    return filter;
  }

  /** For each group matching `topic`, the worker whose turn it is. */
  pick(topic: string, visit: (worker: number, group: string, filter: string) => void): void {
    this.#index.match(topic, (group, g, filter) => {
      if (g.workers.length === 0) return;
      visit(g.workers[g.next++ % g.workers.length]!, group, filter);
    });
  }
}
