/**
 * The unit the broker routes: an application message, independent of any one connection's encoding.
 * @module
 */

import type { PublishProperties, QoS } from "./packets/types.ts";

/** An application message on its way through the broker. Treat as immutable once routed. */
export interface Message {
  /** Topic name it was published to. */
  topic: string;
  /** Application payload bytes. */
  payload: Uint8Array;
  /** QoS it was published with. */
  qos: QoS;
  /** Retain flag as published. */
  retain: boolean;
  /** MQTT 5 properties (without topic alias and subscription identifiers, which belong to one hop). */
  properties?: PublishProperties;
  /** Client id of the publisher; undefined for messages from the embedding API or $SYS. */
  origin?: string;
  /** Milliseconds since the epoch when the broker took ownership. */
  receivedAt: number;
}
