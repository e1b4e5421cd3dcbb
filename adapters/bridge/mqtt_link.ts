/**
 * The bridge's link to a remote broker over MQTT.js (runs on Deno, Bun and Node): one connection attempt per
 * call, no reconnecting of its own (the bridge does that, with back-off), acknowledgements of inbound QoS 1/2
 * messages held until the local broker took them.
 * @module
 */

import { Buffer } from "node:buffer";
import mqtt from "mqtt";
import type { IClientOptions, IClientPublishOptions, MqttClient } from "mqtt";
import type { BridgeConnector, BridgeLink, LinkHandlers, LinkMessage } from "../../src/bridge/bridge_link.ts";
import type { PublishProperties, QoS, UserProperties } from "../../src/packets/types.ts";

/** Where and how to connect. PEM texts, not paths: from_config.ts reads the files. */
export interface MqttLinkOptions {
  /** `mqtt://host:port`, `mqtts://host:port`, `ws://` or `wss://`. */
  url: string;
  /** Client id to connect with. */
  clientId: string;
  /** User name, if the remote needs one. */
  username?: string;
  /** Password, if the remote needs one. */
  password?: string;
  /** MQTT protocol level (3, 4 or 5). */
  protocolVersion: 3 | 4 | 5;
  /** CA certificates (PEM) to verify the remote with, instead of the system's. */
  ca?: string;
  /** Client certificate and key (PEM) for brokers that ask for one. */
  cert?: string;
  /** Private key (PEM) of `cert`. */
  key?: string;
  /** Keep-alive in seconds. Default 30. */
  keepalive?: number;
  /** How long one attempt may take (ms). Default 10000. */
  connectTimeoutMs?: number;
}

/** A {@link BridgeConnector} over MQTT.js. */
export function mqttConnector(options: MqttLinkOptions): BridgeConnector {
  return (handlers) => connectOnce(options, handlers);
}

function connectOnce(o: MqttLinkOptions, handlers: LinkHandlers): Promise<BridgeLink> {
  const v5 = o.protocolVersion === 5;
  const clientOptions: IClientOptions = {
    clientId: o.clientId,
    protocolVersion: o.protocolVersion,
    protocolId: o.protocolVersion === 3 ? "MQIsdp" : "MQTT",
    clean: true,
    reconnectPeriod: 0,
    resubscribe: false,
    // MQTT.js traces every packet through the `debug` package unless given a logger: a few % of the bridge's CPU.
    log: () => {},
    keepalive: o.keepalive ?? 30,
    connectTimeout: o.connectTimeoutMs ?? 10_000,
    ...(o.username === undefined ? {} : { username: o.username }),
    ...(o.password === undefined ? {} : { password: o.password }),
    ...(o.ca === undefined ? {} : { ca: o.ca }),
    ...(o.cert === undefined ? {} : { cert: o.cert }),
    ...(o.key === undefined ? {} : { key: o.key }),
  };
  return new Promise((resolve, reject) => {
    let client: MqttClient;
    try {
      client = mqtt.connect(o.url, clientOptions);
    } catch (err) {
      reject(err);
      return;
    }
    let established = false;
    let closing = false;
    let lastError: Error | undefined;
    client.on("error", (err) => {
      lastError = err;
      if (!established) {
        closing = true;
        client.end(true);
        reject(new Error(`Cannot connect to ${redact(o.url)}: ${err.message}`));
      }
    });
    client.on("close", () => {
      if (!established) {
        if (!closing) {
          closing = true;
          client.end(true);
          reject(
            new Error(`Cannot connect to ${redact(o.url)}: ${lastError?.message ?? "connection closed"}`),
          );
        }
        return;
      }
      if (closing) return;
      closing = true;
      client.end(true);
      handlers.closed(lastError ?? new Error("connection closed"));
    });
    // MQTT.js calls handleMessage for every inbound PUBLISH (all protocol versions) and sends PUBACK (QoS 1) or
    // PUBCOMP (QoS 2, on PUBREL) only when its callback runs: here, once the local broker took the message.
    // It handles one message at a time, which keeps their order.
    client.handleMessage = (packet, callback) => {
      handlers.message(fromPacket(packet, v5)).then(() => callback(), (err) => callback(err as Error));
    };
    client.once("connect", () => {
      established = true;
      resolve({
        publish: (m) => publish(client, m, v5),
        subscribe: (subs) =>
          new Promise<void>((ok, fail) => {
            const map: Record<string, { qos: QoS; nl?: boolean }> = {};
            for (const s of subs) map[s.filter] = v5 ? { qos: s.qos, nl: s.noLocal } : { qos: s.qos };
            client.subscribe(map, (err, granted) => {
              if (err) return fail(err);
              const bad = (granted ?? []).find((g) => g.qos > 2);
              if (bad) {
                return fail(new Error(`The remote refused the subscription to ${JSON.stringify(bad.topic)}`));
              }
              ok();
            });
          }),
        close: () =>
          new Promise<void>((ok) => {
            closing = true;
            // A remote that does not answer must not hold the stop up.
            const timer = setTimeout(() => client.end(true, {}, () => ok()), 1000);
            client.end(false, {}, () => {
              clearTimeout(timer);
              ok();
            });
          }),
      });
    });
  });
}

function publish(client: MqttClient, m: LinkMessage, v5: boolean): Promise<number> {
  const options: IClientPublishOptions = { qos: m.qos, retain: m.retain };
  if (v5 && m.properties !== undefined) options.properties = toMqttJs(m.properties);
  const payload = Buffer.from(m.payload.buffer, m.payload.byteOffset, m.payload.byteLength);
  return new Promise((ok, fail) => {
    client.publish(m.topic, payload, options, (err, packet) => {
      // MQTT.js reports a v5 PUBACK / PUBREC with a failure code as an error carrying the code.
      const code = (err as { code?: unknown } | undefined)?.code ??
        (packet as { reasonCode?: number } | undefined)?.reasonCode ?? 0;
      if (typeof code === "number" && code >= 0x80) return ok(code);
      if (err) return fail(err);
      ok(0);
    });
  });
}

type MqttJsProps = NonNullable<IClientPublishOptions["properties"]>;

function toMqttJs(p: PublishProperties): MqttJsProps {
  const out: MqttJsProps = {};
  if (p.payloadFormatIndicator !== undefined) out.payloadFormatIndicator = p.payloadFormatIndicator === 1;
  if (p.messageExpiryInterval !== undefined) out.messageExpiryInterval = p.messageExpiryInterval;
  if (p.contentType !== undefined) out.contentType = p.contentType;
  if (p.responseTopic !== undefined) out.responseTopic = p.responseTopic;
  if (p.correlationData !== undefined) out.correlationData = Buffer.from(p.correlationData);
  if (p.userProperties !== undefined) {
    const user: Record<string, string | string[]> = {};
    for (const [k, v] of p.userProperties) {
      const had = user[k];
      user[k] = had === undefined ? v : Array.isArray(had) ? [...had, v] : [had, v];
    }
    out.userProperties = user;
  }
  return out;
}

interface InPacket {
  topic: string;
  payload: Uint8Array | string;
  qos: QoS;
  retain: boolean;
  properties?: {
    payloadFormatIndicator?: boolean;
    messageExpiryInterval?: number;
    contentType?: string;
    responseTopic?: string;
    correlationData?: Uint8Array;
    userProperties?: Record<string, string | string[]>;
  };
}

function fromPacket(raw: unknown, v5: boolean): LinkMessage {
  const packet = raw as InPacket;
  const payload = typeof packet.payload === "string"
    ? new TextEncoder().encode(packet.payload)
    : packet.payload;
  const message: LinkMessage = { topic: packet.topic, payload, qos: packet.qos, retain: packet.retain };
  const p = packet.properties;
  if (!v5 || p === undefined) return message;
  const props: PublishProperties = {};
  if (p.payloadFormatIndicator !== undefined) props.payloadFormatIndicator = p.payloadFormatIndicator ? 1 : 0;
  if (p.messageExpiryInterval !== undefined) props.messageExpiryInterval = p.messageExpiryInterval;
  if (p.contentType !== undefined) props.contentType = p.contentType;
  if (p.responseTopic !== undefined) props.responseTopic = p.responseTopic;
  if (p.correlationData !== undefined) props.correlationData = new Uint8Array(p.correlationData);
  if (p.userProperties !== undefined) {
    const user: UserProperties = [];
    for (const [k, v] of Object.entries(p.userProperties)) {
      for (const one of Array.isArray(v) ? v : [v]) user.push([k, one]);
    }
    props.userProperties = user;
  }
  if (Object.keys(props).length > 0) message.properties = props;
  return message;
}

/** The URL without a password, for logs and status. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== "") u.password = "***";
    return u.toString().replace(/\/$/, "");
  } catch {
    return url;
  }
}
