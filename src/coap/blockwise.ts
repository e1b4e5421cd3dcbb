/**
 * Block-wise transfers (RFC 7959): reassembling Block1 request bodies and serving large responses in Block2
 * pieces. Both are bounded per remote and in time, since every block is a separate datagram a client may abandon.
 * @module
 */

import type { Clock } from "../clock.ts";
import { type CoapOption, encodeUint, OPT, RESPONSE } from "./message.ts";
import type { Reply } from "./endpoint.ts";

/** A Block1 / Block2 option value [RFC 7959 2.2]. */
export interface Block {
  readonly num: number;
  readonly more: boolean;
  /** Block size exponent: the size is 2 ** (szx + 4). 0..6. */
  readonly szx: number;
}

/** Decode a block option; undefined for a value longer than 3 bytes or SZX 7 (reserved) [RFC 7959 2.2]. */
export function decodeBlock(value: Uint8Array): Block | undefined {
  if (value.length > 3) return undefined;
  let n = 0;
  for (const b of value) n = n * 256 + b;
  const szx = n & 7;
  if (szx === 7) return undefined;
  return { num: n >> 4, more: (n & 8) !== 0, szx };
}

/** A block option ready to send. */
export function blockOption(number: number, block: Block): CoapOption {
  return { number, value: encodeUint((block.num << 4) | (block.more ? 8 : 0) | block.szx) };
}

/** Bytes per block for `szx`. */
export function blockSize(szx: number): number {
  return 1 << (szx + 4);
}

interface Upload {
  chunks: Uint8Array[];
  size: number;
  next: number;
  szx: number;
  at: number;
}

interface Representation {
  reply: Reply;
  etag: Uint8Array;
  at: number;
}

/** Options of {@link Blockwise}. */
export interface BlockwiseOptions {
  readonly clock: Clock;
  /** Largest request body accepted through Block1 (4.13 past it). */
  readonly maxBodySize: number;
  /** Uploads and stored representations kept per remote; the oldest go first. */
  readonly maxPerPeer?: number;
  /** How long an unfinished upload or a stored representation is kept. */
  readonly lifetimeMs?: number;
}

/** What {@link Blockwise.upload} decided for one Block1 request. */
export type UploadStep =
  | { readonly done: true; readonly body: Uint8Array; readonly option: CoapOption }
  | { readonly done: false; readonly reply: Reply };

/** Block1 reassembly and Block2 serving for the gateway. Keys name a remote and a resource. */
export class Blockwise {
  readonly #o: Required<BlockwiseOptions>;
  readonly #uploads = new Map<string, Map<string, Upload>>();
  readonly #stored = new Map<string, Map<string, Representation>>();
  #etag = 0;

  constructor(options: BlockwiseOptions) {
    this.#o = { maxPerPeer: 8, lifetimeMs: 60_000, ...options };
  }

  /**
   * One block of a request body. Blocks must come in order from 0; a gap or an unknown transfer is 4.08
   * [RFC 7959 2.9.2], too large a body 4.13 with Size1 [RFC 7959 2.9.3]. The last block gives the whole body.
   */
  upload(peer: string, resource: string, block: Block, payload: Uint8Array, size1?: number): UploadStep {
    const now = this.#o.clock.now();
    const uploads = this.#map(this.#uploads, peer);
    const tooLarge: UploadStep = {
      done: false,
      reply: {
        code: RESPONSE.requestEntityTooLarge,
        options: [{ number: OPT.size1, value: encodeUint(this.#o.maxBodySize) }],
      },
    };
    if (size1 !== undefined && size1 > this.#o.maxBodySize) return tooLarge;
    let upload = uploads.get(resource);
    if (block.num === 0) {
      upload = { chunks: [], size: 0, next: 0, szx: block.szx, at: now };
      uploads.delete(resource);
      uploads.set(resource, upload);
      this.#trim(uploads);
    }
    if (
      upload === undefined || block.num !== upload.next ||
      (block.more && payload.length !== blockSize(block.szx))
    ) {
      uploads.delete(resource);
      return { done: false, reply: { code: RESPONSE.requestEntityIncomplete } };
    }
    upload.size += payload.length;
    if (upload.size > this.#o.maxBodySize) {
      uploads.delete(resource);
      return tooLarge;
    }
    upload.chunks.push(payload);
    upload.at = now;
    // Block NUM counts in units of the current size; a client may lower SZX mid-transfer [RFC 7959 2.5].
    upload.next = block.num + 1;
    const option = {
      number: OPT.block1,
      value: encodeUint((block.num << 4) | (block.more ? 8 : 0) | block.szx),
    };
    if (block.more) return { done: false, reply: { code: RESPONSE.continue, options: [option] } };
    uploads.delete(resource);
    const body = new Uint8Array(upload.size);
    let p = 0;
    for (const c of upload.chunks) {
      body.set(c, p);
      p += c.length;
    }
    return { done: true, body, option };
  }

  /**
   * The first block of `reply` when its payload is larger than one block of `szx`, storing the whole for later
   * blocks; `reply` unchanged otherwise. Every block keeps the reply's options (the caller strips Observe from
   * blocks asked for without it).
   */
  first(peer: string, resource: string, reply: Reply, szx: number): Reply {
    const payload = reply.payload ?? new Uint8Array();
    if (payload.length <= blockSize(szx)) return reply;
    const etag = encodeUint((++this.#etag >>> 0) || 1);
    const stored = this.#map(this.#stored, peer);
    stored.delete(resource);
    stored.set(resource, { reply, etag, at: this.#o.clock.now() });
    this.#trim(stored);
    return this.#block(reply, etag, 0, szx);
  }

  /** Block `num` of the representation stored for `resource`, or undefined when none is stored (any more). */
  next(peer: string, resource: string, block: Block): Reply | undefined {
    const rep = this.#stored.get(peer)?.get(resource);
    if (rep === undefined) return undefined;
    return this.#block(rep.reply, rep.etag, block.num, block.szx);
  }

  /** Drop what has outlived its lifetime. */
  sweep(): void {
    const end = this.#o.clock.now() - this.#o.lifetimeMs;
    for (const maps of [this.#uploads, this.#stored] as Array<Map<string, Map<string, { at: number }>>>) {
      for (const [peer, map] of maps) {
        for (const [key, v] of map) if (v.at < end) map.delete(key);
        if (map.size === 0) maps.delete(peer);
      }
    }
  }

  #block(reply: Reply, etag: Uint8Array, num: number, szx: number): Reply {
    const payload = reply.payload ?? new Uint8Array();
    const size = blockSize(szx);
    const start = num * size;
    if (start >= payload.length && num > 0) return { code: RESPONSE.badOption };
    const end = Math.min(payload.length, start + size);
    const options = [...(reply.options ?? [])];
    options.push(
      { number: OPT.etag, value: etag },
      blockOption(OPT.block2, { num, more: end < payload.length, szx }),
      { number: OPT.size2, value: encodeUint(payload.length) },
    );
    return { code: reply.code, options, payload: payload.subarray(start, end) };
  }

  #map<T>(maps: Map<string, Map<string, T>>, peer: string): Map<string, T> {
    let map = maps.get(peer);
    if (map === undefined) maps.set(peer, map = new Map());
    return map;
  }

  #trim(map: Map<string, unknown>): void {
    while (map.size > this.#o.maxPerPeer) map.delete(map.keys().next().value!);
  }
}
