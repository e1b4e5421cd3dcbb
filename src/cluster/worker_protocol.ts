/**
 * What broker workers and their hub say to each other over a thread's message port. Control data travels by
 * structured clone; routed messages travel packed in `frames` ({@link FrameWriter}), whose buffer is transferred.
 *
 * A batch's `ops` run in order; a number `n` among them stands for the next `n` frames, so that interest changes
 * and the messages forwarded around them keep their order.
 * @module
 */

import type { ClientInfo } from "../hooks/hook.ts";
import type { Message } from "../message.ts";
import type { HandedSession } from "./cluster_bus.ts";

/** The two ends of a thread's message channel, as src/ sees them (a worker's parent port, or the hub's side). */
export interface WorkerPort {
  /** Send `data`; the buffers in `transfer` move to the other side. */
  postMessage(data: unknown, transfer?: ArrayBuffer[]): void;
  /** Set the one handler for what the other side sends. */
  onMessage(handler: (data: unknown) => void): void;
}

/** The plain (cloneable) part of a client's identity that a will needs for its ACL check. */
export type PlainClientInfo = Pick<
  ClientInfo,
  "id" | "username" | "remoteAddress" | "listener" | "protocolVersion" | "certificateCommonName"
>;

/** An operation of a worker's batch. */
export type WorkerOp =
  | number
  | readonly ["interest", string, 1 | -1]
  | readonly ["shared", string, string, 1 | -1]
  | readonly ["retain", Message]
  | readonly ["will", string, PlainClientInfo | undefined, Message | undefined]
  | readonly ["ended", string]
  | readonly ["clients", number]
  /** Tell me (`synced`) once every other worker has applied what this batch and the ones before it changed. */
  | readonly ["sync", number]
  /** The hub's `sync` with this id is applied here. */
  | readonly ["synced", number];

/** An operation of the hub's batch to a worker. */
export type HubOp =
  | number
  | readonly ["shared", string, string]
  | readonly ["retained", Message]
  | readonly ["will", PlainClientInfo, Message]
  | readonly ["members", ReadonlyArray<readonly [string, number]>]
  /** Answer `synced` with this id once the ops before it are applied. */
  | readonly ["sync", number]
  /** The worker's `sync` with this id is known to every other worker. */
  | readonly ["synced", number]
  /**
   * Worker `peer` wants messages matching this filter now (1), or no longer (-1): they go to it directly. Peer -1
   * is the hub, for shared groups (any worker's): those messages go to the hub, which picks the member.
   */
  | readonly ["want", string, 1 | -1, number]
  /**
   * Takeover `round` (src/cluster/worker_handover.ts): send a mark to worker `from` (the old owner) and worker `to`
   * (the new one) behind every message sent to them so far. The `want` ops before it switched this worker's
   * messages for the moving session from `from` to `to`.
   */
  | readonly ["mark", number, number, number]
  /** To the old owner: these workers send marks in `round`; its own switch is now, and it marks `to`. */
  | readonly ["hold", number, number, readonly number[]]
  /**
   * To the new owner: catch messages for `clientId` matching `filters`, from each of `sources` once its mark has
   * come, from any other worker and from this one's own clients at once.
   */
  | readonly ["capture", number, string, readonly string[], readonly number[]]
  /** Worker `worker` is gone: its mark in `round` will not come. */
  | readonly ["unmark", number, number];

/** Supervisor to worker: the channel to another worker, or that worker is gone. */
export type PeerChange =
  | { readonly t: "peerAdd"; readonly peer: number; readonly port: unknown }
  | { readonly t: "peerGone"; readonly peer: number };

/** Worker to hub. */
export type WorkerToHub =
  | { readonly t: "start" }
  | { readonly t: "batch"; readonly ops: WorkerOp[]; readonly frames?: Uint8Array }
  | { readonly t: "acquire"; readonly id: number; readonly clientId: string; readonly clean: boolean }
  | { readonly t: "handed"; readonly id: number; readonly handed: HandedSession | undefined }
  /** The old owner detached the session of takeover `id` and holds its messages; these are its filters. */
  | { readonly t: "holding"; readonly id: number; readonly filters: readonly string[] }
  /** The new owner adopted (or gave up) the session of takeover `id`: the round's extra interest can go. */
  | { readonly t: "release"; readonly id: number };

/** Hub to worker. */
export type HubToWorker =
  | { readonly t: "started"; readonly retained: Message[] }
  | { readonly t: "batch"; readonly ops: HubOp[]; readonly frames?: Uint8Array }
  | {
    readonly t: "acquired";
    readonly id: number;
    readonly handed: HandedSession | undefined;
    /** The takeover round whose captured messages join the session. */
    readonly round?: number;
  }
  /** Close the client's connection and hand its session over; `hold`: in a takeover round (id = round). */
  | { readonly t: "handOver"; readonly id: number; readonly clientId: string; readonly hold: boolean };

/** A worker's node name, as $SYS, the API and logs show it. */
export function workerName(index: number): string {
  return `worker-${index}`;
}

/** `message` with a payload of its own, so that cloning it does not copy a whole socket read buffer. */
export function ownPayload(message: Message): Message {
  const p = message.payload;
  return p.byteOffset === 0 && p.byteLength === p.buffer.byteLength
    ? message
    : { ...message, payload: p.slice() };
}
