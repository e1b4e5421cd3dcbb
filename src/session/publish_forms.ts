/**
 * Encode a routed PUBLISH once per distinct wire form and share the bytes between subscribers
 * (DESIGN.md: "encode once per distinct form"). QoS 1/2 subscribers get a copy with their packet id patched in.
 * @module
 */

import { encodePublish } from "../packets/encoder.ts";
import type { Message } from "../message.ts";
import type { ProtocolVersion, QoS } from "../packets/types.ts";

interface Form {
  bytes: Uint8Array;
  packetIdOffset: number;
}

/** The wire forms of one message, made lazily during one routing pass. */
export class PublishForms {
  readonly message: Message;
  // index: (v5 ? 6 : 0) + qos * 2 + (retain ? 1 : 0)
  #forms: Array<Form | undefined> = [];

  constructor(message: Message) {
    this.message = message;
  }

  /**
   * Bytes of this message for a subscriber. For QoS 0 the shared bytes are returned (callers never mutate them);
   * for QoS 1/2 a copy carrying `packetId`.
   */
  bytes(version: ProtocolVersion, qos: QoS, retain: boolean, packetId: number): Uint8Array {
    const v5 = version === 5;
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
          packetId: qos > 0 ? 1 : undefined,
          properties: v5 ? this.message.properties : undefined,
        },
        version === 5 ? 5 : 4,
      );
      this.#forms[key] = form;
    }
    if (qos === 0) return form.bytes;
    const copy = form.bytes.slice();
    copy[form.packetIdOffset] = packetId >> 8;
    copy[form.packetIdOffset + 1] = packetId & 0xff;
    return copy;
  }
}
