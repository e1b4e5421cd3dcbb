/**
 * Retained messages by topic, in a trie so that a new subscription finds its retained messages
 * without scanning every retained topic.
 * @module
 */

const DOLLAR = 36; // "$"

/** One topic level. The first child sits inline; a Map holds them from the second on. */
class Node<M> {
  /** Key of the only child while `kids` is undefined. */
  k1 = "";
  /** The only child while `kids` is undefined. */
  c1: Node<M> | undefined = undefined;
  /** Children by level, once there are two or more. */
  kids: Map<string, Node<M>> | undefined = undefined;
  /** The topic retained at this node, undefined when none is. */
  topic: string | undefined = undefined;
  /** The retained message (meaningful only when `topic` is set). */
  message: M | undefined = undefined;
}

function childOf<M>(node: Node<M>, level: string): Node<M> | undefined {
  if (node.kids !== undefined) return node.kids.get(level);
  return node.c1 !== undefined && node.k1 === level ? node.c1 : undefined;
}

/**
 * Push the children of `node` onto `stack`, leaving out those whose level starts with `$` when
 * `skipDollar` is set ([MQTT-4.7.2-1] for a wildcard in the first level).
 */
function pushChildren<M>(node: Node<M>, stack: Node<M>[], skipDollar: boolean): void {
  if (node.kids !== undefined) {
    for (const [key, child] of node.kids) {
      if (!skipDollar || key.charCodeAt(0) !== DOLLAR) stack.push(child);
    }
  } else if (node.c1 !== undefined && (!skipDollar || node.k1.charCodeAt(0) !== DOLLAR)) {
    stack.push(node.c1);
  }
}

/**
 * The retained message of each topic.
 *
 * @example
 * ```ts
 * const store = new RetainedStore<string>();
 * store.set("a/b", "hello");
 * store.match("a/+", (topic, message) => {}); // ("a/b", "hello")
 * ```
 */
export class RetainedStore<M> {
  #root = new Node<M>();
  #size = 0;

  /** Number of retained topics. */
  get size(): number {
    return this.#size;
  }

  /** Retain `message` for `topic` (a valid topic name), replacing what was retained there. */
  set(topic: string, message: M): void {
    let node = this.#root;
    for (const level of topic.split("/")) {
      let next = childOf(node, level);
      if (next === undefined) {
        next = new Node<M>();
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
      node = next;
    }
    if (node.topic === undefined) this.#size++;
    node.topic = topic;
    node.message = message;
  }

  /** Forget the retained message of `topic`; returns true when there was one. Prunes emptied nodes. */
  delete(topic: string): boolean {
    const levels = topic.split("/");
    const path: Node<M>[] = [this.#root];
    let node: Node<M> | undefined = this.#root;
    for (const level of levels) {
      node = childOf(node, level);
      if (node === undefined) return false;
      path.push(node);
    }
    if (node.topic === undefined) return false;
    node.topic = undefined;
    node.message = undefined;
    this.#size--;
    for (let depth = levels.length; depth > 0; depth--) {
      const child = path[depth];
      if (child.topic !== undefined || child.c1 !== undefined || child.kids !== undefined) break;
      detach(path[depth - 1], levels[depth - 1]);
    }
    return true;
  }

  /** The message retained for `topic`, if any. */
  get(topic: string): M | undefined {
    let node: Node<M> | undefined = this.#root;
    for (const level of topic.split("/")) {
      node = childOf(node, level);
      if (node === undefined) return undefined;
    }
    return node.topic !== undefined ? node.message : undefined;
  }

  /**
   * Call `visit` for each retained message whose topic matches `filter` (a valid, non-shared
   * topic filter). Only the branches the filter can reach are walked; `#` walks its subtree.
   * [MQTT-4.7.2-1]: a `+` or `#` first level never reaches a topic starting with `$`.
   * The walk stops when `visit` returns false.
   */
  match(filter: string, visit: (topic: string, message: M) => unknown): void {
    const levels = filter.split("/");
    const n = levels.length;
    const nodes: Node<M>[] = [this.#root];
    const depths: number[] = [0];
    while (nodes.length > 0) {
      const node = nodes.pop() as Node<M>;
      const i = depths.pop() as number;
      if (i === n) {
        if (node.topic !== undefined && visit(node.topic, node.message as M) === false) return;
        continue;
      }
      const level = levels[i];
      if (level === "#") {
        // `a/#` matches `a` itself, then everything below it.
        if (node.topic !== undefined && visit(node.topic, node.message as M) === false) return;
        const subtree: Node<M>[] = [];
        pushChildren(node, subtree, i === 0);
        while (subtree.length > 0) {
          const sub = subtree.pop() as Node<M>;
          if (sub.topic !== undefined && visit(sub.topic, sub.message as M) === false) return;
          pushChildren(sub, subtree, false);
        }
      } else if (level === "+") {
        const before = nodes.length;
        pushChildren(node, nodes, i === 0);
        for (let k = before; k < nodes.length; k++) depths.push(i + 1);
      } else {
        // [MQTT-4.7.3-4] levels are compared as given, with no normalisation.
        const child = childOf(node, level);
        if (child !== undefined) {
          nodes.push(child);
          depths.push(i + 1);
        }
      }
    }
  }

  /** Every retained (topic, message), depth first. */
  *entries(): IterableIterator<[string, M]> {
    const stack: Node<M>[] = [this.#root];
    while (stack.length > 0) {
      const node = stack.pop() as Node<M>;
      if (node.topic !== undefined) yield [node.topic, node.message as M];
      pushChildren(node, stack, false);
    }
  }
}

/** Unlink the (empty) child reached from `parent` by `level`. */
function detach<M>(parent: Node<M>, level: string): void {
  if (parent.kids !== undefined) {
    parent.kids.delete(level);
    if (parent.kids.size === 1) {
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
