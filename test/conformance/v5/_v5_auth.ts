/**
 * Helpers for the MQTT 5 DISCONNECT and enhanced-authentication suites: CONNECT with an Authentication Method,
 * AUTH from the client, a challenge-response script, a full exchange, and a will watcher.
 * @module
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type { Broker } from "../../../src/broker.ts";
import type { EnhancedAuthResult } from "../../../src/hooks/hook.ts";
import { type AnyPacket, RawClient } from "../../_helpers/raw_client.ts";
import { bytes, subscribeV5, text, v5Client } from "./_v5_kit.ts";

/** CONNECT naming an Authentication Method, without waiting for anything. */
export function connectWithAuth(
  c: RawClient,
  method: string,
  data?: string,
  extra: Record<string, unknown> = {},
): void {
  const { properties, ...rest } = extra as { properties?: Record<string, unknown> };
  c.send({
    cmd: "connect",
    protocolId: "MQTT",
    protocolVersion: 5,
    clean: true,
    clientId: "auth-" + Math.random().toString(16).slice(2, 8),
    keepalive: 0,
    ...rest,
    properties: {
      ...properties,
      authenticationMethod: method,
      ...(data === undefined ? {} : { authenticationData: bytes(data) }),
    },
  });
}

/** AUTH from the client. */
export function auth(c: RawClient, reasonCode: number, method: string | undefined, data?: string): void {
  const properties: Record<string, unknown> = {};
  if (method !== undefined) properties.authenticationMethod = method;
  if (data !== undefined) properties.authenticationData = bytes(data);
  c.send({ cmd: "auth", reasonCode, properties });
}

/**
 * A challenge-response script: round 0 answers "continue" with `challenge-0`, each later round checks the client
 * sent `response-{round-1}` and continues, until `rounds` rounds, then succeeds with `welcome`.
 */
export function challenges(
  rounds: number,
): (step: { round: number; data?: Uint8Array }) => EnhancedAuthResult {
  return (step) => {
    if (step.round > 0 && text(step.data) !== `response-${step.round - 1}`) {
      return { result: "fail", reason: "wrong response" };
    }
    if (step.round < rounds) return { result: "continue", data: bytes(`challenge-${step.round}`) };
    return { result: "success", data: bytes("welcome") };
  };
}

/** Connect through a full exchange of `rounds` challenge rounds; returns the client and every AUTH it received. */
export async function authenticated(
  broker: Broker,
  method: string,
  rounds: number,
  extra: Record<string, unknown> = {},
): Promise<{ c: RawClient; auths: AnyPacket[]; connack: AnyPacket }> {
  const c = RawClient.memory(broker, 5);
  connectWithAuth(c, method, "hello", extra);
  const auths: AnyPacket[] = [];
  for (let i = 0; i < rounds; i++) {
    const a = await c.expect("auth");
    auths.push(a);
    auth(c, 0x18, method, `response-${i}`);
  }
  const connack = await c.expect("connack");
  assert.equal(connack.reasonCode, 0, "authenticated");
  return { c, auths, connack };
}

/** The packets until the connection closes (bounded by `ms`). */
export async function drain(c: RawClient, ms = 500): Promise<AnyPacket[]> {
  await c.waitClosed(ms);
  return c.packets.splice(0);
}

/** A subscriber to `topic` (QoS 1), to watch for wills. */
export async function watcher(broker: Broker, topic: string): Promise<RawClient> {
  const w = await v5Client(broker);
  await subscribeV5(w, [[topic, { qos: 1 }]]);
  return w;
}

/** A QoS 1 will on "will/t". */
export const WILL = { topic: "will/t", payload: Buffer.from("gone"), qos: 1, retain: false };
