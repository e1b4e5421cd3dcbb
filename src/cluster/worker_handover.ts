/**
 * A session moving from one broker worker to another without losing a message on the way. Every worker sends
 * messages straight to the workers that want them, so when a session leaves worker A for worker B, messages for
 * it may still be travelling to A from every other worker. A takeover round therefore cuts each worker's stream
 * at one point, its mark:
 *
 * 1. A closes the connection, takes the session's state and *holds*: it keeps its interest in the session's
 *    filters and catches the messages for it.
 * 2. The hub gives B the same interest, and each worker, once it has applied that (it now sends these messages to
 *    B as well), posts a mark behind everything it sent to A and to B. A's own clients switch when A hears of the
 *    round.
 * 3. A keeps what each worker sent before its mark; B catches what each sent after it, and what B's own clients
 *    publish. Together that is every message once, in each publisher's order.
 * 4. With every mark in, A sends the state and its part to B, which adds its own catch, and keeps catching until
 *    the broker has adopted the session and routes to it itself.
 *
 * A worker that dies during a round counts as marked; a round left without an answer ends after a bound.
 * @module
 */

import type { Message } from "../message.ts";
import type { StoredSubscription } from "../storage/storage.ts";
import { SubscriptionIndex } from "../topics/subscription_index.ts";
import { capturedDelivery, queueWithCaptured } from "./captured.ts";
import type { ClusterNode, HandedDelivery, HandedSession } from "./cluster_bus.ts";
import type { WorkerToHub } from "./worker_protocol.ts";

/** How long the old owner waits for marks before it hands over what it has. */
const HOLD_MS = 5000;
/** How long the new owner catches messages for a session the broker has not adopted (a refused CONNECT). */
const CAPTURE_MS = 30_000;

/** What the round needs from the worker's bus. */
export interface HandoverIo {
  /** Post a mark of `round` to worker `to`, behind every message sent to it so far. */
  mark(to: number, round: number): void;
  /** Send to the hub. */
  post(data: WorkerToHub): void;
  /** A reference to a filter that the held session kept, now let go. */
  interestDown(filter: string): void;
}

/** The old owner's side of a round. */
interface Hold {
  readonly round: number;
  readonly clientId: string;
  readonly handed: HandedSession;
  readonly filters: SubscriptionIndex<true>;
  /** Interest the session had here, given up when the round ends. */
  readonly deferred: string[];
  readonly marked: Set<number>;
  readonly messages: Message[];
  sources: Set<number> | undefined;
  /** This worker's own clients publish to the new owner now. */
  switched: boolean;
  readonly timer: ReturnType<typeof setTimeout>;
}

/** The new owner's side of a round. */
interface Capture {
  readonly round: number;
  readonly clientId: string;
  readonly filters: SubscriptionIndex<true>;
  readonly sources: ReadonlySet<number>;
  readonly marked: Set<number>;
  readonly messages: Message[];
  /** Once the session's state is here: its queue, which catches go straight to. */
  queued: HandedDelivery[] | undefined;
  subscriptions: readonly StoredSubscription[] | undefined;
  readonly timer: ReturnType<typeof setTimeout>;
}

/** The takeover rounds one worker takes part in, as old owner, new owner or a worker that marks. */
export class WorkerHandovers {
  readonly #self: number;
  readonly #io: HandoverIo;
  readonly #holds = new Map<number, Hold>();
  readonly #captures = new Map<number, Capture>();
  /** Marks that came before this worker knew of their round. */
  readonly #early = new Map<number, Set<number>>();
  #deferring: string[] | undefined;
  #hit = false;
  readonly #onHit = () => (this.#hit = true);

  constructor(self: number, io: HandoverIo) {
    this.#self = self;
    this.#io = io;
  }

  /** True while a round holds or catches messages: only then does {@link seen} need calling. */
  get active(): boolean {
    return this.#holds.size > 0 || this.#captures.size > 0;
  }

  /** True when a session being handed over gives up its interest in `filter`: kept until its round ends. */
  defer(filter: string): boolean {
    if (this.#deferring === undefined) return false;
    this.#deferring.push(filter);
    return true;
  }

  /** Old owner: hand `clientId` over in `round`, holding its messages until every worker has marked. */
  hold(round: number, clientId: string, local: ClusterNode): void {
    this.#deferring = [];
    let handed: HandedSession | undefined;
    let deferred: string[];
    try {
      handed = local.handOver(clientId);
    } finally {
      deferred = this.#deferring;
      this.#deferring = undefined;
    }
    if (handed === undefined) {
      for (const f of deferred) this.#io.interestDown(f);
      this.#io.post({ t: "handed", id: round, handed: undefined });
      return;
    }
    const filters = new SubscriptionIndex<true>();
    const names: string[] = [];
    for (const s of handed.subscriptions) {
      if (s.filter.startsWith("$share/")) continue;
      filters.add(s.filter, "", true);
      names.push(s.filter);
    }
    const hold: Hold = {
      round,
      clientId,
      handed,
      filters,
      deferred,
      marked: this.#takeEarly(round),
      messages: [],
      sources: undefined,
      switched: false,
      timer: setTimeout(() => this.#release(hold), HOLD_MS),
    };
    (hold.timer as { unref?: () => void }).unref?.();
    this.#holds.set(round, hold);
    this.#io.post({ t: "holding", id: round, filters: names });
  }

  /** Old owner: the round's marking workers are `sources`; this worker's own clients switch to `to` now. */
  onHold(round: number, to: number, sources: readonly number[]): void {
    const hold = this.#holds.get(round);
    if (hold === undefined) return;
    hold.sources = new Set(sources);
    hold.switched = true;
    if (to >= 0) this.#io.mark(to, round);
    this.#check(hold);
  }

  /** New owner: catch messages for `clientId` from now on, from each of `sources` once it has marked. */
  onCapture(round: number, clientId: string, filters: readonly string[], sources: readonly number[]): void {
    const index = new SubscriptionIndex<true>();
    for (const f of filters) index.add(f, "", true);
    const capture: Capture = {
      round,
      clientId,
      filters: index,
      sources: new Set(sources),
      marked: this.#takeEarly(round),
      messages: [],
      queued: undefined,
      subscriptions: undefined,
      timer: setTimeout(() => this.#end(capture), CAPTURE_MS),
    };
    (capture.timer as { unref?: () => void }).unref?.();
    this.#captures.set(round, capture);
  }

  /** Worker `from` marked `round`: what it sends after this goes to the new owner. */
  onMark(from: number, round: number): void {
    const hold = this.#holds.get(round);
    if (hold !== undefined) {
      hold.marked.add(from);
      this.#check(hold);
      return;
    }
    const capture = this.#captures.get(round);
    if (capture !== undefined) capture.marked.add(from);
    else {
      let early = this.#early.get(round);
      if (early === undefined) this.#early.set(round, early = new Set());
      early.add(from);
    }
  }

  /** A message routed here, from worker `from` (this worker's own index for its own clients' messages). */
  seen(message: Message, from: number): void {
    for (const hold of this.#holds.values()) {
      const before = from === this.#self ? !hold.switched : !hold.marked.has(from);
      if (before && this.#matches(hold.filters, message)) hold.messages.push(message);
    }
    for (const capture of this.#captures.values()) {
      const after = from === this.#self || !capture.sources.has(from) || capture.marked.has(from);
      if (!after || !this.#matches(capture.filters, message)) continue;
      if (capture.queued === undefined) capture.messages.push(message);
      else {
        const d = capturedDelivery(capture.clientId, capture.subscriptions!, message);
        if (d !== undefined) capture.queued.push(d);
      }
    }
  }

  /**
   * New owner: the session's state arrived for `round`. Returns it with what this worker caught so far; its queue
   * keeps taking what is caught until {@link adopted}.
   */
  acquired(round: number, handed: HandedSession | undefined): HandedSession | undefined {
    const capture = this.#captures.get(round);
    if (capture === undefined) return handed;
    if (handed === undefined) {
      this.#end(capture);
      return undefined;
    }
    const queued = queueWithCaptured(capture.clientId, handed, capture.messages);
    capture.messages.length = 0;
    capture.queued = queued;
    capture.subscriptions = handed.subscriptions;
    return { ...handed, queued };
  }

  /** New owner: the broker adopted `clientId`'s session and routes to it itself now. */
  adopted(clientId: string): void {
    for (const capture of this.#captures.values()) {
      if (capture.clientId === clientId && capture.queued !== undefined) this.#end(capture);
    }
  }

  /** Everything ends (the bus closes): rounds answer with what they have. */
  close(): void {
    for (const hold of [...this.#holds.values()]) this.#release(hold);
    for (const capture of [...this.#captures.values()]) this.#end(capture);
  }

  #matches(filters: SubscriptionIndex<true>, message: Message): boolean {
    this.#hit = false;
    filters.match(message.topic, this.#onHit);
    return this.#hit;
  }

  #takeEarly(round: number): Set<number> {
    const early = this.#early.get(round) ?? new Set<number>();
    this.#early.delete(round);
    return early;
  }

  #check(hold: Hold): void {
    if (!hold.switched || hold.sources === undefined) return;
    for (const s of hold.sources) if (!hold.marked.has(s)) return;
    this.#release(hold);
  }

  /** Old owner: hand the state and the held messages over, and let go of the session's interest. */
  #release(hold: Hold): void {
    if (!this.#holds.delete(hold.round)) return;
    clearTimeout(hold.timer);
    const queued = queueWithCaptured(hold.clientId, hold.handed, hold.messages);
    this.#io.post({ t: "handed", id: hold.round, handed: { ...hold.handed, queued } });
    for (const f of hold.deferred) this.#io.interestDown(f);
  }

  #end(capture: Capture): void {
    if (!this.#captures.delete(capture.round)) return;
    clearTimeout(capture.timer);
    this.#io.post({ t: "release", id: capture.round });
  }
}
