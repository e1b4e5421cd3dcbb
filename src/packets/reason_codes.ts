/**
 * Reason codes of MQTT 5 and the CONNACK return codes of MQTT 3.1/3.1.1, as plain constants
 * (no enums: Node strips types only).
 * @module
 */

/** MQTT 5 reason codes used by the server. */
export const RC = {
  success: 0x00,
  grantedQos1: 0x01,
  grantedQos2: 0x02,
  disconnectWithWill: 0x04,
  noMatchingSubscribers: 0x10,
  noSubscriptionExisted: 0x11,
  continueAuthentication: 0x18,
  reAuthenticate: 0x19,
  unspecifiedError: 0x80,
  malformedPacket: 0x81,
  protocolError: 0x82,
  implementationSpecificError: 0x83,
  unsupportedProtocolVersion: 0x84,
  clientIdentifierNotValid: 0x85,
  badUserNameOrPassword: 0x86,
  notAuthorized: 0x87,
  serverUnavailable: 0x88,
  serverBusy: 0x89,
  banned: 0x8a,
  serverShuttingDown: 0x8b,
  badAuthenticationMethod: 0x8c,
  keepAliveTimeout: 0x8d,
  sessionTakenOver: 0x8e,
  topicFilterInvalid: 0x8f,
  topicNameInvalid: 0x90,
  packetIdentifierInUse: 0x91,
  packetIdentifierNotFound: 0x92,
  receiveMaximumExceeded: 0x93,
  topicAliasInvalid: 0x94,
  packetTooLarge: 0x95,
  messageRateTooHigh: 0x96,
  quotaExceeded: 0x97,
  administrativeAction: 0x98,
  payloadFormatInvalid: 0x99,
  retainNotSupported: 0x9a,
  qosNotSupported: 0x9b,
  useAnotherServer: 0x9c,
  serverMoved: 0x9d,
  sharedSubscriptionsNotSupported: 0x9e,
  connectionRateExceeded: 0x9f,
  maximumConnectTime: 0xa0,
  subscriptionIdentifiersNotSupported: 0xa1,
  wildcardSubscriptionsNotSupported: 0xa2,
} as const;

/** CONNACK return codes of MQTT 3.1 and 3.1.1. */
export const CONNACK_V3 = {
  accepted: 0,
  unacceptableProtocolVersion: 1,
  identifierRejected: 2,
  serverUnavailable: 3,
  badUserNameOrPassword: 4,
  notAuthorized: 5,
} as const;

/** SUBACK failure code of MQTT 3.1.1. */
export const SUBACK_FAILURE_V3 = 0x80;

/**
 * Map a v5 CONNACK reason code to the nearest v3 return code, or undefined when none fits:
 * then the server closes without CONNACK [MQTT-3.2.2-6].
 */
export function connackCodeV3(reasonCode: number): number | undefined {
  switch (reasonCode) {
    case RC.success:
      return CONNACK_V3.accepted;
    case RC.unsupportedProtocolVersion:
      return CONNACK_V3.unacceptableProtocolVersion;
    case RC.clientIdentifierNotValid:
      return CONNACK_V3.identifierRejected;
    case RC.serverUnavailable:
    case RC.serverBusy:
    case RC.serverShuttingDown:
    case RC.useAnotherServer:
    case RC.serverMoved:
    case RC.connectionRateExceeded:
    case RC.quotaExceeded:
      return CONNACK_V3.serverUnavailable;
    case RC.badUserNameOrPassword:
      return CONNACK_V3.badUserNameOrPassword;
    case RC.notAuthorized:
    case RC.banned:
    case RC.badAuthenticationMethod:
      return CONNACK_V3.notAuthorized;
    default:
      return undefined;
  }
}

/** Reason codes a v5 CONNACK may carry (MQTT 5.0 section 3.2.2.2). */
export const CONNACK_REASON_CODES: ReadonlySet<number> = new Set([
  0x00,
  0x80,
  0x81,
  0x82,
  0x83,
  0x84,
  0x85,
  0x86,
  0x87,
  0x88,
  0x89,
  0x8a,
  0x8c,
  0x90,
  0x95,
  0x97,
  0x99,
  0x9a,
  0x9b,
  0x9c,
  0x9d,
  0x9f,
]);

/** Reason codes a v5 PUBACK or PUBREC may carry (MQTT 5.0 sections 3.4.2.1 and 3.5.2.1). */
export const PUBLISH_ACK_REASON_CODES: ReadonlySet<number> = new Set([
  0x00,
  0x10,
  0x80,
  0x83,
  0x87,
  0x90,
  0x91,
  0x97,
  0x99,
]);

/** Reason codes a v5 PUBREL or PUBCOMP may carry. */
export const PUBREL_REASON_CODES: ReadonlySet<number> = new Set([0x00, 0x92]);

/** Reason codes a v5 DISCONNECT may carry (MQTT 5.0 section 3.14.2.1). */
export const DISCONNECT_REASON_CODES: ReadonlySet<number> = new Set([
  0x00,
  0x04,
  0x80,
  0x81,
  0x82,
  0x83,
  0x87,
  0x89,
  0x8b,
  0x8d,
  0x8e,
  0x8f,
  0x90,
  0x93,
  0x94,
  0x95,
  0x96,
  0x97,
  0x98,
  0x99,
  0x9a,
  0x9b,
  0x9c,
  0x9d,
  0x9e,
  0x9f,
  0xa0,
  0xa1,
  0xa2,
]);

/** Reason codes a v5 AUTH may carry. */
export const AUTH_REASON_CODES: ReadonlySet<number> = new Set([0x00, 0x18, 0x19]);

/** `code` when a DISCONNECT may carry it, else `fallback`. */
export function disconnectCode(code: number, fallback: number): number {
  return DISCONNECT_REASON_CODES.has(code) ? code : fallback;
}
