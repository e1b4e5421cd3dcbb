/**
 * The hub of the in-process bus between broker workers; it runs in the main thread. It knows each worker's
 * interest (filters with reference counts) and tells the other workers, which then send matching messages to that
 * worker directly (src/cluster/worker_peers.ts). Messages for shared subscriptions come here, and go to exactly one
 * member worker per group (round robin). It keeps the retained messages (a worker that starts gets them all), which
 * worker owns which client id (a connect elsewhere takes the session over through it), and the wills of each
 * worker's clients: when a worker dies, a surviving one publishes them.
 *
 * Transport-free: the supervisor passes in what each worker sends and a function that sends to it.
 * @module
 */

import type { Message } from "../message.ts";
import type { HandedSession } from "./cluster_bus.ts";
import { FrameReader, FrameWriter } from "./worker_frames.ts";
import type { HubOp, HubToWorker, PlainClientInfo, WorkerOp, WorkerToHub } from "./worker_protocol.ts";
import { workerName } from "./worker_protocol.ts";
import { SessionOwners } from "./worker_owners.ts";
import { SharedGroups } from "./worker_groups.ts";

/** Sends to one worker; the buffers in `transfer` move to it. */
export type SendToWorker = (data: HubToWorker, transfer?: ArrayBuffer[]) => void;

interface WorkerState {
  readonly send: SendToWorker;
  started: boolean;
  clients: number;
  /** Reference count per filter. */
  readonly interest: Map<string, number>;
  /** Reference count per shared group key (`group\0filter`). */
  readonly shared: Map<string, number>;
  readonly wills: Map<string, { info: PlainClientInfo; will: Message }>;
  /** Per filter, how many shared groups want it: the worker sends matching messages here while any does. */
  readonly wants: Map<string, number>;
  /** What goes to this worker at the end of the current batch. */
  ops: HubOp[];
  run: number;
  readonly frames: FrameWriter;
}

/** The routing and ownership state of every worker. */
export class WorkerHub {
  readonly #workers = new Map<number, WorkerState>();
  readonly #groups = new SharedGroups();
  readonly #retained = new Map<string, Message>();
  readonly #owners = new SessionOwners();
  /** Syncs under way: the worker that asked, its id, and the workers that have not answered yet. */
  readonly #syncs = new Map<number, { worker: number; id: number; left: Set<number> }>();
  /**
   * Takeover rounds (src/cluster/worker_handover.ts) by request id: the old owner, the new one, and the interest
   * the new one was given for the moving session until it has adopted it.
   */
  readonly #rounds = new Map<number, { from: number; to: number; filters: readonly string[] }>();
  #nextSync = 1;
  /** Wills of dead workers' clients, for the next worker that starts when none is left. */
  #orphanWills: Array<{ info: PlainClientInfo; will: Message }> = [];

  /** A worker thread exists; it is routed to once it sends `start`. */
  add(worker: number, send: SendToWorker): void {
    if (this.#workers.has(worker)) this.remove(worker);
    this.#workers.set(worker, {
      send,
      started: false,
      clients: 0,
      interest: new Map(),
      shared: new Map(),
      wills: new Map(),
      wants: new Map(),
      ops: [],
      run: 0,
      frames: new FrameWriter(),
    });
    const state = this.#workers.get(worker)!;
    for (const [i, other] of this.#workers) {
      if (i === worker) continue;
      for (const filter of other.interest.keys()) this.#op(state, ["want", filter, 1, i]);
    }
    for (const filter of this.#groups.filters()) this.#want(state, filter, 1);
  }

  /** Workers known, and their client counts. */
  members(): Array<readonly [string, number]> {
    return [...this.#workers].filter(([, w]) => w.started).map(([i, w]) =>
      [workerName(i), w.clients] as const
    );
  }

  /**
   * A worker is gone (crashed, terminated or stopped): its interest goes, its sessions are no one's, and its
   * clients' wills are published by a surviving worker [MQTT-3.1.2-8].
   */
  remove(worker: number): void {
    const state = this.#workers.get(worker);
    if (state === undefined) return;
    this.#workers.delete(worker);
    for (const filter of state.interest.keys()) this.#wantElsewhere(worker, filter, -1);
    for (const key of state.shared.keys()) this.#leaveGroup(worker, key);
    for (const p of this.#owners.workerGone(worker)) this.#answer(p.worker, p.id, undefined, p.request);
    for (const [n, round] of this.#rounds) {
      if (round.from === worker) continue; // the new owner hears "no session" and releases the round
      if (round.to === worker) this.#rounds.delete(n);
      // Its mark will not come: the old owner (and the new one, if alive) stop waiting for it.
      for (const i of [round.from, round.to]) {
        const w = this.#workers.get(i);
        if (w !== undefined) this.#op(w, ["unmark", n, worker]);
      }
    }
    for (const [n, sync] of this.#syncs) {
      if (sync.worker === worker) this.#syncs.delete(n);
      else this.#synced(worker, n);
    }
    const wills = [...state.wills.values()];
    const heir = [...this.#workers.values()].find((w) => w.started);
    if (heir === undefined) this.#orphanWills.push(...wills);
    else for (const { info, will } of wills) heir.ops.push(["will", info, will]);
    this.#broadcastMembers();
    this.#flushAll();
  }

  /** Handle what `worker` sent. */
  receive(worker: number, data: WorkerToHub): void {
    const state = this.#workers.get(worker);
    if (state === undefined) return;
    switch (data.t) {
      case "batch":
        this.#batch(worker, state, data.ops, data.frames);
        break;
      case "start":
        state.started = true;
        // What the other workers want first, so that the worker forwards from its first client on.
        this.#flush(state);
        state.send({ t: "started", retained: [...this.#retained.values()] });
        for (const { info, will } of this.#orphanWills.splice(0)) state.ops.push(["will", info, will]);
        this.#broadcastMembers();
        break;
      case "acquire":
        this.#acquire(worker, data.id, data.clientId, data.clean);
        break;
      case "holding":
        this.#holding(worker, data.id, data.filters);
        break;
      case "handed": {
        const p = this.#owners.answered(data.id);
        if (p !== undefined) this.#answer(p.worker, p.id, data.handed, data.id);
        break;
      }
      case "release": {
        const round = this.#rounds.get(data.id);
        if (round === undefined || round.to !== worker) break;
        this.#rounds.delete(data.id);
        for (const f of round.filters) this.#interestChange(worker, state, f, -1);
        break;
      }
    }
    this.#flushAll();
  }

  #batch(worker: number, state: WorkerState, ops: readonly WorkerOp[], frames: Uint8Array | undefined): void {
    const reader = frames === undefined ? undefined : new FrameReader(frames);
    for (const op of ops) {
      if (typeof op === "number") {
        for (let i = 0; i < op; i++) this.#route(reader!);
        continue;
      }
      switch (op[0]) {
        case "interest":
          this.#interestChange(worker, state, op[1], op[2]);
          break;
        case "shared":
          this.#sharedChange(worker, state, op[1], op[2], op[3]);
          break;
        case "retain":
          this.#retain(worker, op[1]);
          break;
        case "will":
          if (op[3] === undefined) state.wills.delete(op[1]);
          else state.wills.set(op[1], { info: op[2]!, will: op[3] });
          break;
        case "ended":
          this.#owners.ended(worker, op[1]);
          break;
        case "clients":
          state.clients = op[1];
          this.#broadcastMembers();
          break;
        case "sync":
          this.#sync(worker, state, op[1]);
          break;
        case "synced":
          this.#synced(worker, op[1]);
          break;
      }
    }
  }

  /** A message for shared groups: to one member worker of each matching group. */
  #route(reader: FrameReader): void {
    const { topic, frame } = reader.nextRaw();
    this.#groups.pick(topic, (worker, group, filter) => {
      const w = this.#workers.get(worker);
      if (w === undefined) return;
      this.#op(w, ["shared", group, filter]);
      w.frames.append(frame);
    });
  }

  #interestChange(worker: number, state: WorkerState, filter: string, delta: 1 | -1): void {
    const count = (state.interest.get(filter) ?? 0) + delta;
    if (count > 0) {
      if (delta === 1 && count === 1) this.#wantElsewhere(worker, filter, 1);
      state.interest.set(filter, count);
      return;
    }
    if (!state.interest.has(filter)) return;
    state.interest.delete(filter);
    this.#wantElsewhere(worker, filter, -1);
  }

  #sharedChange(worker: number, state: WorkerState, group: string, filter: string, delta: 1 | -1): void {
    const key = `${group}\u0000${filter}`;
    const count = (state.shared.get(key) ?? 0) + delta;
    if (count > 0) {
      // Every worker forwards what a new group may want, the member's own included: the hub picks the member.
      if (delta === 1 && count === 1 && this.#groups.join(worker, group, filter)) {
        for (const w of this.#workers.values()) this.#want(w, filter, 1);
      }
      state.shared.set(key, count);
      return;
    }
    if (!state.shared.has(key)) return;
    state.shared.delete(key);
    this.#leaveGroup(worker, key);
  }

  #leaveGroup(worker: number, key: string): void {
    const [group, filter] = key.split("\u0000") as [string, string];
    if (this.#groups.leave(worker, group, filter) === undefined) return;
    for (const w of this.#workers.values()) this.#want(w, filter, -1);
  }

  /** Tell the other workers that `worker` wants `filter` now, or no longer. */
  #wantElsewhere(worker: number, filter: string, delta: 1 | -1): void {
    for (const [i, w] of this.#workers) if (i !== worker) this.#op(w, ["want", filter, delta, worker]);
  }

  #want(w: WorkerState, filter: string, delta: 1 | -1): void {
    const before = w.wants.get(filter) ?? 0;
    const after = before + delta;
    if (after > 0) w.wants.set(filter, after);
    else w.wants.delete(filter);
    if (before === 0 && after > 0) this.#op(w, ["want", filter, 1, -1]);
    else if (before > 0 && after <= 0) this.#op(w, ["want", filter, -1, -1]);
  }

  /** Pass a worker's sync to the others, behind the `want` ops its batch gave them. */
  #sync(worker: number, state: WorkerState, id: number): void {
    const left = new Set<number>();
    for (const [i, w] of this.#workers) if (i !== worker && w.started) left.add(i);
    if (left.size === 0) {
      this.#op(state, ["synced", id]);
      return;
    }
    const n = this.#nextSync++;
    this.#syncs.set(n, { worker, id, left });
    for (const i of left) this.#op(this.#workers.get(i)!, ["sync", n]);
  }

  /** `worker` applied sync `n` (or is gone): the asking worker hears once every other one has. */
  #synced(worker: number, n: number): void {
    const sync = this.#syncs.get(n);
    if (sync === undefined || !sync.left.delete(worker) || sync.left.size > 0) return;
    this.#syncs.delete(n);
    const w = this.#workers.get(sync.worker);
    if (w !== undefined) this.#op(w, ["synced", sync.id]);
  }

  #retain(from: number, message: Message): void {
    // An empty payload clears the topic [MQTT-3.3.1-10].
    if (message.payload.byteLength === 0) this.#retained.delete(message.topic);
    else this.#retained.set(message.topic, message);
    for (const [i, w] of this.#workers) if (i !== from && w.started) this.#op(w, ["retained", message]);
  }

  #acquire(worker: number, id: number, clientId: string, clean: boolean): void {
    const ask = this.#owners.acquire(worker, id, clientId, (w) => this.#workers.has(w));
    if (ask === undefined) {
      this.#workers.get(worker)?.send({ t: "acquired", id, handed: undefined });
      return;
    }
    // The old owner closes the connection and hands the session over [MQTT-3.1.4-2] [MQTT-3.1.4-3].
    const state = this.#workers.get(ask.from)!;
    this.#flush(state);
    // A session that lives on moves in a takeover round, so that no message on its way is lost.
    state.send({ t: "handOver", id: ask.request, clientId, hold: !clean });
  }

  /**
   * The old owner detached the session of takeover `request` and holds its messages: the new owner gets the same
   * interest and starts catching, and every worker marks where its messages switch from one to the other.
   */
  #holding(from: number, request: number, filters: readonly string[]): void {
    const p = this.#owners.pending(request);
    const target = p === undefined ? undefined : this.#workers.get(p.worker);
    const old = this.#workers.get(from)!;
    if (p === undefined || target === undefined) {
      // Nobody waits any more (the new owner died): the old owner ends the round at once.
      this.#op(old, ["hold", request, -1, []]);
      return;
    }
    const to = p.worker;
    for (const f of filters) this.#interestChange(to, target, f, 1);
    this.#rounds.set(request, { from, to, filters });
    const sources = [...this.#workers].filter(([i, w]) => i !== from && w.started).map(([i]) => i);
    this.#op(target, ["capture", request, p.clientId, filters, sources]);
    for (const i of sources) this.#op(this.#workers.get(i)!, ["mark", request, from, to]);
    this.#op(old, ["hold", request, to, sources]);
  }

  #answer(worker: number, id: number, handed: HandedSession | undefined, round?: number): void {
    const w = this.#workers.get(worker);
    if (w === undefined) return;
    // Messages routed before the answer go first, so the handed session is not overtaken by older traffic.
    this.#flush(w);
    w.send(
      round !== undefined && this.#rounds.has(round)
        ? { t: "acquired", id, handed, round }
        : { t: "acquired", id, handed },
    );
  }

  #broadcastMembers(): void {
    const members = this.members();
    for (const w of this.#workers.values()) if (w.started) this.#op(w, ["members", members]);
  }

  #op(w: WorkerState, op: HubOp): void {
    if (w.run > 0) w.ops.push(w.run);
    w.run = 0;
    w.ops.push(op);
  }

  #flushAll(): void {
    for (const w of this.#workers.values()) this.#flush(w);
  }

  #flush(w: WorkerState): void {
    if (w.run > 0) w.ops.push(w.run);
    w.run = 0;
    if (w.ops.length === 0) return;
    const ops = w.ops;
    w.ops = [];
    if (w.frames.count === 0) {
      w.send({ t: "batch", ops });
      return;
    }
    const frames = w.frames.take();
    w.send({ t: "batch", ops, frames }, [frames.buffer as ArrayBuffer]);
  }
}
