/**
 * The hub of the in-process bus between broker workers; it runs in the main thread. It knows each worker's
 * interest (filters with reference counts) and tells the other workers, which then send matching messages to that
 * worker directly (src/cluster/worker_peers.ts). Messages for shared subscriptions come here, and go to exactly one
 * member worker per group (round robin). It keeps the retained messages (a worker that starts gets them all), which worker owns which client id
 * (a connect elsewhere takes the session over through it), and the wills of each worker's clients: when a worker
 * dies, a surviving one publishes them.
 *
 * Transport-free: the supervisor passes in what each worker sends and a function that sends to it.
 * @module
 */

import type { Message } from "../message.ts";
import { SubscriptionIndex } from "../topics/subscription_index.ts";
import type { HandedSession } from "./cluster_bus.ts";
import { FrameReader, FrameWriter } from "./worker_frames.ts";
import type { HubOp, HubToWorker, PlainClientInfo, WorkerOp, WorkerToHub } from "./worker_protocol.ts";
import { workerName } from "./worker_protocol.ts";

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

/** A shared group's member workers and whose turn is next. */
interface Group {
  readonly workers: number[];
  next: number;
}

/** The routing and ownership state of every worker. */
export class WorkerHub {
  readonly #workers = new Map<number, WorkerState>();
  readonly #groups = new SubscriptionIndex<Group>();
  /** The same groups by `group\0filter`. */
  readonly #groupTable = new Map<string, Group>();
  readonly #retained = new Map<string, Message>();
  readonly #owners = new Map<string, number>();
  /**
   * Session ends still to come from a connection that its own worker took over: a new connection on the same
   * worker acquires the id first, then the old session's end arrives, which must not clear the new owner.
   */
  readonly #endsToSkip = new Map<string, number>();
  /** Takeovers waiting for the old owner's session: request id -> who asked, with their own request id. */
  readonly #pending = new Map<number, { worker: number; id: number; from: number }>();
  /** Wills of dead workers' clients, for the next worker that starts when none is left. */
  #orphanWills: Array<{ info: PlainClientInfo; will: Message }> = [];
  #nextRequest = 1;
  /** Messages passed on to workers, for tests and status. */
  routed = 0;

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
    for (const key of this.#groupTable.keys()) this.#want(state, key.split("\u0000")[1]!, 1);
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
    for (const [clientId, owner] of this.#owners) {
      if (owner !== worker) continue;
      this.#owners.delete(clientId);
      this.#endsToSkip.delete(clientId);
    }
    for (const [id, p] of this.#pending) {
      if (p.from === worker) this.#answer(p.worker, p.id, undefined, id);
      if (p.worker === worker) this.#pending.delete(id);
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
        this.#acquire(worker, data.id, data.clientId);
        break;
      case "handed": {
        const p = this.#pending.get(data.id);
        if (p !== undefined) this.#answer(p.worker, p.id, data.handed, data.id);
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
        case "ended": {
          const skip = this.#endsToSkip.get(op[1]) ?? 0;
          if (skip > 1) this.#endsToSkip.set(op[1], skip - 1);
          else if (skip === 1) this.#endsToSkip.delete(op[1]);
          else if (this.#owners.get(op[1]) === worker) this.#owners.delete(op[1]);
          break;
        }
        case "clients":
          state.clients = op[1];
          this.#broadcastMembers();
          break;
      }
    }
  }

  /** A message for shared groups: to one member worker of each matching group. */
  #route(reader: FrameReader): void {
    const { topic, frame } = reader.nextRaw();
    this.#groups.match(topic, (group, g, filter) => {
      if (g.workers.length === 0) return;
      const worker = g.workers[g.next++ % g.workers.length]!;
      const w = this.#workers.get(worker);
      if (w === undefined) return;
      if (w.run > 0) w.ops.push(w.run);
      w.run = 0;
      w.ops.push(["shared", group, filter]);
      w.frames.append(frame);
      this.routed++;
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
      if (delta === 1 && count === 1) {
        let g = this.#groupTable.get(key);
        if (g === undefined) {
          g = { workers: [], next: 0 };
          this.#groupTable.set(key, g);
          this.#groups.add(filter, group, g);
          // Every worker forwards what the group may want, the member's own included: the hub picks the member.
          for (const w of this.#workers.values()) this.#want(w, filter, 1);
        }
        g.workers.push(worker);
      }
      state.shared.set(key, count);
      return;
    }
    if (!state.shared.has(key)) return;
    state.shared.delete(key);
    this.#leaveGroup(worker, key);
  }

  #leaveGroup(worker: number, key: string): void {
    const g = this.#groupTable.get(key);
    if (g === undefined) return;
    const i = g.workers.indexOf(worker);
    if (i >= 0) g.workers.splice(i, 1);
    if (g.workers.length > 0) return;
    const [group, filter] = key.split("\u0000") as [string, string];
    this.#groupTable.delete(key);
    this.#groups.remove(filter, group);
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

  #retain(from: number, message: Message): void {
    // An empty payload clears the topic [MQTT-3.3.1-10].
    if (message.payload.byteLength === 0) this.#retained.delete(message.topic);
    else this.#retained.set(message.topic, message);
    for (const [i, w] of this.#workers) if (i !== from && w.started) this.#op(w, ["retained", message]);
  }

  #acquire(worker: number, id: number, clientId: string): void {
    const owner = this.#owners.get(clientId);
    this.#owners.set(clientId, worker);
    if (owner === worker) this.#endsToSkip.set(clientId, (this.#endsToSkip.get(clientId) ?? 0) + 1);
    else this.#endsToSkip.delete(clientId);
    const state = this.#workers.get(owner ?? -1);
    if (owner === undefined || owner === worker || state === undefined) {
      this.#workers.get(worker)?.send({ t: "acquired", id, handed: undefined });
      return;
    }
    // The old owner closes the connection and hands the session over [MQTT-3.1.4-2] [MQTT-3.1.4-3].
    const request = this.#nextRequest++;
    this.#pending.set(request, { worker, id, from: owner });
    this.#flush(state);
    state.send({ t: "handOver", id: request, clientId });
  }

  #answer(worker: number, id: number, handed: HandedSession | undefined, request: number): void {
    this.#pending.delete(request);
    const w = this.#workers.get(worker);
    if (w === undefined) return;
    // Messages routed before the answer go first, so the handed session is not overtaken by older traffic.
    this.#flush(w);
    w.send({ t: "acquired", id, handed });
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
