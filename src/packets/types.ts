/**
 * MQTT control packets as the core sees them: a discriminated union on `type`.
 * Fields for MQTT 5 (properties, reason codes) are present from the start so that protocol level 5
 * fits without a rewrite; a 3.1/3.1.1 packet simply leaves them undefined.
 * @module
 */

/** Quality of service. */
export type QoS = 0 | 1 | 2;

/** Protocol level byte of CONNECT: 3 = MQTT 3.1 (MQIsdp), 4 = 3.1.1, 5 = 5.0. */
export type ProtocolVersion = 3 | 4 | 5;

/** MQTT 5 user properties, in order, duplicates allowed. */
export type UserProperties = Array<[string, string]>;

/** MQTT 5 PUBLISH / will properties. */
export interface PublishProperties {
  payloadFormatIndicator?: 0 | 1;
  messageExpiryInterval?: number;
  topicAlias?: number;
  responseTopic?: string;
  correlationData?: Uint8Array;
  userProperties?: UserProperties;
  subscriptionIdentifiers?: number[];
  contentType?: string;
}

/** MQTT 5 CONNECT properties. */
export interface ConnectProperties {
  sessionExpiryInterval?: number;
  receiveMaximum?: number;
  maximumPacketSize?: number;
  topicAliasMaximum?: number;
  requestResponseInformation?: boolean;
  requestProblemInformation?: boolean;
  userProperties?: UserProperties;
  authenticationMethod?: string;
  authenticationData?: Uint8Array;
}

/** The will carried in CONNECT. */
export interface WillMessage {
  topic: string;
  payload: Uint8Array;
  qos: QoS;
  retain: boolean;
  properties?: PublishProperties & { willDelayInterval?: number };
}

export interface ConnectPacket {
  type: "connect";
  protocolName: string;
  protocolVersion: ProtocolVersion;
  /** MQTT 3.1.1 Clean Session / MQTT 5 Clean Start. */
  clean: boolean;
  keepalive: number;
  clientId: string;
  will?: WillMessage;
  username?: string;
  password?: Uint8Array;
  properties?: ConnectProperties;
}

export interface ConnackPacket {
  type: "connack";
  sessionPresent: boolean;
  /** v3 return code (0..5) or v5 reason code. */
  reasonCode: number;
  properties?: Record<string, unknown>;
}

export interface PublishPacket {
  type: "publish";
  topic: string;
  payload: Uint8Array;
  qos: QoS;
  retain: boolean;
  dup: boolean;
  /** Present when qos > 0. */
  packetId?: number;
  properties?: PublishProperties;
  /**
   * Set by the decoder on a QoS 2 PUBLISH whose packet id already awaited PUBREL when it was read: its payload
   * was left out (empty), since it is delivered to no one [MQTT-4.3.3-2].
   */
  duplicate?: true;
}

/** PUBACK, PUBREC, PUBREL, PUBCOMP: the same shape. */
export interface AckPacket {
  type: "puback" | "pubrec" | "pubrel" | "pubcomp";
  packetId: number;
  reasonCode?: number;
  properties?: { reasonString?: string; userProperties?: UserProperties };
}

/** One filter of a SUBSCRIBE with its options (v5 options default to false/0). */
export interface SubscriptionRequest {
  topicFilter: string;
  qos: QoS;
  noLocal?: boolean;
  retainAsPublished?: boolean;
  retainHandling?: 0 | 1 | 2;
}

export interface SubscribePacket {
  type: "subscribe";
  packetId: number;
  subscriptions: SubscriptionRequest[];
  properties?: { subscriptionIdentifier?: number; userProperties?: UserProperties };
}

export interface SubackPacket {
  type: "suback";
  packetId: number;
  /** Granted QoS (0..2) or a failure code (0x80 in v3, a reason code in v5), one per filter. */
  reasonCodes: number[];
  properties?: { reasonString?: string; userProperties?: UserProperties };
}

export interface UnsubscribePacket {
  type: "unsubscribe";
  packetId: number;
  topicFilters: string[];
  properties?: { userProperties?: UserProperties };
}

export interface UnsubackPacket {
  type: "unsuback";
  packetId: number;
  /** v5 only. */
  reasonCodes?: number[];
  properties?: { reasonString?: string; userProperties?: UserProperties };
}

export interface PingreqPacket {
  type: "pingreq";
}

export interface PingrespPacket {
  type: "pingresp";
}

export interface DisconnectPacket {
  type: "disconnect";
  /** v5 only. */
  reasonCode?: number;
  properties?: {
    sessionExpiryInterval?: number;
    reasonString?: string;
    serverReference?: string;
    userProperties?: UserProperties;
  };
}

export interface AuthPacket {
  type: "auth";
  reasonCode: number;
  properties?: {
    authenticationMethod?: string;
    authenticationData?: Uint8Array;
    reasonString?: string;
    userProperties?: UserProperties;
  };
}

/** Every control packet. */
export type Packet =
  | ConnectPacket
  | ConnackPacket
  | PublishPacket
  | AckPacket
  | SubscribePacket
  | SubackPacket
  | UnsubscribePacket
  | UnsubackPacket
  | PingreqPacket
  | PingrespPacket
  | DisconnectPacket
  | AuthPacket;
