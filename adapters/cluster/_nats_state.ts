/**
 * What the cluster keeps in JetStream KV: retained messages (`{prefix}_retained`), session owners
 * (`{prefix}_sessions`, see _nats_sessions.ts) and wills of connected clients (`{prefix}_wills`, keyed by the boot
 * that holds the connection). Liveness: every node beats on the plain subject `{prefix}.beat`; a node silent for
 * `deadAfterMs` is dead, and the one survivor that creates its `dead.{boot}` key in `{prefix}_nodes` publishes
 * its wills.
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
import { decodeMessage, decodeWill, encodeMessage, encodeWill } from "../../src/storage/record_codec.ts";
import { NatsSessions } from "./_nats_sessions.ts";

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
  interest(filter: string, delta: 1 | -1): void;
  messageId(message: Message): string | undefined;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The KV side of a NATS cluster node. */
export class NatsState {
  readonly #o: NatsStateOptions;
  #retained!: KV;
  #wills!: KV;
  #nodes!: KV;
  #sessions!: NatsSessions;
  #local: ClusterNode | undefined;
  /** Other boots and when this node last heard from them (local clock). */
  #seen = new Map<string, { node: string; at: number; clients: number }>();
  /** Who set each will here, so that only that connection's end clears it. */
  #willOwners = new Map<string, { info: ClientInfo; will: Message }>();
  #pending = new Set<Promise<unknown>>();
  #timers: ReturnType<typeof setTimeout>[] = [];
  /** KV writes waiting by key, and the keys being written (see #write). */
  #latest = new Map<string, () => Promise<unknown>>();
  #writing = new Set<string>();
  #closed = false;
  #up = true;

  constructor(options: NatsStateOptions) {
    this.#o = options;
  }

  async start(local: ClusterNode): Promise<void> {
    const o = this.#o;
    this.#local = local;
    // KV calls give up after 2 s (not the default 5 s): a client waits on acquire() before its CONNACK.
    const kvm = new Kvm(jetstream(o.nc, { timeout: 2000 }));
    const common = { history: 1, replicas: o.replicas };
    this.#retained = await kvm.create(`${o.prefix}_retained`, common);
    const sessions = await kvm.create(`${o.prefix}_sessions`, common);
    this.#wills = await kvm.create(`${o.prefix}_wills`, common);
    this.#nodes = await kvm.create(`${o.prefix}_nodes`, {
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
    });
    await this.#joinBeats();
    this.#beat();
    await this.#loadRetained(local);
    this.#sessions.serve(local);
    const beat = setInterval(() => {
      this.#beat();
      this.#sweep();
    }, o.heartbeatMs);
    // Wills left by nodes that died while no node was watching (the whole cluster restarted, say).
    const orphans = setTimeout(() => this.#track(this.#claimOrphans()), o.deadAfterMs);
    this.#timers.push(beat, orphans);
  }

  /** This node and every node whose beat arrived within deadAfterMs. */
  members(): ClusterMember[] {
    const now = Date.now();
    const out: ClusterMember[] = [{
      node: this.#o.node,
      boot: this.#o.boot,
      clients: this.#local?.connectedCount() ?? 0,
      lastSeenMs: 0,
      self: true,
    }];
    for (const [boot, seen] of this.#seen) {
      if (now - seen.at > this.#o.deadAfterMs) continue;
      out.push({ node: seen.node, boot, clients: seen.clients, lastSeenMs: now - seen.at, self: false });
    }
    return out.sort((a, b) => a.node.localeCompare(b.node));
  }

  retain(message: Message): void {
    const key = kvKey(message.topic);
    const bytes = message.payload.length === 0 ? undefined : encodeMessage(message);
    this.#write(
      `r:${key}`,
      () => bytes === undefined ? this.#retained.delete(key) : this.#retained.put(key, bytes),
    );
  }

  acquire(clientId: string, clean: boolean): Promise<HandedSession | undefined> {
    return this.#sessions.acquire(clientId, clean);
  }

  captured(message: Message): void {
    this.#sessions?.captured(message);
  }

  sessionChanged(clientId: string, record: ClusterSessionRecord | undefined): void {
    this.#sessions.changed(clientId, record);
  }

  will(info: ClientInfo, will: Message | undefined): void {
    const key = `${this.#o.boot}.${kvKey(info.id)}`;
    if (will !== undefined) {
      this.#willOwners.set(info.id, { info, will });
      const record = encodeWill({ clientId: info.id, will, at: 0, info: plainInfo(info) });
      this.#write(`w:${key}`, () => this.#wills.put(key, record));
    } else if (this.#willOwners.get(info.id)?.info === info) {
      this.#willOwners.delete(info.id);
      this.#write(`w:${key}`, () => this.#wills.delete(key));
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    await this.#sessions?.flush();
    await Promise.allSettled([...this.#pending]);
    // Leaving on purpose: no will of ours is due, and others need not wait for our silence.
    if (this.#nodes !== undefined) {
      const keys = await this.#wills.keys(`${this.#o.boot}.>`).catch(() => undefined);
      for await (const key of keys ?? []) await this.#wills.delete(key).catch(() => {});
      try {
        this.#o.nc.publish(`${this.#o.prefix}.beat`, this.#beatBytes(true));
      } catch { /* closing anyway */ }
    }
  }

  /**
   * Liveness goes over plain NATS subjects, not JetStream, so that it needs no stream leader: a NATS server that
   * dies in a NATS cluster makes no node look dead while JetStream elects new leaders. Every node answers
   * `{prefix}.who` with its beat, so a new node learns who is there (and whether its name is taken) at once.
   */
  async #joinBeats(): Promise<void> {
    const o = this.#o;
    o.nc.subscribe(`${o.prefix}.beat`, {
      callback: (err, msg) => {
        if (err === null) this.#onBeat(msg.data);
      },
    });
    o.nc.subscribe(`${o.prefix}.who`, {
      callback: (err, msg) => {
        if (err === null) msg.respond(this.#beatBytes());
      },
    });
    try {
      const replies = await o.nc.requestMany(`${o.prefix}.who`, new Uint8Array(0), {
        // Answers come within a few ms: stop 100 ms after the last one (2 s at most).
        strategy: "stall",
        stall: 100,
        maxWait: 2000,
      });
      for await (const reply of replies) this.#onBeat(reply.data);
    } catch {
      // No responders: this is the first node.
    }
    const taken = [...this.#seen].find(([, seen]) => seen.node === o.node);
    if (taken !== undefined) {
      throw new Error(
        `Cannot join the cluster as node "${o.node}": a live node already uses that name (boot ${taken[0]})`,
      );
    }
  }

  #beatBytes(left = false): Uint8Array {
    const clients = this.#local?.connectedCount() ?? 0;
    return encoder.encode(
      JSON.stringify({ node: this.#o.node, boot: this.#o.boot, clients, ...(left ? { left } : {}) }),
    );
  }

  #onBeat(data: Uint8Array): void {
    try {
      const beat = JSON.parse(decoder.decode(data)) as {
        node: string;
        boot: string;
        clients: number;
        left?: boolean;
      };
      if (beat.boot === this.#o.boot) return;
      if (beat.left) this.#seen.delete(beat.boot);
      else this.#seen.set(beat.boot, { node: beat.node, at: Date.now(), clients: beat.clients });
    } catch (err) {
      this.#o.logger.debug("cluster: ignored a malformed beat", { error: String(err) });
    }
  }

  #beat(): void {
    if (this.#closed) return;
    try {
      this.#o.nc.publish(`${this.#o.prefix}.beat`, this.#beatBytes());
    } catch (err) {
      // A missed beat is retried by the next one.
      this.#o.logger.debug("cluster: beat failed", { error: String(err) });
    }
  }

  async #loadRetained(local: ClusterNode): Promise<void> {
    const status = await this.#retained.status();
    const watch = await this.#retained.watch();
    let loaded!: () => void;
    const ready = new Promise<void>((resolve) => (loaded = resolve));
    if (status.values === 0) loaded();
    let count = 0;
    (async () => {
      for await (const e of watch) {
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
          local.retainedRemote({
            topic,
            payload: new Uint8Array(0),
            qos: 0,
            retain: true,
            receivedAt: Date.now(),
          });
        }
        if (e.delta === 0) loaded();
      }
    })().catch(() => {});
    await waitAtMost(ready, 10_000);
    this.#o.logger.info("cluster: retained messages loaded", { count });
  }

  /**
   * The connection to NATS went down or came back. While it is down nobody's beats arrive, so nobody is judged
   * dead; when it is back every node gets a fresh grace period.
   */
  connection(up: boolean): void {
    const wasDown = !this.#up;
    this.#up = up;
    if (!up) return;
    const now = Date.now();
    for (const seen of this.#seen.values()) seen.at = now;
    if (!wasDown || this.#local === undefined) return;
    // Cut off long enough, this node may have been taken for dead: a survivor then published and deleted our
    // clients' wills, and clients may have resumed on other nodes. Put the wills back, and let go of every
    // client id another node owns now, so that no client is live on two nodes.
    for (const [clientId, { info, will }] of this.#willOwners) {
      const key = `${this.#o.boot}.${kvKey(clientId)}`;
      const record = encodeWill({ clientId, will, at: 0, info: plainInfo(info) });
      this.#write(`w:${key}`, () => this.#wills.put(key, record));
    }
    this.#track(this.#sessions.reconcile(this.#local));
  }

  #sweep(): void {
    if (!this.#up) return;
    const now = Date.now();
    for (const [boot, seen] of this.#seen) {
      if (now - seen.at <= this.#o.deadAfterMs) continue;
      this.#seen.delete(boot);
      this.#track(this.#claim(boot, seen));
    }
  }

  async #claimOrphans(): Promise<void> {
    const boots = new Set<string>();
    for await (const key of await this.#wills.keys()) boots.add(key.slice(0, key.indexOf(".")));
    for (const boot of boots) {
      if (boot !== this.#o.boot && !this.#seen.has(boot)) {
        await this.#claim(boot, { node: boot, at: 0, clients: 0 });
      }
    }
  }

  /** Publish the wills of a dead boot, if this node is the first survivor to claim it. */
  async #claim(boot: string, seen: { node: string; at: number; clients: number }): Promise<void> {
    if (this.#closed) return;
    try {
      await this.#nodes.create(`dead.${boot}`, encoder.encode(this.#o.boot));
    } catch (err) {
      // Another survivor claimed it; any other failure (NATS away) is tried again at the next sweep.
      if (!String(err).includes("wrong last sequence")) this.#seen.set(boot, seen);
      return;
    }
    let wills = 0;
    for await (const key of await this.#wills.keys(`${boot}.>`)) {
      const entry = await this.#wills.get(key);
      await this.#wills.delete(key);
      if (entry === null || entry.operation !== "PUT") continue;
      const stored = decodeWill(entry.value, `will ${key}`);
      const delay = stored.will.properties?.willDelayInterval ?? 0;
      if (delay > 0) this.#delayedWill(boot, stored.info, stored.will, delay);
      else this.#local?.publishWill(stored.info, { ...stored.will, receivedAt: Date.now() });
      wills++;
    }
    this.#o.logger.warn("cluster: node died; its wills are published", { node: seen.node, boot, wills });
  }

  /**
   * A v5 will with a delay waits for it, and is dropped if its client resumed its session on any node in the
   * meantime [MQTT-3.1.3-9] (5.0).
   */
  #delayedWill(boot: string, info: ClientInfo, will: Message, seconds: number): void {
    const timer = setTimeout(() => {
      this.#track((async () => {
        if (await this.#sessions.resumedSince(info.id, boot)) return;
        this.#local?.publishWill(info, { ...will, receivedAt: Date.now() });
      })());
    }, seconds * 1000);
    this.#timers.push(timer);
  }

  /**
   * Write to KV, the latest write per key winning: while NATS fails over (a stream leader is elected, a server
   * comes back) a write is retried for about a minute, and a newer write to the same key replaces an older one
   * still waiting.
   */
  #write(key: string, op: () => Promise<unknown>): void {
    const waiting = this.#latest.has(key);
    this.#latest.set(key, op);
    if (waiting || this.#writing.has(key)) return;
    this.#writing.add(key);
    this.#track((async () => {
      try {
        for (let next = this.#latest.get(key); next !== undefined; next = this.#latest.get(key)) {
          this.#latest.delete(key);
          for (let attempt = 0;; attempt++) {
            try {
              await next();
              break;
            } catch (err) {
              if (this.#closed || attempt >= 12 || this.#latest.has(key)) throw err;
              await new Promise((r) => setTimeout(r, Math.min(250 * 2 ** attempt, 5000)));
            }
          }
        }
      } finally {
        this.#writing.delete(key);
      }
    })());
  }

  #track(p: Promise<unknown>): void {
    const tracked = p.catch((err) =>
      this.#o.logger.warn("cluster: KV write failed", {
        error: err instanceof Error ? err.message : String(err),
      })
    );
    this.#pending.add(tracked);
    tracked.finally(() => this.#pending.delete(tracked));
  }
}

/** Wait for `promise`, or for `ms` at most (the timer goes either way, so it keeps no process alive). */
async function waitAtMost(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([promise, new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

/** The plain fields of a ClientInfo (a Client carries much more). */
function plainInfo(info: ClientInfo) {
  return {
    id: info.id,
    remoteAddress: info.remoteAddress,
    listener: info.listener,
    protocolVersion: info.protocolVersion,
    ...(info.username === undefined ? {} : { username: info.username }),
    ...(info.certificateCommonName === undefined
      ? {}
      : { certificateCommonName: info.certificateCommonName }),
  };
}
