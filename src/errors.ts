/**
 * The broker's error taxonomy: one class that carries an MQTT reason code.
 * @module
 */

import { RC } from "./packets/reason_codes.ts";

/**
 * An error that maps to an MQTT reason code (v5 numbering; the client maps it to v3 where needed).
 * Thrown by the decoder for malformed input and by hooks to refuse an action.
 */
export class MqttError extends Error {
  /** MQTT 5 reason code, e.g. 0x81 malformed packet. */
  readonly reasonCode: number;
  /** v5 Server Reference sent with 0x9C (use another server) or 0x9D (server moved). */
  readonly serverReference?: string;

  /** An error with `reasonCode`; `options.serverReference` goes with 0x9C and 0x9D. */
  constructor(reasonCode: number, message: string, options?: ErrorOptions & { serverReference?: string }) {
    super(message, options);
    this.name = "MqttError";
    this.reasonCode = reasonCode;
    if (options?.serverReference !== undefined) this.serverReference = options.serverReference;
  }
}

/** Malformed packet (0x81): the bytes do not follow the packet layout. */
export function malformed(message: string): MqttError {
  return new MqttError(RC.malformedPacket, message);
}

/** Protocol error (0x82): well-formed bytes that break a protocol rule. */
export function protocolError(message: string): MqttError {
  return new MqttError(RC.protocolError, message);
}
