/**
 * A node cut off from NATS fences itself before the others take it for dead. Survivors publish the wills of a
 * node silent for `deadAfterMs` and let its clients resume elsewhere; a node that is only cut off would keep
 * those clients meanwhile, their wills out while they are still connected, and deaf to every message published
 * on the rest of the cluster. So a node that has had no answer from NATS for `deadAfterMs - 2 × heartbeatMs`
 * (at least half of deadAfterMs) disconnects its clients (v5: DISCONNECT 0x9C, Use another server) without
 * publishing their wills: a survivor publishes each once, if it takes this node for dead.
 *
 * A node cannot tell its own cut from NATS being down for everyone (then nobody is taken for dead and no will
 * goes out). It fences once per outage either way and then serves whoever connects, locally, as before: with
 * NATS fully down each client reconnects once and is served by its node until NATS returns.
 * @module
 */

import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "../../src/logger.ts";
import type { ClusterNode } from "../../src/cluster/cluster_bus.ts";

/** Options of {@link NatsFence}. */
export interface NatsFenceOptions {
  nc: NatsConnection;
  heartbeatMs: number;
  deadAfterMs: number;
  logger: Logger;
}

/** Watches the round trip to NATS and fences the node when it has been missing too long. */
export class NatsFence {
  readonly #o: NatsFenceOptions;
  readonly #after: number;
  #lastHeard = Date.now();
  #pinging = false;
  #fenced = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  #lastTick = 0;
  #interval: number;

  constructor(options: NatsFenceOptions) {
    this.#o = options;
    this.#after = Math.max(options.deadAfterMs - 2 * options.heartbeatMs, options.deadAfterMs / 2);
    this.#interval = Math.max(25, options.heartbeatMs / 4);
  }

  /** Milliseconds without NATS after which the node fences itself. */
  get afterMs(): number {
    return this.#after;
  }

  start(local: ClusterNode): void {
    this.#lastHeard = this.#lastTick = Date.now();
    this.#timer = setInterval(() => this.#tick(local), this.#interval);
  }

  close(): void {
    clearInterval(this.#timer);
  }

  #tick(local: ClusterNode): void {
    const now = Date.now();
    // After an event-loop stall this timer can run before the PONG that came meanwhile is read: judge next time.
    const stalled = now - this.#lastTick > 4 * this.#interval;
    this.#lastTick = now;
    if (!this.#pinging) {
      this.#pinging = true;
      // One PING at a time: while NATS is away it stays unanswered, and the silence is what counts.
      this.#o.nc.flush().then(() => this.#heard(), () => {}).finally(() => (this.#pinging = false));
    }
    const silent = now - this.#lastHeard;
    if (this.#fenced || stalled || silent < this.#after) return;
    this.#fenced = true;
    const clients = local.fence?.() ?? 0;
    this.#o.logger.warn(
      "cluster: no answer from NATS; clients disconnected so that they reconnect elsewhere",
      {
        silentMs: silent,
        clients,
      },
    );
  }

  #heard(): void {
    this.#lastHeard = Date.now();
    if (!this.#fenced) return;
    this.#fenced = false;
    this.#o.logger.info("cluster: NATS answers again");
  }
}
