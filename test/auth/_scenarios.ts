/**
 * The checks every auth backend suite runs against a broker on a real TCP port: CONNACK codes for good and bad
 * passwords on 3.1.1 and 5.0, ACL on publish, subscribe and retained delivery, the cache, and what a stopped
 * backend does. Each backend's suite fills its store with the same users and rules:
 *
 * - alice / `alice-pw`: `sensors/#` read, `sensors/alice/#` read+write, `sensors/secret` deny, `cmd/alice` write.
 * - bob / `bob-pw`, `allow` false (refused whatever the password).
 * @module
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { RawClient } from "../_helpers/raw_client.ts";
import type { AnyPacket } from "../_helpers/raw_client.ts";
import type { Broker } from "../../src/broker.ts";
import type { AclRule } from "../../src/hooks/auth/acl_rules.ts";
import { hashPassword } from "../../src/hooks/auth/password.ts";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { authBroker } from "./_auth_broker.ts";

/** The rules of alice, as every store holds them. */
export const ALICE_RULES: readonly AclRule[] = [
  { topic: "sensors/#", access: "read" },
  { topic: "sensors/alice/#", access: "readwrite" },
  { topic: "sensors/secret", access: "deny" },
  { topic: "cmd/alice", access: "write" },
];
/** CoMQTT's numbers for the same rules. */
export const ALICE_RULES_COMQTT: ReadonlyArray<[string, number]> = [
  ["sensors/#", 1],
  ["sensors/alice/#", 3],
  ["sensors/secret", 0],
  ["cmd/alice", 2],
];

let seq = 0;
/** A client id nobody used yet in this process. */
export function freshId(prefix = "c"): string {
  return `${prefix}-${process_id()}-${++seq}`;
}
function process_id(): string {
  return Math.random().toString(36).slice(2, 8);
}

/** CONNECT and return the CONNACK code (returnCode for 3.1.1, reasonCode for 5.0); the connection is closed. */
export async function connackCode(
  port: number,
  version: 4 | 5,
  options: { username?: string; password?: string; clientId?: string },
): Promise<number> {
  const c = await RawClient.tcp(port, version);
  try {
    const ack = await c.connect({
      clientId: options.clientId ?? freshId(),
      ...(options.username === undefined ? {} : { username: options.username }),
      ...(options.password === undefined ? {} : { password: Buffer.from(options.password) }),
    });
    return version === 5 ? ack.reasonCode : ack.returnCode;
  } finally {
    c.destroy();
  }
}

/** A connected client (CONNACK 0 asserted). */
export async function connected(
  port: number,
  version: 4 | 5,
  username: string,
  password: string,
  clientId = freshId(username),
): Promise<RawClient> {
  const c = await RawClient.tcp(port, version);
  const ack = await c.connect({ clientId, username, password: Buffer.from(password) });
  assert.equal(version === 5 ? ack.reasonCode : ack.returnCode, 0, `${username} should connect`);
  return c;
}

/** Read the next `cmds.length` packets, in any order, and return them by command (duplicates fail). */
export async function packetsOf(c: RawClient, cmds: string[]): Promise<Record<string, AnyPacket>> {
  const out: Record<string, AnyPacket> = {};
  for (let i = 0; i < cmds.length; i++) {
    const p = await c.next();
    assert.ok(
      cmds.includes(p.cmd) && !(p.cmd in out),
      `unexpected ${p.cmd} while waiting for ${cmds.join(", ")}`,
    );
    out[p.cmd] = p;
  }
  return out;
}

/** Good password connects; wrong password, unknown user and a disallowed user are refused with the right codes. */
export async function checkCredentials(port: number): Promise<void> {
  for (const version of [4, 5] as const) {
    assert.equal(await connackCode(port, version, { username: "alice", password: "alice-pw" }), 0);
    const bad = version === 5 ? 0x86 : 0x04;
    assert.equal(
      await connackCode(port, version, { username: "alice", password: "wrong" }),
      bad,
      "wrong password",
    );
    assert.equal(
      await connackCode(port, version, { username: "nobody", password: "x" }),
      bad,
      "unknown user",
    );
    assert.equal(
      await connackCode(port, version, { username: "bob", password: "bob-pw" }),
      bad,
      "allow = false",
    );
    // No credentials at all: "not authorized".
    assert.equal(await connackCode(port, version, {}), version === 5 ? 0x87 : 0x05, "anonymous");
  }
}

/**
 * ACL: subscriptions granted and refused (3.1.1 0x80, 5.0 0x87), publishes accepted and refused (5.0 PUBACK
 * 0x87), the most specific rule winning, and retained messages on a denied topic not delivered.
 */
export async function checkAcl(port: number, broker: Broker): Promise<void> {
  await broker.publish("sensors/secret", "hidden", { retain: true });
  await broker.publish("sensors/public", "shown", { retain: true });

  const v4 = await connected(port, 4, "alice", "alice-pw");
  const subs4 = await v4.subscribe([["sensors/#", 0], ["cmd/alice", 0], ["other/#", 0]]);
  assert.deepEqual(subs4.granted, [0, 0x80, 0x80], "3.1.1 SUBACK");
  const retained = await v4.collect(300);
  const topics = retained.filter((p) => p.cmd === "publish").map((p) => p.topic).sort();
  assert.deepEqual(topics, ["sensors/public"], "the retained message on the denied topic is not delivered");
  v4.destroy();

  const v5 = await connected(port, 5, "alice", "alice-pw");
  const subs5 = await v5.subscribe([["sensors/alice/#", 1], ["sensors/secret", 1]]);
  assert.deepEqual(subs5.granted, [1, 0x87], "5.0 SUBACK");
  await v5.collect(100);
  const publish = async (topic: string, id: number) => {
    v5.publish(topic, "x", { qos: 1, messageId: id });
    return (await v5.expect("puback")).reasonCode ?? 0;
  };
  v5.publish("sensors/alice/temp", "x", { qos: 1, messageId: 1 });
  const both = await packetsOf(v5, ["puback", "publish"]);
  assert.equal(both.puback.reasonCode ?? 0, 0, "readwrite: publish allowed");
  assert.equal(both.publish.topic, "sensors/alice/temp", "and delivered back to the subscriber");
  v5.send({ cmd: "puback", messageId: both.publish.messageId });
  assert.equal(await publish("sensors/other", 2), 0x87, "read only: publish refused");
  assert.equal(await publish("sensors/secret", 3), 0x87, "deny");
  const cmd = await publish("cmd/alice", 4);
  assert.ok(cmd === 0 || cmd === 0x10, `write only: publish allowed (got ${cmd})`);
  v5.destroy();
}

/** 100 CONNECTs with the same credentials; `calls()` (the backend's own count) grows by 1. */
export async function checkCache(port: number, calls: () => Promise<number> | number): Promise<void> {
  const before = await calls();
  const clientId = freshId("cached");
  for (let i = 0; i < 100; i += 10) {
    const batch = [];
    for (let j = 0; j < 10; j++) {
      batch.push(connackCode(port, 4, { username: "alice", password: "alice-pw", clientId }));
    }
    for (const code of await Promise.all(batch)) assert.equal(code, 0);
  }
  assert.equal((await calls()) - before, 1, "the backend saw one call for 100 CONNECTs");
}

/**
 * With the backend stopped: a client connected before keeps publishing and receiving (its rules are held), and a
 * new CONNECT gets the `onError` outcome (deny here: 0x03 / 0x88, server unavailable).
 */
export async function checkOutage(
  port: number,
  stop: () => Promise<void>,
  start: () => Promise<void>,
  refill: () => Promise<void> = () => Promise.resolve(),
): Promise<void> {
  const alice = await connected(port, 5, "alice", "alice-pw");
  await alice.subscribe([["sensors/alice/#", 0]]);
  await stop();
  alice.publish("sensors/alice/during", "y", { qos: 1, messageId: 7 });
  const both = await packetsOf(alice, ["puback", "publish"]);
  assert.equal(both.puback.reasonCode ?? 0, 0, "connected client still served");
  assert.equal(both.publish.topic, "sensors/alice/during");
  // onError deny: refused as "server unavailable", which clients retry, not as a wrong password.
  assert.equal(await connackCode(port, 5, { username: "alice", password: "alice-pw" }), 0x88, "onError deny");
  assert.equal(await connackCode(port, 4, { username: "alice", password: "alice-pw" }), 0x03, "onError deny");
  await start();
  await refill();
  // Recovery: the client library reconnects by itself; allow it a few seconds.
  const end = Date.now() + 8000;
  let code = -1;
  while (Date.now() < end) {
    code = await connackCode(port, 5, { username: "alice", password: "alice-pw" });
    if (code === 0) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(code, 0, "a new CONNECT succeeds once the backend is back");
  alice.destroy();
}

/**
 * A chain of a users file (fred / `file-pw`) and then the backend `link` (a YAML flow mapping): each asks in
 * order, a user the file does not know falls through to the backend, and what nobody knows is denied.
 */
export async function checkChainFallThrough(link: string, alicePassword = "alice-pw"): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "comqtt-chain-"));
  const hash = await hashPassword("file-pw", { iterations: 1000 });
  writeFileSync(join(dir, "users.yaml"), `users:\n  fred:\n    password: "${hash}"\n`);
  const b = await authBroker(`  chain:\n    - { type: file, file: users.yaml }\n    - ${link}\n`, dir);
  try {
    assert.equal(
      await connackCode(b.port, 4, { username: "fred", password: "file-pw" }),
      0,
      "the file's user",
    );
    assert.equal(
      await connackCode(b.port, 4, { username: "fred", password: "nope" }),
      0x04,
      "the file denies",
    );
    assert.equal(
      await connackCode(b.port, 5, { username: "alice", password: alicePassword }),
      0,
      "falls through",
    );
    assert.equal(
      await connackCode(b.port, 5, { username: "alice", password: "wrong" }),
      0x86,
      "the backend denies",
    );
    assert.equal(
      await connackCode(b.port, 4, { username: "stranger", password: "x" }),
      0x04,
      "last word: deny",
    );
  } finally {
    await b.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
