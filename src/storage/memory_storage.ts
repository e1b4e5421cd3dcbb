/**
 * The in-memory storage backend: the reference for what every backend does (test/storage/ runs the same suite on
 * each), and the backend of a broker that needs no restart survival but wants the storage code path.
 * @module
 */

import type {
  Storage,
  StorageOp,
  StoredInflight,
  StoredMessage,
  StoredQueued,
  StoredSession,
  StoredSessionState,
  StoredState,
  StoredWill,
} from "./storage.ts";
import { cloneInflight, cloneMessage, cloneQueued, cloneSession, cloneWill } from "./_clone.ts";

/**
 * Storage in Maps. Records are copied in and out, so neither the broker nor a caller of {@link load} can change
 * stored state by holding on to an object.
 *
 * Semantics shared by every backend (the storage suite checks them):
 * - operations apply in order; a put replaces, a delete of something absent does nothing;
 * - inflight entries load in the order they were first stored (an overwrite, e.g. PUBREL state, keeps its place),
 *   queued entries in `seq` order, incoming packet ids ascending;
 * - inflight, queued and incoming records of a client with no session record are dropped by {@link load}.
 *
 * @example
 * ```ts
 * const storage = new MemoryStorage();
 * await storage.apply([{ type: "retainedDelete", topic: "a/b" }]);
 * const state = await storage.load();
 * ```
 */
export class MemoryStorage implements Storage {
  readonly name = "memory";
  #sessions = new Map<string, StoredSession>();
  #inflight = new Map<string, Map<number, StoredInflight>>();
  #queued = new Map<string, Map<number, StoredQueued>>();
  #incoming = new Map<string, Set<number>>();
  #retained = new Map<string, StoredMessage>();
  #wills = new Map<string, StoredWill>();
  #bridges = new Map<string, Map<number, StoredQueued>>();
  #closed = false;

  apply(ops: readonly StorageOp[]): Promise<void> {
    if (this.#closed) {
      return Promise.reject(new Error("Cannot apply storage operations: memory storage is closed"));
    }
    try {
      for (const op of ops) this.#applyOne(op);
    } catch (err) {
      return Promise.reject(err);
    }
    return Promise.resolve();
  }

  load(): Promise<StoredState> {
    if (this.#closed) return Promise.reject(new Error("Cannot load: memory storage is closed"));
    for (const map of [this.#inflight, this.#queued, this.#incoming]) {
      for (const clientId of map.keys()) if (!this.#sessions.has(clientId)) map.delete(clientId);
    }
    const sessions: StoredSessionState[] = [];
    for (const [clientId, s] of this.#sessions) {
      sessions.push({
        ...cloneSession(s),
        inflight: [...(this.#inflight.get(clientId)?.values() ?? [])].map(cloneInflight),
        queued: [...(this.#queued.get(clientId)?.values() ?? [])].sort((a, b) => a.seq - b.seq).map(
          cloneQueued,
        ),
        incoming: [...(this.#incoming.get(clientId) ?? [])].sort((a, b) => a - b),
      });
    }
    const state: StoredState = {
      sessions,
      retained: [...this.#retained.values()].map(cloneMessage),
      wills: [...this.#wills.values()].map(cloneWill),
    };
    const bridges = [...this.#bridges].filter(([, q]) => q.size > 0).map(([bridge, q]) => ({
      bridge,
      queued: [...q.values()].sort((a, b) => a.seq - b.seq).map(cloneQueued),
    }));
    if (bridges.length > 0) state.bridges = bridges;
    return Promise.resolve(state);
  }

  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }

  #applyOne(op: StorageOp): void {
    switch (op.type) {
      case "session":
        this.#sessions.set(op.session.clientId, cloneSession(op.session));
        break;
      case "sessionDelete":
        this.#sessions.delete(op.clientId);
        this.#inflight.delete(op.clientId);
        this.#queued.delete(op.clientId);
        this.#incoming.delete(op.clientId);
        break;
      case "inflight":
        // Map.set on an existing key keeps its position: an overwrite keeps the entry's resend order.
        group(this.#inflight, op.clientId).set(op.entry.packetId, cloneInflight(op.entry));
        break;
      case "inflightDelete":
        this.#inflight.get(op.clientId)?.delete(op.packetId);
        break;
      case "queued":
        group(this.#queued, op.clientId).set(op.entry.seq, cloneQueued(op.entry));
        break;
      case "queuedDelete":
        this.#queued.get(op.clientId)?.delete(op.seq);
        break;
      case "incoming": {
        let set = this.#incoming.get(op.clientId);
        if (set === undefined) this.#incoming.set(op.clientId, set = new Set());
        set.add(op.packetId);
        break;
      }
      case "incomingDelete":
        this.#incoming.get(op.clientId)?.delete(op.packetId);
        break;
      case "retained":
        this.#retained.set(op.message.topic, cloneMessage(op.message));
        break;
      case "retainedDelete":
        this.#retained.delete(op.topic);
        break;
      case "will":
        this.#wills.set(op.will.clientId, cloneWill(op.will));
        break;
      case "willDelete":
        this.#wills.delete(op.clientId);
        break;
      case "bridgeQueued":
        group(this.#bridges, op.bridge).set(op.entry.seq, cloneQueued(op.entry));
        break;
      case "bridgeQueuedDelete":
        this.#bridges.get(op.bridge)?.delete(op.seq);
        break;
      default:
        throw new TypeError(`Cannot apply storage operation of type "${(op as { type: unknown }).type}"`);
    }
  }
}

function group<V>(map: Map<string, Map<number, V>>, clientId: string): Map<number, V> {
  let inner = map.get(clientId);
  if (inner === undefined) map.set(clientId, inner = new Map());
  return inner;
}
