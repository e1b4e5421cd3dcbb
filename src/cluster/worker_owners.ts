/**
 * Which worker owns which client id, for the hub's session takeovers ([MQTT-3.1.4-2]): a connect on one worker
 * asks the worker that owns the id to close that connection and hand the session over. Pure bookkeeping; the
 * hub does the messaging.
 * @module
 */

/** A takeover waiting for the old owner's answer. */
export interface PendingTakeover {
  /** The worker that asked, and its own request id. */
  readonly worker: number;
  readonly id: number;
  /** The worker asked to hand the session over. */
  readonly from: number;
  /** The hub's id of this takeover (its round). */
  readonly request: number;
  readonly clientId: string;
}

/** Client id owners and the takeovers in flight. */
export class SessionOwners {
  readonly #owners = new Map<string, number>();
  /**
   * Session ends still to come from a connection that its own worker took over: a new connection on the same
   * worker acquires the id first, then the old session's end arrives, which must not clear the new owner.
   */
  readonly #endsToSkip = new Map<string, number>();
  readonly #pending = new Map<number, PendingTakeover>();
  #nextRequest = 1;

  /**
   * `worker` takes `clientId` (its request `id`). Returns the takeover to ask the previous owner for, or
   * undefined when there is none (no owner, the same worker, or `alive` says the owner is gone).
   */
  acquire(
    worker: number,
    id: number,
    clientId: string,
    alive: (worker: number) => boolean,
  ): { request: number; from: number } | undefined {
    const owner = this.#owners.get(clientId);
    this.#owners.set(clientId, worker);
    if (owner === worker) this.#endsToSkip.set(clientId, (this.#endsToSkip.get(clientId) ?? 0) + 1);
    else this.#endsToSkip.delete(clientId);
    if (owner === undefined || owner === worker || !alive(owner)) return undefined;
    const request = this.#nextRequest++;
    this.#pending.set(request, { worker, id, from: owner, request, clientId });
    return { request, from: owner };
  }

  /** The takeover `request`, still waiting for the old owner's answer. */
  pending(request: number): PendingTakeover | undefined {
    return this.#pending.get(request);
  }

  /** The old owner answered `request`: who is waiting for it. */
  answered(request: number): PendingTakeover | undefined {
    const p = this.#pending.get(request);
    this.#pending.delete(request);
    return p;
  }

  /** A session of `clientId` ended on `worker`. */
  ended(worker: number, clientId: string): void {
    const skip = this.#endsToSkip.get(clientId) ?? 0;
    if (skip > 1) this.#endsToSkip.set(clientId, skip - 1);
    else if (skip === 1) this.#endsToSkip.delete(clientId);
    else if (this.#owners.get(clientId) === worker) this.#owners.delete(clientId);
  }

  /** `worker` is gone: it owns nothing; returns the takeovers that waited for it (to answer with no session). */
  workerGone(worker: number): PendingTakeover[] {
    for (const [clientId, owner] of this.#owners) {
      if (owner !== worker) continue;
      this.#owners.delete(clientId);
      this.#endsToSkip.delete(clientId);
    }
    const orphaned: PendingTakeover[] = [];
    for (const [request, p] of this.#pending) {
      if (p.from === worker) orphaned.push(p);
      if (p.from === worker || p.worker === worker) this.#pending.delete(request);
    }
    return orphaned;
  }
}
