/**
 * The write side shared by the TCP adapters: bytes queued within one event-loop turn, taken as one buffer,
 * and the high/low-water-mark bookkeeping behind `Connection.write()` and `ConnectionHandler.drain()`.
 *
 * Pure TypeScript, so every adapter (Deno, Bun, node:net) can use it.
 * @module
 */

import { BytePool } from "../src/packets/byte_pool.ts";

/**
 * Default high-water mark of a connection, in bytes: 1 MiB.
 *
 * Why 1 MiB: a writer that obeys back-pressure and sends 64 B messages (MQTT-sized) to a fast reader got, for
 * marks of 16 KiB / 64 KiB / 256 KiB / 1 MiB, 475 / 541 / 866 / 995 MB/s on Node and 674 / 825 / 1125 / 1185 MB/s
 * on Bun (Deno about 900-1100 for all): a larger mark means fewer drain cycles and larger gathered writes.
 * It also matches the default maximum packet size (`DEFAULT_LIMITS.maxPacketSize`), so one largest packet does
 * not trip back-pressure by itself. The cost is memory: a slow client holds up to about this much plus one
 * turn's writes in user space (the kernel send buffer, up to 4 MiB on Linux, comes on top). Brokers with many
 * slow clients can lower it per listener.
 */
export const DEFAULT_HIGH_WATER_MARK: number = 1024 * 1024;

/**
 * The gathered writes of every connection come from one pool (src/packets/byte_pool.ts says why): they live only
 * until the runtime wrote them (a slow client keeps at most one slab alive by its unsent remainder).
 */
const GATHER_POOL = new BytePool(64 * 1024, 16 * 1024);

/**
 * Pending bytes of one connection plus its back-pressure state.
 *
 * The adapter reports its "unsent" count (bytes handed to the runtime but not yet in the kernel) whenever it asks
 * a question, because only the adapter knows it.
 */
export class Outbox {
  /** `write()` returns false once queued plus unsent bytes exceed this. */
  readonly highWaterMark: number;
  /** `drain()` is due once queued plus unsent bytes are at or below this (half the high-water mark). */
  readonly lowWaterMark: number;
  #chunks: Uint8Array[] = [];
  #size = 0;
  #blocked = false;

  /** @param highWaterMark bytes; a positive integer (validated by the caller). */
  constructor(highWaterMark: number) {
    this.highWaterMark = highWaterMark;
    this.lowWaterMark = Math.floor(highWaterMark / 2);
  }

  /** Bytes queued and not yet taken. */
  get size(): number {
    return this.#size;
  }

  /** True after `push` returned false and until `drained` said so. */
  get blocked(): boolean {
    return this.#blocked;
  }

  /**
   * Queue `bytes` (kept by reference: the caller promised not to mutate them).
   * Returns what `Connection.write()` returns: false once over the high-water mark, and false for every later
   * call until {@link drained} reported room, so a writer that obeys it waits for exactly one `drain()`.
   */
  push(bytes: Uint8Array, unsent: number): boolean {
    if (bytes.byteLength > 0) {
      this.#chunks.push(bytes);
      this.#size += bytes.byteLength;
    }
    if (!this.#blocked && this.#size + unsent > this.highWaterMark) this.#blocked = true;
    return !this.#blocked;
  }

  /** Take everything queued: the chunk itself when there is one, else one concatenated copy. */
  take(): Uint8Array | undefined {
    const chunks = this.#chunks;
    if (chunks.length === 0) return undefined;
    const size = this.#size;
    this.#chunks = [];
    this.#size = 0;
    if (chunks.length === 1) return chunks[0];
    const out = GATHER_POOL.alloc(size);
    let offset = 0;
    for (const chunk of chunks) {
      out.set(chunk, offset);
      offset += chunk.byteLength;
    }
    return out;
  }

  /**
   * Whether the writer may go on: true exactly once per blocked period, when queued plus `unsent` bytes have
   * fallen to the low-water mark. The adapter then calls `handler.drain()`.
   */
  drained(unsent: number): boolean {
    if (!this.#blocked || this.#size + unsent > this.lowWaterMark) return false;
    this.#blocked = false;
    return true;
  }

  /** Drop everything queued (the connection is gone or destroyed). */
  clear(): void {
    this.#chunks = [];
    this.#size = 0;
  }
}
