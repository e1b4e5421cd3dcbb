/**
 * The subscription trie: which clients subscribed to which filters, and who gets a topic.
 * @module
 */

const DOLLAR = 36; // "$"

/**
 * One trie node: one filter level. Children and subscribers sit inline while there is only one of
 * them, and move to a Map from the second on: with a million mostly distinct filters
 * (`devices/{id}/cmd`) that spares two Maps per node, which is most of the memory.
 */
class Node<T> {
  /** Key of the only child while `kids` is undefined. */
  k1 = "";
  /** The only child, while `kids` is undefined. */
  c1: Node<T> | undefined = undefined;
  /** Literal children by level, once there are two or more. */
  kids: Map<string, Node<T>> | undefined = undefined;
  /** The child for a `+` level. */
  plus: Node<T> | undefined = undefined;
  /** The child for a `#` level (always a leaf for valid filters). */
  hash: Node<T> | undefined = undefined;
  /** The filter whose subscriptions end here (every subscription of a node shares it). */
  filter = "";
  /** The only subscriber's client id, while `subs` is undefined. */
  cid1: string | undefined = undefined;
  /** The only subscriber's value. */
  val1: T | undefined = undefined;
  /** Subscribers by client id, once there are two or more. */
  subs: Map<string, T> | undefined = undefined;
}

function childOf<T>(node: Node<T>, level: string): Node<T> | undefined {
  if (node.kids !== undefined) return node.kids.get(level);
  return node.c1 !== undefined && node.k1 === level ? node.c1 : undefined;
}

function isEmpty<T>(node: Node<T>): boolean {
  return node.c1 === undefined && node.kids === undefined && node.plus === undefined &&
    node.hash === undefined && node.cid1 === undefined && node.subs === undefined;
}

function emit<T>(node: Node<T>, visit: (clientId: string, value: T, filter: string) => void): void {
  if (node.subs !== undefined) {
    const filter = node.filter;
    for (const [clientId, value] of node.subs) visit(clientId, value, filter);
  } else if (node.cid1 !== undefined) {
    visit(node.cid1, node.val1 as T, node.filter);
  }
}

/**
 * Subscriptions keyed by filter level, for matching a topic against a million filters without
 * looking at the ones that cannot match.
 *
 * Filters are taken as valid (see `checkTopicFilter`). A shared filter `$share/g/a/+` is stored
 * and matched as an ordinary filter whose first level is `$share`: it matches only topics that
 * start with `$share/g/a/`, never `a/b`. The broker keeps shared subscriptions in an index of
 * their own, keyed by the inner filter.
 *
 * @example
 * ```ts
 * const index = new SubscriptionIndex<number>();
 * index.add("a/+", "c1", 1);
 * index.match("a/b", (clientId, qos, filter) => {}); // ("c1", 1, "a/+")
 * ```
 */
export class SubscriptionIndex<T> {
  #root = new Node<T>();
  #size = 0;

  /** Number of (filter, client) subscriptions. */
  get size(): number {
    return this.#size;
  }

  /** Add or replace client's subscription to filter; returns true when it is new (not a replacement). */
  add(filter: string, clientId: string, value: T): boolean {
    const levels = filter.split("/");
    let node = this.#root;
    for (const level of levels) {
      let next: Node<T> | undefined;
      if (level === "+") {
        next = node.plus ??= new Node<T>();
      } else if (level === "#") {
        next = node.hash ??= new Node<T>();
      } else {
        next = childOf(node, level);
        if (next === undefined) {
          next = new Node<T>();
          if (node.kids !== undefined) {
            node.kids.set(level, next);
          } else if (node.c1 === undefined) {
            node.k1 = level;
            node.c1 = next;
          } else {
            node.kids = new Map([[node.k1, node.c1], [level, next]]);
            node.k1 = "";
            node.c1 = undefined;
          }
        }
      }
      node = next;
    }
    if (node.subs !== undefined) {
      const isNew = !node.subs.has(clientId);
      node.subs.set(clientId, value);
      if (isNew) this.#size++;
      return isNew;
    }
    if (node.cid1 === undefined) {
      node.filter = filter;
      node.cid1 = clientId;
      node.val1 = value;
      this.#size++;
      return true;
    }
    if (node.cid1 === clientId) {
      node.val1 = value;
      return false;
    }
    node.subs = new Map([[node.cid1, node.val1 as T], [clientId, value]]);
    node.cid1 = undefined;
    node.val1 = undefined;
    this.#size++;
    return true;
  }

  /** Remove client's subscription to filter; returns true when it existed. Prunes emptied nodes. */
  remove(filter: string, clientId: string): boolean {
    const levels = filter.split("/");
    const path: Node<T>[] = [this.#root];
    let node: Node<T> | undefined = this.#root;
    for (const level of levels) {
      node = level === "+" ? node.plus : level === "#" ? node.hash : childOf(node, level);
      if (node === undefined) return false;
      path.push(node);
    }
    if (node.subs !== undefined) {
      if (!node.subs.delete(clientId)) return false;
      if (node.subs.size === 1) {
        const [[cid, value]] = node.subs;
        node.cid1 = cid;
        node.val1 = value;
        node.subs = undefined;
      }
    } else if (node.cid1 === clientId) {
      node.cid1 = undefined;
      node.val1 = undefined;
      node.filter = "";
    } else {
      return false;
    }
    this.#size--;
    for (let depth = levels.length; depth > 0 && isEmpty(path[depth]); depth--) {
      detach(path[depth - 1], levels[depth - 1]);
    }
    return true;
  }

  /**
   * Call `visit` once per (clientId, filter) subscription that matches `topic` (a valid topic
   * name). The topic is split once; the walk keeps a stack only where a `+` branch forks.
   * [MQTT-4.7.2-1]: for a topic starting with `$`, the root's `+` and `#` children are skipped.
   */
  match(topic: string, visit: (clientId: string, value: T, filter: string) => void): void {
    const levels = topic.split("/");
    const n = levels.length;
    let node: Node<T> | undefined = this.#root;
    let i = 0;
    if (topic.charCodeAt(0) === DOLLAR) {
      node = childOf(node, levels[0]);
      i = 1;
    }
    let stackNodes: Node<T>[] | undefined;
    let stackDepths: number[] | undefined;
    while (node !== undefined) {
      // `#` also matches the parent level: `a/#` matches `a`.
      if (node.hash !== undefined) emit(node.hash, visit);
      let next: Node<T> | undefined;
      if (i === n) {
        emit(node, visit);
      } else {
        if (node.plus !== undefined) {
          (stackNodes ??= []).push(node.plus);
          (stackDepths ??= []).push(i + 1);
        }
        // [MQTT-4.7.3-4] levels are compared as given, with no normalisation.
        next = childOf(node, levels[i]);
      }
      if (next !== undefined) {
        node = next;
        i++;
      } else if (stackNodes !== undefined && stackNodes.length > 0) {
        node = stackNodes.pop();
        i = (stackDepths as number[]).pop() as number;
      } else {
        node = undefined;
      }
    }
  }

  /** Every subscription, depth first (for `$SYS`, the API and tests). */
  *entries(): IterableIterator<{ filter: string; clientId: string; value: T }> {
    const stack: Node<T>[] = [this.#root];
    while (stack.length > 0) {
      const node = stack.pop() as Node<T>;
      if (node.subs !== undefined) {
        for (const [clientId, value] of node.subs) yield { filter: node.filter, clientId, value };
      } else if (node.cid1 !== undefined) {
        yield { filter: node.filter, clientId: node.cid1, value: node.val1 as T };
      }
      if (node.kids !== undefined) {
        for (const child of node.kids.values()) stack.push(child);
      } else if (node.c1 !== undefined) {
        stack.push(node.c1);
      }
      if (node.plus !== undefined) stack.push(node.plus);
      if (node.hash !== undefined) stack.push(node.hash);
    }
  }
}

/** Unlink the (empty) child reached from `parent` by `level`. */
function detach<T>(parent: Node<T>, level: string): void {
  if (level === "+") {
    parent.plus = undefined;
  } else if (level === "#") {
    parent.hash = undefined;
  } else if (parent.kids !== undefined) {
    parent.kids.delete(level);
    if (parent.kids.size === 1) {
      // Back to the inline form, so a node that once forked costs no more than one that never did.
      const [[key, child]] = parent.kids;
      parent.k1 = key;
      parent.c1 = child;
      parent.kids = undefined;
    }
  } else {
    parent.k1 = "";
    parent.c1 = undefined;
  }
}
