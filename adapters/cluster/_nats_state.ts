/**
 * What the cluster keeps in JetStream KV, bucket by bucket: retained messages (`{prefix}_retained`, here),
 * session owners (`{prefix}_sessions`, _nats_sessions.ts), wills and dead-node claims (`{prefix}_wills`,
 * `{prefix}_nodes`, _nats_liveness.ts).
 * @module
 */

import { type KV, Kvm } from "@nats-io/kv";
import { jetstream } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "../../src/logger.ts";
import type { Message } from "../../src/message.ts";
import type { ClientInfo } from "../../src/hooks/hook.ts";
import type {
  ClusterMember,
  ClusterNode,
  ClusterSessionRecord,
  HandedSession,
} from "../../src/cluster/cluster_bus.ts";
import { fromKvKey, kvKey } from "../../src/cluster/subjects.ts";
import { decodeMessage, encodeMessage } from "../../src/storage/record_codec.ts";
import { KvWriter } from "./_kv_writer.ts";
import { NatsLiveness } from "./_nats_liveness.ts";
import { NatsSessions } from "./_nats_sessions.ts";
import { NatsSessionSweep } from "./_nats_session_sweep.ts";
import type { NatsQueues } from "./_nats_queues.ts";

/** Options of {@link NatsState}. */
export interface NatsStateOptions {
  nc: NatsConnection;
  prefix: string;
  node: string;
  boot: string;
  logger: Logger;
  heartbeatMs: number;
  deadAfterMs: number;
  replicas: number;
  /** On close, how long clients of persistent sessions get to take them over from another node. */
  shutdownGraceMs: number;
  /** Milliseconds between sweeps for expired sessions of departed nodes. */
  sessionSweepMs: number;
  interest(filter: string, delta: 1 | -1): void;
  messageId(message: Message): string | undefined;
  /** Session queues, read when a session is taken over from a node that cannot answer. */
  queues: NatsQueues;
  /** A session left this node for another. */
  released(clientId: string): void;
}

/** The KV side of a NATS cluster node. */
export class NatsState {
  readonly #o: NatsStateOptions;
  readonly #writer: KvWriter;
  #retained!: KV;
  #sessions: NatsSessions | undefined;
  #liveness: NatsLiveness | undefined;
  #sweep: NatsSessionSweep | undefined;
  #watch: { stop(): void } | undefined;
  #closed = false;
  #timers: ReturnType<typeof setInterval>[] = [];

  constructor(options: NatsStateOptions) {
    this.#o = options;
    this.#writer = new KvWriter(options.logger);
  }

  async start(local: ClusterNode): Promise<void> {
    const o = this.#o;
    // KV calls give up after 2 s (not the default 5 s): a client waits on acquire() before its CONNACK.
    const kvm = new Kvm(jetstream(o.nc, { timeout: 2000 }));
    const common = { history: 1, replicas: o.replicas };
    this.#retained = await kvm.create(`${o.prefix}_retained`, common);
    const sessions = await kvm.create(`${o.prefix}_sessions`, common);
    const wills = await kvm.create(`${o.prefix}_wills`, common);
    // Claims of dead nodes only need to outlive the claiming.
    const nodes = await kvm.create(`${o.prefix}_nodes`, {
      ...common,
      ttl: Math.max(o.deadAfterMs * 4, 10_000),
    });
    this.#sessions = new NatsSessions({
      nc: o.nc,
      kv: sessions,
      prefix: o.prefix,
      boot: o.boot,
      logger: o.logger,
      interest: o.interest,
      messageId: o.messageId,
      queues: o.queues,
      released: o.released,
    });
    this.#liveness = new NatsLiveness({ ...o, wills, nodes, sessions: this.#sessions, writer: this.#writer });
    await this.#liveness.start(local);
    await this.#loadRetained(local);
    this.#sessions.serve(local);
    this.#sweep = new NatsSessionSweep({
      kv: sessions,
      boot: o.boot,
      logger: o.logger,
      everyMs: o.sessionSweepMs,
      liveBoots: () => this.members().map((m) => m.boot),
      queues: o.queues,
    });
    this.#sweep.start((work) => this.#writer.track(work));
  }

  members(): ClusterMember[] {
    return this.#liveness?.members() ?? [];
  }

  retain(message: Message): void {
    const key = kvKey(message.topic);
    const bytes = message.payload.length === 0 ? undefined : encodeMessage(message);
    this.#writer.write(
      `r:${key}`,
      () => bytes === undefined ? this.#retained.delete(key) : this.#retained.put(key, bytes),
    );
  }

  acquire(clientId: string, clean: boolean): Promise<HandedSession | undefined> {
    if (this.#sessions === undefined) return Promise.reject(new Error("the cluster has not started"));
    return this.#sessions.acquire(clientId, clean);
  }

  captured(message: Message): void {
    this.#sessions?.captured(message);
  }

  adopted(clientId: string): void {
    this.#sessions?.adopted(clientId);
  }

  sessionChanged(clientId: string, record: ClusterSessionRecord | undefined): void {
    this.#sessions?.changed(clientId, record);
  }

  will(info: ClientInfo, will: Message | undefined): void {
    this.#liveness?.will(info, will);
  }

  /** The connection to NATS went down or came back. */
  connection(up: boolean): void {
    this.#liveness?.connection(up);
  }

  async close(): Promise<void> {
    await this.#sessions?.drain(this.#o.shutdownGraceMs);
    this.#closed = true;
    this.#sweep?.stop();
    for (const t of this.#timers) clearInterval(t);
    this.#watch?.stop();
    await this.#sessions?.flush();
    await this.#writer.close();
    await this.#liveness?.close();
  }

  /**
   * Load the retained messages, then follow their changes. A watch can end when NATS fails over (its consumer
   * lost with a stream leader): it is opened again from the next revision, so no change is missed.
   */
  async #loadRetained(local: ClusterNode): Promise<void> {
    const status = await this.#retained.status();
    let loaded!: () => void;
    const ready = new Promise<void>((resolve) => (loaded = resolve));
    if (status.values === 0) loaded();
    let count = 0;
    let revision = 0;
    const follow = async (): Promise<void> => {
      while (!this.#closed) {
        try {
          const watch = await this.#retained.watch(
            revision === 0 ? {} : { resumeFromRevision: revision + 1 },
          );
          this.#watch = watch;
          for await (const e of watch) {
            revision = e.revision;
            const topic = fromKvKey(e.key);
            if (e.operation === "PUT") {
              try {
                local.retainedRemote(decodeMessage(e.value, `retained ${topic}`));
                count++;
              } catch (err) {
                this.#o.logger.warn("cluster: skipped a malformed retained message", {
                  topic,
                  error: String(err),
                });
              }
            } else {
              const cleared = {
                topic,
                payload: new Uint8Array(0),
                qos: 0 as const,
                retain: true,
                receivedAt: Date.now(),
              };
              local.retainedRemote(cleared);
            }
            if (e.delta === 0) loaded();
          }
        } catch (err) {
          this.#o.logger.debug("cluster: retained watch ended", { error: String(err) });
        }
        if (!this.#closed) await new Promise((r) => setTimeout(r, 500));
      }
    };
    follow().catch(() => {});
    // A watch can also go silent without ending (measured: its consumer lost with the stream leader when a NATS
    // server dies, on a node connected to another server). Compare with the bucket now and then; when the
    // bucket is ahead twice in a row, open the watch again.
    let behind = 0;
    const check = setInterval(() => {
      this.#retained.status().then((st) => {
        behind = st.streamInfo.state.last_seq > revision ? behind + 1 : 0;
        if (behind < 2) return;
        behind = 0;
        this.#o.logger.info("cluster: retained watch stalled; reopening it", { revision });
        this.#watch?.stop();
      }, () => {});
    }, Math.min(2000, Math.max(500, this.#o.heartbeatMs * 4)));
    this.#timers.push(check);
    await waitAtMost(ready, 10_000);
    this.#o.logger.info("cluster: retained messages loaded", { count });
  }
}

/** Wait for `promise`, or for `ms` at most (the timer goes either way, so it keeps no process alive). */
async function waitAtMost(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([promise, new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}
