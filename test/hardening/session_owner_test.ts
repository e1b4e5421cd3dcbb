/**
 * A session belongs to the user who created it: another user can neither resume it, discard it nor kick its
 * owner off (3.1.1 CONNACK 0x05, 5.0 0x87) unless `allowCrossUserTakeover` says so; the users file can bind
 * client ids to users; with useIdentityAsUsername the password check and the ACL see the same user.
 * Real TCP sockets through the running runtime's adapter.
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { RawClient } from "../_helpers/raw_client.ts";
import { tcpBroker, testBroker, until } from "../_helpers/broker.ts";
import { FileAuthHook } from "../../src/hooks/auth/file_auth_hook.ts";
import { hashPassword, MIN_ITERATIONS } from "../../src/hooks/auth/password.ts";
import type { Broker } from "../../src/broker.ts";
import type { Accept } from "../../src/transport/connection.ts";

const FAST = { iterations: MIN_ITERATIONS };
let users: Record<
  string,
  { password: string; clientIds?: string[]; acl?: { topic: string; access: "read" }[] }
>;

before(async () => {
  users = {
    alice: { password: await hashPassword("alice-pw", FAST) },
    bob: { password: await hashPassword("bob-pw", FAST) },
    carol: { password: await hashPassword("carol-pw", FAST), clientIds: ["carol-*", "%u"] },
  };
});

async function connectAs(
  port: number,
  version: number,
  user: string,
  clientId: string,
  clean = false,
): Promise<{ client: RawClient; connack: Record<string, unknown> }> {
  const client = await RawClient.tcp(port, version);
  const connack = await client.connect({
    clientId,
    clean,
    username: user,
    password: Buffer.from(`${user}-pw`),
    ...(version === 5 && !clean ? { properties: { sessionExpiryInterval: 300 } } : {}),
  });
  return { client, connack };
}

const code = (connack: Record<string, unknown>): unknown => connack.returnCode ?? connack.reasonCode;

describe("session ownership over TCP", () => {
  let broker: Broker;
  let port: number;
  const open: RawClient[] = [];
  before(async () => {
    ({ broker, port } = await tcpBroker({ auth: new FileAuthHook({ users }) }));
  });
  after(async () => {
    for (const c of open) c.destroy();
    await broker.close();
  });

  for (const version of [4, 5]) {
    const refused = version === 5 ? 0x87 : 5;
    it(`v${version}: another user cannot resume an offline session, even with clean start`, async () => {
      const id = `owned-offline-${version}`;
      const a = await connectAs(port, version, "alice", id);
      open.push(a.client);
      assert.equal(code(a.connack), 0);
      a.client.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "alice/#", qos: 1 }] });
      await a.client.expect("suback");
      a.client.disconnect();
      await until(() => broker.getClient(id) === undefined, 2000, "alice gone");

      for (const clean of [false, true]) {
        const b = await connectAs(port, version, "bob", id, clean);
        open.push(b.client);
        assert.equal(code(b.connack), refused, `bob clean=${clean}`);
        assert.equal(await b.client.waitClosed(), true);
      }
      assert.equal(broker.getSession(id)?.subscriptions.has("alice/#"), true, "alice's session is untouched");
      const again = await connectAs(port, version, "alice", id);
      open.push(again.client);
      assert.equal(code(again.connack), 0);
      assert.equal(again.connack.sessionPresent, true);
      again.client.disconnect();
    });

    it(`v${version}: another user cannot kick the connected owner off`, async () => {
      const id = `owned-live-${version}`;
      const a = await connectAs(port, version, "alice", id, true);
      open.push(a.client);
      for (let i = 0; i < 3; i++) {
        const b = await connectAs(port, version, "bob", id, i % 2 === 0);
        open.push(b.client);
        assert.equal(code(b.connack), refused);
      }
      // Alice still has her connection: a PINGREQ is answered.
      a.client.send({ cmd: "pingreq" });
      await a.client.expect("pingresp");
      assert.equal(a.client.closed, false);
      // The same user may take over, as before.
      const a2 = await connectAs(port, version, "alice", id, true);
      open.push(a2.client);
      assert.equal(code(a2.connack), 0);
      assert.equal(await a.client.waitClosed(), true);
      a2.client.disconnect();
    });
  }

  it("users file: clientIds bind ids to a user, both ways", async () => {
    const ok1 = await connectAs(port, 4, "carol", "carol-1", true);
    const ok2 = await connectAs(port, 5, "carol", "carol", true);
    const notHers = await connectAs(port, 5, "carol", "sensor-7", true);
    const bobTakes = await connectAs(port, 4, "bob", "carol-2", true);
    const bobTakes5 = await connectAs(port, 5, "bob", "carol-3", true);
    open.push(ok1.client, ok2.client, notHers.client, bobTakes.client, bobTakes5.client);
    assert.equal(code(ok1.connack), 0);
    assert.equal(code(ok2.connack), 0);
    assert.equal(code(notHers.connack), 0x87);
    assert.equal(code(bobTakes.connack), 5);
    assert.equal(code(bobTakes5.connack), 0x87);
  });
});

describe("allowCrossUserTakeover: true", () => {
  it("lets another user resume the session (the old behaviour, by choice)", async () => {
    const { broker, port } = await tcpBroker({
      auth: new FileAuthHook({ users }),
      allowCrossUserTakeover: true,
    });
    const open: RawClient[] = [];
    try {
      const a = await connectAs(port, 4, "alice", "shared-id");
      open.push(a.client);
      a.client.disconnect();
      await until(() => broker.getClient("shared-id") === undefined, 2000, "alice gone");
      const b = await connectAs(port, 4, "bob", "shared-id");
      open.push(b.client);
      assert.equal(code(b.connack), 0);
      assert.equal(b.connack.sessionPresent, true);
    } finally {
      for (const c of open) c.destroy();
      await broker.close();
    }
  });
});

describe("useIdentityAsUsername", () => {
  it("checks the password of the certificate's user, the one the ACL sees", async () => {
    const hook = new FileAuthHook({
      users: {
        alice: { password: users.alice.password, acl: [{ topic: "alice/#", access: "read" }] },
        mallory: { password: await hashPassword("mallory-pw", FAST) },
      },
    });
    const broker = testBroker({ auth: hook });
    // A TLS listener with useIdentityAsUsername reports a verified certificate for "alice".
    const accept: Accept = (c, info) =>
      broker.accept(c, { ...info, certificateCommonName: "alice", useIdentityAsUsername: true });
    const viaCert = { accept } as unknown as Broker;
    try {
      const withOwnPassword = RawClient.memory(viaCert, 5);
      const c1 = await withOwnPassword.connect({
        username: "mallory",
        password: Buffer.from("mallory-pw"),
      });
      assert.equal(c1.reasonCode, 0x86, "mallory's password does not unlock alice's identity");
      const withAlices = RawClient.memory(viaCert, 5);
      const c2 = await withAlices.connect({ username: "mallory", password: Buffer.from("alice-pw") });
      assert.equal(c2.reasonCode, 0);
      const suback = await withAlices.subscribe([["alice/x", 0], ["mallory/x", 0]]);
      assert.deepEqual(suback.granted, [0, 0x87], "the ACL is alice's");
      withAlices.disconnect();
    } finally {
      await broker.close();
    }
  });
});
