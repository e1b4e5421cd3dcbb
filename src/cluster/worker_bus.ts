/**
 * The {@link ClusterBus} of one broker worker. Routed messages go straight to the other workers that want them
 * ({@link WorkerPeers}); the rest (interest changes, shared-subscription messages, retained messages, wills,
 * takeovers) goes to the hub in the main thread over a {@link WorkerPort}. What the broker hands it in one
 * event-loop turn goes out as one batch per destination at the end of the turn: one postMessage per message would
 * cost more than routing it.
 * @module
 */

import type { ClientInfo } from "../hooks/hook.ts";
import type { Message } from "../message.ts";
import type {
  ClusterBus,
  ClusterNode,
  ClusterSessionRecord,
  ClusterStatus,
  HandedSession,
} from "./cluster_bus.ts";
import { SubscriptionIndex } from "../topics/subscription_index.ts";
import { storedClientInfo } from "../storage/stored_client_info.ts";
import { FrameReader, FrameWriter } from "./worker_frames.ts";
import { WorkerPeers } from "./worker_peers.ts";
import { WorkerHandovers } from "./worker_handover.ts";
import type { HubToWorker, WorkerOp, WorkerPort, WorkerToHub } from "./worker_protocol.ts";
import { ownPayload, workerName } from "./worker_protocol.ts";

/** How often a worker tells the hub its client count (for cluster totals in $SYS and the API). */
const CLIENT_COUNT_MS = 1000;

/** One worker's end of the in-process bus. */
export class WorkerBus implements ClusterBus {
  readonly node: string;
  readonly #index: number;
  readonly #handovers: WorkerHandovers;
  readonly #port: WorkerPort;
  readonly #boot: string;
  #local: ClusterNode | undefined;
  #ops: WorkerOp[] = [];
  readonly #frames = new FrameWriter();
  /** Frames written since the last number op. */
  #run = 0;
  #scheduled = false;
  #urgent = false;
  #nextId = 1;
  readonly #waiting = new Map<number, (handed: HandedSession | undefined) => void>();
  /** Interest was added since the last sync. */
  #unsettled = false;
  readonly #syncs = new Map<number, () => void>();
  #started: (() => void) | undefined;
  #members: ReadonlyArray<readonly [string, number]> = [];
  readonly #peers = new WorkerPeers(
    (message, from) => {
      if (this.#handovers.active) this.#handovers.seen(message, from);
      this.#local?.routeRemote(message);
    },
    (from, round) => this.#handovers.onMark(from, round),
  );
  /** Filters of shared groups (their messages go to the hub, which picks the member), as the hub last said. */
  readonly #wanted = new SubscriptionIndex<true>();
  #hit = false;
  readonly #onHit = () => (this.#hit = true);
  #forwarded = 0;
  #received = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #lastCount = -1;
  readonly #flush = () => this.#send();
  readonly #defer: (run: () => void) => void;

  /**
   * `defer` runs the batch's send later in the same turn; the default, a microtask, sends after each socket read,
   * while the adapters pass `setImmediate` (after every read of the event-loop turn: larger batches).
   */
  constructor(index: number, port: WorkerPort, defer: (run: () => void) => void = queueMicrotask) {
    this.#defer = defer;
    this.#index = index;
    this.#handovers = new WorkerHandovers(index, {
      mark: (to, round) => this.#peers.mark(to, round),
      post: (data) => {
        // Behind what is batched: a release must reach the hub after the adopted session's own interest.
        this.#send();
        this.#post(
          data.t === "handed" && data.handed !== undefined
            ? { ...data, handed: ownSession(data.handed) }
            : data,
        );
      },
      interestDown: (filter) => {
        this.#op(["interest", filter, -1]);
        this.#soon();
      },
    });
    this.node = workerName(index);
    this.#boot = `${this.node}-${Date.now().toString(36)}`;
    this.#port = port;
    port.onMessage((data) => this.#receive(data as HubToWorker));
  }

  /** The direct channel to worker `index`. */
  addPeer(index: number, port: WorkerPort): void {
    this.#peers.add(index, port);
  }

  /** Worker `index` is gone. */
  removePeer(index: number): void {
    this.#peers.remove(index);
  }

  /** Ask the hub for the retained messages, and take them before the first client can connect. */
  start(local: ClusterNode): Promise<void> {
    this.#local = local;
    const started = new Promise<void>((resolve) => (this.#started = resolve));
    this.#post({ t: "start" });
    this.#timer = setInterval(() => this.#countClients(), CLIENT_COUNT_MS);
    (this.#timer as { unref?: () => void }).unref?.();
    return started;
  }

  forward(message: Message): void {
    if (message.topic.startsWith("$SYS")) return;
    if (this.#handovers.active) this.#handovers.seen(message, this.#index);
    // Encoded and sent only to the workers that want it: nothing at all when publisher and subscribers share one.
    const direct = this.#peers.forward(message);
    let toHub = false;
    if (this.#wanted.size > 0) {
      this.#hit = false;
      this.#wanted.match(message.topic, this.#onHit);
      toHub = this.#hit;
      if (toHub) {
        this.#frames.write(message);
        this.#run++;
        this.#forwarded++;
      }
    }
    if (direct || toHub) this.#schedule();
  }

  interest(filter: string, delta: 1 | -1): void {
    // A session handed over in a takeover round keeps its interest until the round ends.
    if (delta === -1 && this.#handovers.defer(filter)) return;
    this.#op(["interest", filter, delta]);
    if (delta === 1) this.#unsettled = true;
    this.#soon();
  }

  sharedInterest(group: string, filter: string, delta: 1 | -1): void {
    this.#op(["shared", group, filter, delta]);
    if (delta === 1) this.#unsettled = true;
    this.#soon();
  }

  /**
   * A sync goes to the hub behind the interest changes; the hub passes it to every other worker behind the `want`
   * ops it derived and answers once all of them have applied those.
   */
  settled(): Promise<void> | undefined {
    if (!this.#unsettled || this.#local === undefined) return undefined;
    this.#unsettled = false;
    const id = this.#nextId++;
    const done = new Promise<void>((resolve) => this.#syncs.set(id, resolve));
    this.#op(["sync", id]);
    this.#send();
    return done;
  }

  /**
   * Interest goes out at the end of this task rather than of the turn: the other workers learn of a subscription
   * while its SUBACK is on the way, so that a message published elsewhere right after it is not missed.
   */
  #soon(): void {
    if (this.#urgent) return;
    this.#urgent = true;
    queueMicrotask(() => {
      this.#urgent = false;
      this.#send();
    });
  }

  retain(message: Message): void {
    if (message.topic.startsWith("$SYS")) return;
    this.#op(["retain", ownPayload(message)]);
  }

  acquire(clientId: string, clean: boolean): Promise<HandedSession | undefined> {
    const id = this.#nextId++;
    // What was batched goes first: the hub must know this worker's interest before it hands a session over.
    this.#send();
    return new Promise((resolve) => {
      this.#waiting.set(id, resolve);
      this.#post({ t: "acquire", id, clientId, clean });
    });
  }

  sessionChanged(clientId: string, record: ClusterSessionRecord | undefined): void {
    if (record === undefined) this.#op(["ended", clientId]);
  }

  will(info: ClientInfo, will: Message | undefined): void {
    this.#op([
      "will",
      info.id,
      will === undefined ? undefined : storedClientInfo(info),
      will && ownPayload(will),
    ]);
  }

  status(): ClusterStatus {
    const self = this.#local?.connectedCount() ?? 0;
    const members = this.#members.length === 0 ? [[this.node, self] as const] : this.#members;
    return {
      node: this.node,
      boot: this.#boot,
      connected: true,
      forwarded: this.#forwarded + this.#peers.sent,
      received: this.#received + this.#peers.received,
      lost: 0,
      members: members.map(([node, clients]) => ({
        node,
        boot: node,
        clients: node === this.node ? self : clients,
        lastSeenMs: 0,
        self: node === this.node,
      })),
    };
  }

  /** The broker adopted `clientId`'s handed session: messages caught for it in its takeover round stop here. */
  adopted(clientId: string): void {
    this.#handovers.adopted(clientId);
  }

  close(): Promise<void> {
    clearInterval(this.#timer);
    this.#handovers.close();
    for (const resolve of this.#syncs.values()) resolve();
    this.#syncs.clear();
    this.#send();
    return Promise.resolve();
  }

  #countClients(): void {
    const n = this.#local?.connectedCount() ?? 0;
    if (n === this.#lastCount) return;
    this.#lastCount = n;
    this.#op(["clients", n]);
  }

  #op(op: WorkerOp): void {
    if (this.#run > 0) {
      this.#ops.push(this.#run);
      this.#run = 0;
    }
    this.#ops.push(op);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    this.#defer(this.#flush);
  }

  #send(): void {
    this.#scheduled = false;
    this.#peers.flush();
    if (this.#run > 0) {
      this.#ops.push(this.#run);
      this.#run = 0;
    }
    if (this.#ops.length === 0) return;
    const ops = this.#ops;
    this.#ops = [];
    if (this.#frames.count === 0) {
      this.#post({ t: "batch", ops });
      return;
    }
    const frames = this.#frames.take();
    this.#post({ t: "batch", ops, frames }, [frames.buffer as ArrayBuffer]);
  }

  #post(data: WorkerToHub, transfer?: ArrayBuffer[]): void {
    this.#port.postMessage(data, transfer);
  }

  #receive(data: HubToWorker): void {
    const local = this.#local;
    switch (data.t) {
      case "batch": {
        if (local === undefined) return;
        const reader = data.frames === undefined ? undefined : new FrameReader(data.frames);
        const synced: number[] = [];
        for (const op of data.ops) {
          if (typeof op === "number") {
            this.#received += op;
            for (let i = 0; i < op; i++) local.routeRemote(reader!.next());
          } else if (op[0] === "shared") {
            this.#received++;
            local.routeShared(op[1], op[2], reader!.next());
          } else if (op[0] === "retained") local.retainedRemote(op[1]);
          else if (op[0] === "will") local.publishWill(op[1] as ClientInfo, op[2]);
          else if (op[0] === "members") this.#members = op[1];
          else if (op[0] === "sync") synced.push(op[1]);
          else if (op[0] === "synced") {
            this.#syncs.get(op[1])?.();
            this.#syncs.delete(op[1]);
          } else if (op[0] === "want") {
            if (op[3] >= 0) this.#peers.want(op[3], op[1], op[2]);
            else if (op[2] === 1) this.#wanted.add(op[1], "", true);
            else this.#wanted.remove(op[1], "");
          } else if (op[0] === "mark") {
            // The wants before it switched this worker's messages for a moving session to the new owner.
            if (op[2] !== this.#index) this.#peers.mark(op[2], op[1]);
            if (op[3] !== this.#index) this.#peers.mark(op[3], op[1]);
          } else if (op[0] === "hold") this.#handovers.onHold(op[1], op[2], op[3]);
          else if (op[0] === "capture") this.#handovers.onCapture(op[1], op[2], op[3], op[4]);
          else if (op[0] === "unmark") this.#handovers.onMark(op[2], op[1]); // a dead worker counts as marked
        }
        if (synced.length > 0) {
          for (const id of synced) this.#op(["synced", id]);
          this.#send();
        }
        return;
      }
      case "started":
        for (const message of data.retained) local?.retainedRemote(message);
        this.#started?.();
        this.#started = undefined;
        return;
      case "acquired": {
        const resolve = this.#waiting.get(data.id);
        this.#waiting.delete(data.id);
        const handed = data.round === undefined
          ? data.handed
          : this.#handovers.acquired(data.round, data.handed);
        resolve?.(handed);
        return;
      }
      case "handOver": {
        if (data.hold && local !== undefined) {
          this.#handovers.hold(data.id, data.clientId, local);
          return;
        }
        const handed = local?.handOver(data.clientId);
        // The handed session's messages go by clone; their payloads are copied so a read buffer is not.
        this.#post({ t: "handed", id: data.id, handed: handed && ownSession(handed) });
        return;
      }
    }
  }
}

function ownSession(handed: HandedSession): HandedSession {
  return {
    expiryInterval: handed.expiryInterval,
    subscriptions: handed.subscriptions.map((s) => ({ ...s })),
    inflight: handed.inflight.map((d) => ({ ...d, message: ownPayload(d.message) })),
    queued: handed.queued.map((d) => ({ ...d, message: ownPayload(d.message) })),
  };
}
