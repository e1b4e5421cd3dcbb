/**
 * Small tools for the MQTT 5 conformance suites of sections 3.8–3.15, 4.7–4.9 and 4.12–4.13: connected v5 raw
 * clients, v5 SUBSCRIBE / UNSUBSCRIBE frames built byte by byte (for the cases mqtt-packet refuses to generate),
 * and a scripted enhanced-authentication hook.
 * @module
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type { Broker } from "../../../src/broker.ts";
import type { ClientInfo, EnhancedAuthResult, EnhancedAuthStep, Hook } from "../../../src/hooks/hook.ts";
import { type AnyPacket, RawClient } from "../../_helpers/raw_client.ts";
import { type Bytes, frame, str, varint } from "../_wire.ts";

/** Reason codes a server may put in a v5 SUBACK (section 3.9.3). */
export const SUBACK_CODES: ReadonlySet<number> = new Set([
  0x00,
  0x01,
  0x02,
  0x80,
  0x83,
  0x87,
  0x8f,
  0x91,
  0x97,
  0x9e,
  0xa1,
  0xa2,
]);

/** Reason codes of a v5 UNSUBACK (section 3.11.3). */
export const UNSUBACK_CODES: ReadonlySet<number> = new Set([0x00, 0x11, 0x80, 0x83, 0x87, 0x8f, 0x91]);

/** Reason codes a server may put in a DISCONNECT (section 3.14.2.1; 0x04 is the client's alone). */
export const SERVER_DISCONNECT_CODES: ReadonlySet<number> = new Set([
  0x00,
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

/** A v5 memory client whose CONNECT was accepted. */
export async function v5Client(broker: Broker, options: AnyPacket = {}): Promise<RawClient> {
  const c = RawClient.memory(broker, 5);
  const ack = await c.connect(options);
  assert.equal(ack.reasonCode, 0, `CONNACK accepted (got 0x${Number(ack.reasonCode).toString(16)})`);
  return c;
}

/** One v5 subscription for mqtt-packet: filter, QoS and the v5 options. */
export interface SubOptions {
  qos?: number;
  nl?: boolean;
  rap?: boolean;
  rh?: number;
}

/** SUBSCRIBE (v5 options, optional Subscription Identifier) and return the SUBACK. */
export async function subscribeV5(
  c: RawClient,
  subs: Array<[string, SubOptions?]>,
  options: { id?: number; subscriptionIdentifier?: number } = {},
): Promise<AnyPacket> {
  const messageId = options.id ?? 1;
  c.send({
    cmd: "subscribe",
    messageId,
    subscriptions: subs.map(([topic, o = {}]) => ({
      topic,
      qos: o.qos ?? 0,
      nl: o.nl ?? false,
      rap: o.rap ?? false,
      rh: o.rh ?? 0,
    })),
    properties: options.subscriptionIdentifier === undefined
      ? undefined
      : { subscriptionIdentifier: options.subscriptionIdentifier },
  });
  const ack = await c.expect("suback");
  assert.equal(ack.messageId, messageId, "SUBACK packet identifier");
  return ack;
}

/** UNSUBSCRIBE and return the UNSUBACK. */
export async function unsubscribeV5(c: RawClient, filters: string[], id = 1): Promise<AnyPacket> {
  c.send({ cmd: "unsubscribe", messageId: id, unsubscriptions: filters });
  const ack = await c.expect("unsuback");
  assert.equal(ack.messageId, id, "UNSUBACK packet identifier");
  return ack;
}

/** The next packet must be DISCONNECT with `code`, and the broker must then close the connection. */
export async function expectDisconnect(c: RawClient, code: number, what = ""): Promise<AnyPacket> {
  const p = await c.expect("disconnect");
  assert.equal(
    p.reasonCode,
    code,
    `${what}DISCONNECT reason code 0x${Number(p.reasonCode).toString(16)}, expected 0x${code.toString(16)}`,
  );
  assert.equal(await c.waitClosed(), true, `${what}the broker closes the connection after DISCONNECT`);
  assert.deepEqual(c.packets, [], `${what}nothing follows the DISCONNECT`);
  return p;
}

/** Whole size on the wire of a packet mqtt-packet decoded (`length` is its Remaining Length). */
export function wireSize(p: AnyPacket): number {
  return 1 + varint(p.length).length + p.length;
}

/** A v5 SUBSCRIBE with exact filter bytes and Subscription Options bytes, and raw property bytes. */
export function subscribeFrameV5(
  packetId: number,
  entries: Array<[Bytes, number]>,
  options: { flags?: number; properties?: number[] } = {},
): number[] {
  const props = options.properties ?? [];
  const body = [packetId >> 8, packetId & 0xff, ...varint(props.length), ...props];
  for (const [filter, opts] of entries) body.push(...str(filter), opts);
  return frame(0x80 | (options.flags ?? 0x02), body);
}

/** A v5 UNSUBSCRIBE with exact filter bytes. */
export function unsubscribeFrameV5(packetId: number, filters: Bytes[], flags = 0x02): number[] {
  const body = [packetId >> 8, packetId & 0xff, 0];
  for (const filter of filters) body.push(...str(filter));
  return frame(0xa0 | flags, body);
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** One step of a scripted exchange: what to answer, given the step. */
export type AuthScript = (step: EnhancedAuthStep, client: ClientInfo) => EnhancedAuthResult | undefined;

/**
 * An enhanced-authentication hook for one method, driven by a script; it records every step it was asked.
 * Steps of other methods get undefined (not handled).
 */
export class ScriptedAuth implements Hook {
  readonly id: string;
  readonly method: string;
  readonly steps: EnhancedAuthStep[] = [];
  #script: AuthScript;

  constructor(method: string, script: AuthScript) {
    this.id = `scripted-auth:${method}`;
    this.method = method;
    this.#script = script;
  }

  onEnhancedAuth(client: ClientInfo, step: EnhancedAuthStep): EnhancedAuthResult | undefined {
    if (step.method !== this.method) return undefined;
    this.steps.push(step);
    return this.#script(step, client);
  }
}

/** Text of a data buffer (undefined stays undefined). */
export function text(data: Uint8Array | undefined): string | undefined {
  return data === undefined ? undefined : new TextDecoder().decode(data);
}

/** Bytes of a string as a Buffer (mqtt-packet writes binary properties only from Buffers). */
export function bytes(s: string): Buffer {
  return Buffer.from(s, "utf8");
}

/** A v5 PUBLISH with exact topic bytes and raw property bytes (for duplicate, unknown or misplaced properties). */
export function publishFrameV5(
  topic: Bytes,
  payload: string,
  options: { qos?: number; packetId?: number; retain?: boolean; properties?: number[] } = {},
): number[] {
  const qos = options.qos ?? 0;
  const props = options.properties ?? [];
  const body = [...str(topic)];
  if (qos > 0) body.push((options.packetId ?? 1) >> 8, (options.packetId ?? 1) & 0xff);
  body.push(...varint(props.length), ...props, ...new TextEncoder().encode(payload));
  return frame(0x30 | (qos << 1) | (options.retain ? 1 : 0), body);
}
