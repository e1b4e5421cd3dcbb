/**
 * Encode a routed PUBLISH once per distinct wire form and share the bytes between subscribers
 * (DESIGN.md: "encode once per distinct form"). QoS 1/2 subscribers get a copy with their packet id patched in;
 * v5 deliveries that carry something of their own (Subscription Identifiers, a topic alias) are encoded apart.
 * @module
 */

import { encodePublish } from "../packets/encoder.ts";
import type { Message } from "../message.ts";
import type { PublishProperties, QoS } from "../packets/types.ts";

interface Form {
  bytes: Uint8Array;
  packetIdOffset: number;
}

/** The wire forms of one message, made lazily during one routing pass. */
export class PublishForms {
  readonly message: Message;
  readonly #now: () => number;
  // index: (v5 ? 6 : 0) + qos * 2 + (retain ? 1 : 0)
  #forms: Array<Form | undefined> = [];

  /** `now` is read only when a form needs the remaining expiry time. */
  constructor(message: Message, now: () => number) {
    this.message = message;
    this.#now = now;
  }

  /** The shared bytes for a 3.1/3.1.1 (`v5` false) or 5.0 subscriber; the packet id is 0, to be patched. */
  form(v5: boolean, qos: QoS, retain: boolean): Form {
    const key = (v5 ? 6 : 0) + qos * 2 + (retain ? 1 : 0);
    let form = this.#forms[key];
    if (form === undefined) {
      form = encodePublish(
        {
          type: "publish",
          topic: this.message.topic,
          payload: this.message.payload,
          qos,
          retain,
          dup: false,
          properties: v5 && this.message.properties !== undefined
            ? outboundProperties(this.message, this.#now(), undefined)
            : undefined,
        },
        v5 ? 5 : 4,
      );
      this.#forms[key] = form;
    }
    return form;
  }
}

/**
 * The v5 properties a message is forwarded with: everything the publisher sent, unchanged and in order
 * [MQTT-3.3.2-4] [MQTT-3.3.2-15] [MQTT-3.3.2-16] [MQTT-3.3.2-17] [MQTT-3.3.2-18] [MQTT-3.3.2-20], with the
 * Message Expiry Interval reduced by the time spent in the broker [MQTT-3.3.2-6] and the subscriber's
 * Subscription Identifiers [MQTT-3.3.4-3].
 */
export function outboundProperties(
  message: Message,
  now: number,
  subscriptionIds: number[] | undefined,
): PublishProperties | undefined {
  const p = message.properties;
  if (p === undefined && subscriptionIds === undefined) return undefined;
  const out: PublishProperties = { ...p };
  if (p?.messageExpiryInterval !== undefined) {
    const left = p.messageExpiryInterval - Math.floor((now - message.receivedAt) / 1000);
    out.messageExpiryInterval = left > 0 ? left : 1;
  }
  if (subscriptionIds !== undefined) out.subscriptionIdentifiers = subscriptionIds;
  return out;
}
