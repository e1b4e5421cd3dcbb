/**
 * Where a node keeps its sessions' queues (stream `{prefix}_q_{node}`, subject `{prefix}.q.{node}.{client}`),
 * and reading one session's queue back: what a node does when it takes a session over from a node that cannot
 * answer (dead, or cut off).
 * @module
 */

import type { JetStreamManager, MsgRequest } from "@nats-io/jetstream";
import { kvKey } from "../../src/cluster/subjects.ts";
import {
  applyQueueOps,
  decodeQueueOps,
  type QueueOp,
  type QueueState,
  queueState,
} from "../../src/cluster/queue_codec.ts";

/** The stream that holds node `node`'s session queues. */
export function streamName(prefix: string, node: string): string {
  return `${prefix}_q_${node}`;
}

/** The subject of `clientId`'s queue in node `node`'s stream. */
export function subjectOf(prefix: string, node: string, clientId: string): string {
  return `${prefix}.q.${node}.${kvKey(clientId)}`;
}

/**
 * The queue `node` kept for `clientId` (its messages replayed in order, from the last snapshot on), and the
 * stream sequence it was read up to. Rejects when JetStream cannot be read.
 */
export async function readQueue(
  manager: JetStreamManager | Promise<JetStreamManager>,
  prefix: string,
  node: string,
  clientId: string,
): Promise<QueueState & { lastSeq: number }> {
  const jsm = await manager;
  const stream = streamName(prefix, node);
  const subject = subjectOf(prefix, node, clientId);
  const records = new Map<string, QueueOp>();
  let seq = 0;
  for (;;) {
    let msg;
    try {
      // Server 2.9 answers next_by_subj on the plain MSG.GET API too (the client types it for direct gets only).
      msg = await jsm.streams.getMessage(
        stream,
        { next_by_subj: subject, seq: seq + 1 } as unknown as MsgRequest,
      );
    } catch (err) {
      // The end of the subject (or no stream: the node never kept a queue) reads as "no message".
      if (/no message found|stream not found/i.test(String(err))) break;
      throw err;
    }
    if (msg === null) break;
    seq = msg.seq;
    applyQueueOps(records, decodeQueueOps(msg.data, clientId));
  }
  return { ...queueState(records), lastSeq: seq };
}
