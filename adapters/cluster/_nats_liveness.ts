/**
 * Who is alive, and the wills of the dead. Every node beats on the plain NATS subject `{prefix}.beat` (not
 * JetStream, so that a stream leader election never makes a node look dead) and answers `{prefix}.who`, so a
 * new node learns at once who is there and whether its name is taken. A node silent for `deadAfterMs` is dead:
 * the one survivor that creates its `dead.{boot}` key in `{prefix}_nodes` publishes the wills its clients left
 * in `{prefix}_wills` (keyed `{boot}.{client}`), once.
 * @module
 */

import type { KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "../../src/logger.ts";
import type { Message } from "../../src/message.ts";
import type { ClientInfo } from "../../src/hooks/hook.ts";
import type { ClusterMember, ClusterNode } from "../../src/cluster/cluster_bus.ts";
import { kvKey } from "../../src/cluster/subjects.ts";
import { decodeWill, encodeWill } from "../../src/storage/record_codec.ts";
import { storedClientInfo } from "../../src/storage/stored_client_info.ts";
import type { KvWriter } from "./_kv_writer.ts";
import type { NatsSessions } from "./_nats_sessions.ts";

/** Options of {@link NatsLiveness}. */
export interface NatsLivenessOptions {
  nc: NatsConnection;
  prefix: string;
  node: string;
  boot: string;
  logger: Logger;
  heartbeatMs: number;
  deadAfterMs: number;
  wills: KV;
  nodes: KV;
  sessions: NatsSessions;
  writer: KvWriter;
}

interface Seen {
  node: string;
  /** When its last beat arrived (local clock). */
  at: number;
  clients: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Beats, dead nodes and wills. */
export class NatsLiveness {
  readonly #o: NatsLivenessOptions;
  #local: ClusterNode | undefined;
  #seen = new Map<string, Seen>();
  /** Who set each will here, so that only that connection's end clears it. */
  #willOwners = new Map<string, { info: ClientInfo; will: Message }>();
  #timers: ReturnType<typeof setTimeout>[] = [];
  #up = true;
  #closed = false;

  constructor(options: NatsLivenessOptions) {
    this.#o = options;
  }

  /** Learn who is there (rejecting a name already live), then beat and watch. */
  async start(local: ClusterNode): Promise<void> {
    const o = this.#o;
    this.#local = local;
    o.nc.subscribe(`${o.prefix}.beat`, {
      callback: (err, msg) => {
        if (err === null) this.#onBeat(msg.data);
      },
    });
    // A survivor that took this node for dead (it was slow or cut off) says so: put our wills back and let go of
    // clients that resumed elsewhere.
    o.nc.subscribe(`${o.prefix}.dead.${o.boot}`, {
      callback: (err) => {
        if (err !== null) return;
        o.logger.warn("cluster: another node took this one for dead; restoring its wills", { boot: o.boot });
        this.#restore();
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
    this.#beat();
    const beat = setInterval(() => {
      this.#beat();
      this.#sweep();
    }, o.heartbeatMs);
    // Wills left by nodes that died while no node was watching (the whole cluster restarted, say).
    const orphans = setTimeout(() => o.writer.track(this.#claimOrphans()), o.deadAfterMs);
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

  /** Keep (or, with undefined, clear) a client's will for survivors. */
  will(info: ClientInfo, will: Message | undefined): void {
    if (will !== undefined) {
      this.#willOwners.set(info.id, { info, will });
      this.#putWill(info, will);
    } else if (this.#willOwners.get(info.id)?.info === info) {
      this.#willOwners.delete(info.id);
      const key = this.#willKey(info.id);
      this.#o.writer.write(`w:${key}`, () => this.#o.wills.delete(key));
    }
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
    // Cut off long enough, this node may have been taken for dead.
    if (wasDown) this.#restore();
  }

  /**
   * After being taken for dead, a survivor published and deleted our clients' wills, and clients may have
   * resumed on other nodes. Put the wills back, and let go of every client id another node owns now, so that no
   * client is live on two nodes.
   */
  #restore(): void {
    if (this.#local === undefined || this.#closed) return;
    for (const { info, will } of this.#willOwners.values()) this.#putWill(info, will);
    this.#o.writer.track(this.#o.sessions.reconcile(this.#local));
  }

  /** Leaving on purpose: no will of ours is due, and others need not wait for our silence. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    const keys = await this.#o.wills.keys(`${this.#o.boot}.>`).catch(() => undefined);
    for await (const key of keys ?? []) await this.#o.wills.delete(key).catch(() => {});
    try {
      this.#o.nc.publish(`${this.#o.prefix}.beat`, this.#beatBytes(true));
    } catch { /* closing anyway */ }
  }

  #willKey(clientId: string): string {
    return `${this.#o.boot}.${kvKey(clientId)}`;
  }

  #putWill(info: ClientInfo, will: Message): void {
    const key = this.#willKey(info.id);
    const record = encodeWill({ clientId: info.id, will, at: 0, info: storedClientInfo(info) });
    this.#o.writer.write(`w:${key}`, () => this.#o.wills.put(key, record));
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
        left?: true;
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

  #sweep(): void {
    if (!this.#up) return;
    const now = Date.now();
    for (const [boot, seen] of this.#seen) {
      if (now - seen.at <= this.#o.deadAfterMs) continue;
      this.#seen.delete(boot);
      this.#o.writer.track(this.#claim(boot, seen));
    }
  }

  async #claimOrphans(): Promise<void> {
    const boots = new Set<string>();
    for await (const key of await this.#o.wills.keys()) boots.add(key.slice(0, key.indexOf(".")));
    for (const boot of boots) {
      if (boot !== this.#o.boot && !this.#seen.has(boot)) {
        await this.#claim(boot, { node: boot, at: 0, clients: 0 });
      }
    }
  }

  /** Publish the wills of a dead boot, if this node is the first survivor to claim it. */
  async #claim(boot: string, seen: Seen): Promise<void> {
    if (this.#closed) return;
    const { wills, nodes } = this.#o;
    try {
      await nodes.create(`dead.${boot}`, encoder.encode(this.#o.boot));
    } catch (err) {
      // Another survivor claimed it; any other failure (NATS away) is tried again at the next sweep.
      if (!String(err).includes("wrong last sequence")) this.#seen.set(boot, seen);
      return;
    }
    try {
      // If it was only slow, it hears this and restores what a live node must keep.
      this.#o.nc.publish(`${this.#o.prefix}.dead.${boot}`);
    } catch { /* it is dead or we are cut off: nobody to tell */ }
    // The claim is ours: nobody else publishes these wills, so JetStream failing over meanwhile (measured: KV
    // reads answer "jetstream is not enabled" while a new meta leader is elected) is waited out, for a minute.
    let count = 0;
    for (let attempt = 0;; attempt++) {
      try {
        for await (const key of await wills.keys(`${boot}.>`)) {
          const entry = await wills.get(key);
          await wills.delete(key);
          if (entry === null || entry.operation !== "PUT") continue;
          const stored = decodeWill(entry.value, `will ${key}`);
          const delay = stored.will.properties?.willDelayInterval ?? 0;
          if (delay > 0) this.#delayedWill(boot, stored.info, stored.will, delay);
          else this.#local?.publishWill(stored.info, { ...stored.will, receivedAt: Date.now() });
          count++;
        }
        break;
      } catch (err) {
        if (this.#closed || attempt >= 120) throw err;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    this.#o.logger.warn("cluster: node died; its wills are published", {
      node: seen.node,
      boot,
      wills: count,
    });
  }

  /**
   * A v5 will with a delay waits for it, and is dropped if its client resumed its session on any node in the
   * meantime [MQTT-3.1.3-9] (5.0).
   */
  #delayedWill(boot: string, info: ClientInfo, will: Message, seconds: number): void {
    const timer = setTimeout(() => {
      this.#o.writer.track((async () => {
        if (await this.#o.sessions.resumedSince(info.id, boot)) return;
        this.#local?.publishWill(info, { ...will, receivedAt: Date.now() });
      })());
    }, seconds * 1000);
    this.#timers.push(timer);
  }
}
