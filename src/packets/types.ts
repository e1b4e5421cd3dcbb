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
  /** 1: the payload is UTF-8 text; 0 or absent: unspecified bytes. */
  payloadFormatIndicator?: 0 | 1;
  /** Seconds the message lives; counted down while it waits in the broker. */
  messageExpiryInterval?: number;
  /** A number standing for the topic on this connection (0 is not allowed). */
  topicAlias?: number;
  /** Where a request's reply should be published. */
  responseTopic?: string;
  /** Opaque data that ties a reply to its request. */
  correlationData?: Uint8Array;
  /** Name/value pairs carried end to end. */
  userProperties?: UserProperties;
  /** On delivery: the identifiers of the subscriptions that matched. */
  subscriptionIdentifiers?: number[];
  /** A MIME type describing the payload. */
  contentType?: string;
}

/** MQTT 5 CONNECT properties. */
export interface ConnectProperties {
  /** Seconds the session outlives the connection (0: ends with it; 0xFFFFFFFF: never expires). */
  sessionExpiryInterval?: number;
  /** QoS 1/2 messages the client accepts unacknowledged at once. */
  receiveMaximum?: number;
  /** The largest packet the client accepts, in bytes. */
  maximumPacketSize?: number;
  /** Topic aliases the client accepts from the broker. */
  topicAliasMaximum?: number;
  /** The client asks for Response Information in CONNACK. */
  requestResponseInformation?: boolean;
  /** False: no Reason String or User Properties on packets other than PUBLISH, CONNACK and DISCONNECT. */
  requestProblemInformation?: boolean;
  /** Name/value pairs for the server. */
  userProperties?: UserProperties;
  /** The enhanced authentication method (e.g. SCRAM-SHA-256). */
  authenticationMethod?: string;
  /** The first step's data of enhanced authentication. */
  authenticationData?: Uint8Array;
}

/** The will carried in CONNECT. */
export interface WillMessage {
  /** Topic the will is published to. */
  topic: string;
  /** The will's payload. */
  payload: Uint8Array;
  /** QoS it is published with. */
  qos: QoS;
  /** Published as a retained message. */
  retain: boolean;
  /** v5 will properties, with the Will Delay Interval in seconds. */
  properties?: PublishProperties & { willDelayInterval?: number };
}

/** CONNECT: the first packet of a connection. */
export interface ConnectPacket {
  /** Packet type. */
  type: "connect";
  /** `MQTT` (3.1.1 and 5.0) or `MQIsdp` (3.1). */
  protocolName: string;
  /** Protocol level. */
  protocolVersion: ProtocolVersion;
  /** MQTT 3.1.1 Clean Session / MQTT 5 Clean Start. */
  clean: boolean;
  /** Keep-alive in seconds, 0 for none. */
  keepalive: number;
  /** Client identifier; empty asks the broker to assign one. */
  clientId: string;
  /** The will, when the client set one. */
  will?: WillMessage;
  /** User name, when given. */
  username?: string;
  /** Password (bytes), when given. */
  password?: Uint8Array;
  /** v5 properties. */
  properties?: ConnectProperties;
}

/** CONNACK: the broker's answer to CONNECT. */
export interface ConnackPacket {
  /** Packet type. */
  type: "connack";
  /** True when a previous session was resumed. */
  sessionPresent: boolean;
  /** v3 return code (0..5) or v5 reason code. */
  reasonCode: number;
  /** v5 properties (what the server offers, assigned client id, ...). */
  properties?: Record<string, unknown>;
}

/** PUBLISH: an application message. */
export interface PublishPacket {
  /** Packet type. */
  type: "publish";
  /** Topic name (empty in v5 when a topic alias stands for it). */
  topic: string;
  /** The message's bytes. */
  payload: Uint8Array;
  /** Quality of service. */
  qos: QoS;
  /** Retain flag. */
  retain: boolean;
  /** DUP flag: a re-delivery of a QoS 1/2 message. */
  dup: boolean;
  /** Present when qos > 0. */
  packetId?: number;
  /** v5 properties. */
  properties?: PublishProperties;
  /**
   * Set by the decoder on a QoS 2 PUBLISH whose packet id already awaited PUBREL when it was read: its payload
   * was left out (empty), since it is delivered to no one [MQTT-4.3.3-2].
   */
  duplicate?: true;
}

/** PUBACK, PUBREC, PUBREL, PUBCOMP: the same shape. */
export interface AckPacket {
  /** Which acknowledgement. */
  type: "puback" | "pubrec" | "pubrel" | "pubcomp";
  /** The id of the PUBLISH it acknowledges. */
  packetId: number;
  /** v5 reason code (absent: success). */
  reasonCode?: number;
  /** v5 properties. */
  properties?: { reasonString?: string; userProperties?: UserProperties };
}

/** One filter of a SUBSCRIBE with its options (v5 options default to false/0). */
export interface SubscriptionRequest {
  /** The topic filter (with `+`, `#`, or `$share/group/` in front). */
  topicFilter: string;
  /** The maximum QoS asked for. */
  qos: QoS;
  /** v5: do not send the client its own messages. */
  noLocal?: boolean;
  /** v5: keep the retain flag as published on delivery. */
  retainAsPublished?: boolean;
  /** v5: 0 send retained messages, 1 only for a new subscription, 2 never. */
  retainHandling?: 0 | 1 | 2;
}

/** SUBSCRIBE: one or more filters. */
export interface SubscribePacket {
  /** Packet type. */
  type: "subscribe";
  /** Packet id, echoed in SUBACK. */
  packetId: number;
  /** The filters asked for, in order. */
  subscriptions: SubscriptionRequest[];
  /** v5 properties. */
  properties?: { subscriptionIdentifier?: number; userProperties?: UserProperties };
}

/** SUBACK: the broker's answer to SUBSCRIBE. */
export interface SubackPacket {
  /** Packet type. */
  type: "suback";
  /** The SUBSCRIBE's packet id. */
  packetId: number;
  /** Granted QoS (0..2) or a failure code (0x80 in v3, a reason code in v5), one per filter. */
  reasonCodes: number[];
  /** v5 properties. */
  properties?: { reasonString?: string; userProperties?: UserProperties };
}

/** UNSUBSCRIBE: filters to remove. */
export interface UnsubscribePacket {
  /** Packet type. */
  type: "unsubscribe";
  /** Packet id, echoed in UNSUBACK. */
  packetId: number;
  /** The filters to remove. */
  topicFilters: string[];
  /** v5 properties. */
  properties?: { userProperties?: UserProperties };
}

/** UNSUBACK: the broker's answer to UNSUBSCRIBE. */
export interface UnsubackPacket {
  /** Packet type. */
  type: "unsuback";
  /** The UNSUBSCRIBE's packet id. */
  packetId: number;
  /** v5 only. */
  reasonCodes?: number[];
  /** v5 properties. */
  properties?: { reasonString?: string; userProperties?: UserProperties };
}

/** PINGREQ: the client is alive. */
export interface PingreqPacket {
  /** Packet type. */
  type: "pingreq";
}

/** PINGRESP: the broker's answer to PINGREQ. */
export interface PingrespPacket {
  /** Packet type. */
  type: "pingresp";
}

/** DISCONNECT: the end of a connection, from either side (v5: the broker may send one). */
export interface DisconnectPacket {
  /** Packet type. */
  type: "disconnect";
  /** v5 only. */
  reasonCode?: number;
  /** v5 properties. */
  properties?: {
    sessionExpiryInterval?: number;
    reasonString?: string;
    serverReference?: string;
    userProperties?: UserProperties;
  };
}

/** AUTH: a step of v5 enhanced authentication or re-authentication. */
export interface AuthPacket {
  /** Packet type. */
  type: "auth";
  /** 0x00 success, 0x18 continue, 0x19 re-authenticate. */
  reasonCode: number;
  /** The method and this step's data. */
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
