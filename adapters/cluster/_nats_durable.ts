/**
 * A QoS 1/2 PUBLISH is acknowledged once every node that keeps it for a persistent session has it in JetStream,
 * not only the publisher's node. Nodes subscribe `{prefix}.d.{filter}` for the filters of their persistent
 * sessions (reference-counted); after forwarding a QoS 1/2 message the publisher's node sends its cluster id
 * there as a request. Each node that has the message answers at once (`1`: it is being stored, `0`: nothing
 * to store) and, when stored, again (`2`). The publisher waits for a `2` per `1` announced within a short
 * window after the first answer; with nobody subscribed NATS answers "no responders" at once. That answer is
 * remembered per subject (10 s at most) until some node announces a new durable filter on `{prefix}.dnew`, so
 * messages that no persistent session wants cost no round trip at all once their subject is known.
 * @module
 */

import { createInbox, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import type { Logger } from "../../src/logger.ts";
import type { ClusterNode } from "../../src/cluster/cluster_bus.ts";
import { filterSubjects, topicSubject } from "../../src/cluster/subjects.ts";

/** Options of {@link NatsDurable}. */
export interface NatsDurableOptions {
  nc: NatsConnection;
  prefix: string;
  logger: Logger;
}

interface Waiting {
  subject: string;
  announced: number;
  stored: number;
  answered: boolean;
  resolve: () => void;
  timer: ReturnType<typeof setTimeout>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** After the first answer, how long other nodes' immediate answers may take to arrive. */
const WINDOW_MS = 10;
/** Longest a PUBACK waits for other nodes' storage (then it goes, and a warning is logged). */
const MAX_WAIT_MS = 3000;
/** Durability promises of messages received, kept until their confirmation request arrives. */
const KEPT = 10_000;
/** How long a subject nobody keeps durably is remembered, and how many such subjects. */
const NEGATIVE_MS = 10_000;
const NEGATIVE_MAX = 10_000;

/** Durable interest and confirmations. */
export class NatsDurable {
  readonly #o: NatsDurableOptions;
  readonly #inbox: string;
  #local: ClusterNode | undefined;
  #inboxSub: Subscription | undefined;
  #next = 0;
  #waiting = new Map<number, Waiting>();
  /** Filters of persistent sessions: reference count and subscriptions. */
  #filters = new Map<string, { count: number; subs: Subscription[] }>();
  /** Persistent filters of each session. */
  #sessions = new Map<string, readonly string[]>();
  /** Durability of messages received from other nodes, by cluster id. */
  #received = new Map<string, Promise<void> | undefined>();
  /** Subjects no node keeps durably, until when. */
  #negative = new Map<string, number>();

  constructor(options: NatsDurableOptions) {
    this.#o = options;
    this.#inbox = createInbox(`${options.prefix}.ack`);
  }

  start(local: ClusterNode): void {
    this.#local = local;
    this.#inboxSub = this.#o.nc.subscribe(`${this.#inbox}.*`, {
      callback: (err, msg) => {
        if (err !== null) return;
        const id = Number(msg.subject.slice(this.#inbox.length + 1));
        const w = this.#waiting.get(id);
        if (w === undefined) return;
        if (msg.data.length === 0) {
          // No responders (status 503): no node keeps this message for a persistent session.
          if (msg.headers?.code === 503) {
            this.#remember(w.subject);
            this.#done(id, w);
          }
          return;
        }
        const answer = msg.data[0];
        if (answer === 0x31) w.announced++;
        else if (answer === 0x32) w.stored++;
        if (!w.answered) {
          w.answered = true;
          setTimeout(() => this.#check(id), WINDOW_MS);
        } else this.#check(id);
      },
    });
    // Another node has a new durable filter: subjects remembered as nobody's may be someone's now.
    this.#o.nc.subscribe(`${this.#o.prefix}.dnew`, { callback: () => this.#negative.clear() });
    for (const [filter, entry] of this.#filters) entry.subs = this.#subscribe(filter);
    if (this.#filters.size > 0) this.#announce();
  }

  /** A session's record changed: persistent sessions' filters are durable interest. */
  session(clientId: string, filters: readonly string[] | undefined): void {
    const before = this.#sessions.get(clientId) ?? [];
    const after = (filters ?? []).filter((f) => !f.startsWith("$share/"));
    if (after.length === 0) this.#sessions.delete(clientId);
    else this.#sessions.set(clientId, after);
    for (const f of after) if (!before.includes(f)) this.#interest(f, 1);
    for (const f of before) if (!after.includes(f)) this.#interest(f, -1);
  }

  /** A message from another node was routed here: remember what its storage waits on. */
  received(id: string, durability: Promise<void> | undefined): void {
    if (durability === undefined && this.#filters.size === 0) return;
    this.#received.set(id, durability);
    if (this.#received.size > KEPT) this.#received.delete(this.#received.keys().next().value!);
  }

  /**
   * Resolves once every node that keeps the message `id` (published on `topic`) has stored it; undefined when
   * its subject is known to be no node's.
   */
  confirm(topic: string, id: string): Promise<void> | undefined {
    const subject = topicSubject(`${this.#o.prefix}.d`, topic);
    const until = this.#negative.get(subject);
    if (until !== undefined) {
      if (until > Date.now()) return undefined;
      this.#negative.delete(subject);
    }
    const n = ++this.#next;
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        // A node that NATS still counts but that cannot answer (cut off, not yet noticed by its server): its
        // subject is not waited on again for a while, so that publishers are not held three seconds a message.
        this.#o.logger.warn("cluster: other nodes did not confirm storing a message in time; acknowledged", {
          topic,
          waitedMs: MAX_WAIT_MS,
        });
        this.#remember(subject);
        this.#done(n, w);
      }, MAX_WAIT_MS);
      const w: Waiting = { subject, announced: 0, stored: 0, answered: false, resolve, timer };
      this.#waiting.set(n, w);
      try {
        this.#o.nc.publish(subject, encoder.encode(id), {
          reply: `${this.#inbox}.${n}`,
        });
      } catch {
        this.#done(n, w);
      }
    });
  }

  close(): void {
    for (const [n, w] of this.#waiting) this.#done(n, w);
    this.#inboxSub?.unsubscribe();
  }

  #check(n: number): void {
    const w = this.#waiting.get(n);
    if (w !== undefined && w.stored >= w.announced) this.#done(n, w);
  }

  #done(n: number, w: Waiting): void {
    clearTimeout(w.timer);
    this.#waiting.delete(n);
    w.resolve();
  }

  #interest(filter: string, delta: 1 | -1): void {
    let entry = this.#filters.get(filter);
    if (delta === 1) {
      if (entry === undefined) {
        entry = { count: 0, subs: this.#local === undefined ? [] : this.#subscribe(filter) };
        this.#filters.set(filter, entry);
        if (this.#local !== undefined) this.#announce();
      }
      entry.count++;
      return;
    }
    if (entry === undefined || --entry.count > 0) return;
    this.#filters.delete(filter);
    for (const sub of entry.subs) sub.unsubscribe();
  }

  /** Do not wait on `subject` for a while (nobody keeps it, or nobody answers for it). */
  #remember(subject: string): void {
    if (this.#negative.size >= NEGATIVE_MAX) this.#negative.clear();
    this.#negative.set(subject, Date.now() + NEGATIVE_MS);
  }

  #announce(): void {
    try {
      this.#o.nc.publish(`${this.#o.prefix}.dnew`);
    } catch { /* NATS away: the negative entries expire by themselves */ }
  }

  #subscribe(filter: string): Subscription[] {
    return filterSubjects(`${this.#o.prefix}.d`, filter).map((subject) =>
      this.#o.nc.subscribe(subject, {
        callback: (err, msg) => {
          if (err !== null || msg.reply === undefined) return;
          // Unknown here (a second matching filter, or the message matched no session): nothing to wait for.
          const id = decoder.decode(msg.data);
          const durability = this.#received.get(id);
          this.#received.delete(id);
          if (durability === undefined) {
            msg.respond(encoder.encode("0"));
            return;
          }
          msg.respond(encoder.encode("1"));
          durability.then(
            () => msg.respond(encoder.encode("2")),
            () => msg.respond(encoder.encode("2")),
          );
        },
      })
    );
  }
}
