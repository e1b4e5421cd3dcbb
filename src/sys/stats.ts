/**
 * Broker-wide counters, read by $SYS, the API and metrics.
 * @module
 */

import type { DropReason } from "../hooks/hook.ts";

/** Plain counters; cheap to bump on the hot path. */
export class BrokerStats {
  readonly startedAt: number;
  /** Connections that completed CONNECT and are open. */
  clientsConnected = 0;
  /** Highest clientsConnected seen. */
  clientsMaximum = 0;
  /** Accepted network connections since start. */
  connectionsTotal = 0;
  /** PUBLISH packets received from clients. */
  messagesReceived = 0;
  /** PUBLISH packets sent to clients. */
  messagesSent = 0;
  /** PUBLISH packets sent to clients, by QoS 0, 1, 2. */
  readonly messagesSentByQos: [number, number, number] = [0, 0, 0];
  bytesReceived = 0;
  bytesSent = 0;
  /** Messages dropped, by reason. */
  readonly dropped: Record<DropReason, number> = {
    "queue-full": 0,
    "qos0-offline": 0,
    "expired": 0,
    "too-large": 0,
    "not-authorized": 0,
  };
  /** Connections closed for malformed input or a protocol violation. */
  protocolErrors = 0;
  /** Connections refused at CONNECT. */
  connectsRefused = 0;

  constructor(now: number) {
    this.startedAt = now;
  }

  /** Sum of all drop reasons. */
  get droppedTotal(): number {
    let n = 0;
    for (const v of Object.values(this.dropped)) n += v;
    return n;
  }
}
