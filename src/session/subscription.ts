/**
 * One subscription of one session, as stored in the subscription index.
 * @module
 */

import type { QoS } from "../packets/types.ts";
import type { Session } from "./session.ts";

/** A granted subscription. The index value points back at its session so routing needs no lookup. */
export interface Subscription {
  readonly session: Session;
  readonly filter: string;
  /** Granted maximum QoS. */
  qos: QoS;
  /** v5: do not deliver the subscriber's own messages. */
  noLocal: boolean;
  /** v5: keep the publisher's retain flag on delivery. */
  retainAsPublished: boolean;
  /** v5: 0 send retained on subscribe, 1 only for a new subscription, 2 never. */
  retainHandling: 0 | 1 | 2;
  /** v5 Subscription Identifier, when given. */
  identifier?: number;
}
