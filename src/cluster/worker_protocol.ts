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
  | readonly ["want", string, 1 | -1, number];

/** Supervisor to worker: the channel to another worker, or that worker is gone. */
export type PeerChange =
  | { readonly t: "peerAdd"; readonly peer: number; readonly port: unknown }
  | { readonly t: "peerGone"; readonly peer: number };

/** Worker to hub. */
export type WorkerToHub =
  | { readonly t: "start" }
  | { readonly t: "batch"; readonly ops: WorkerOp[]; readonly frames?: Uint8Array }
  | { readonly t: "acquire"; readonly id: number; readonly clientId: string; readonly clean: boolean }
  | { readonly t: "handed"; readonly id: number; readonly handed: HandedSession | undefined };

/** Hub to worker. */
export type HubToWorker =
  | { readonly t: "started"; readonly retained: Message[] }
  | { readonly t: "batch"; readonly ops: HubOp[]; readonly frames?: Uint8Array }
  | { readonly t: "acquired"; readonly id: number; readonly handed: HandedSession | undefined }
  | { readonly t: "handOver"; readonly id: number; readonly clientId: string };

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
