/**
 * The JWT backend on every runtime (jose over each runtime's Web Crypto): HS256 with a secret, RS256 with a PEM
 * public key, ES256 from a JWKS file; the ACL from a claim; `exp` disconnecting the client when it passes.
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportJWK, exportSPKI, generateKeyPair, SignJWT } from "jose";
import { authBroker } from "./_auth_broker.ts";
import type { AuthBroker } from "./_auth_broker.ts";
import { ALICE_RULES, checkChainFallThrough, connackCode, freshId } from "./_scenarios.ts";
import { RawClient } from "../_helpers/raw_client.ts";

const SECRET = "a-shared-secret-of-enough-length-0123456789";

function token(claims: Record<string, unknown>, expiresInSeconds = 60): SignJWT {
  return new SignJWT(claims).setIssuedAt().setExpirationTime(
    Math.floor(Date.now() / 1000) + expiresInSeconds,
  );
}

async function hs256(
  claims: Record<string, unknown>,
  expiresInSeconds?: number,
  secret = SECRET,
): Promise<string> {
  return await token(claims, expiresInSeconds).setProtectedHeader({ alg: "HS256" })
    .sign(new TextEncoder().encode(secret));
}

describe("auth type jwt", () => {
  let b: AuthBroker;

  before(async () => {
    b = await authBroker(`  type: jwt\n  secret: ${SECRET}\n  algorithms: [HS256]\n  aclClaim: acl\n`);
  });
  after(async () => {
    await b?.close();
  });

  it("a valid token connects on 3.1.1 and 5.0; a forged, expired or foreign token is refused", async () => {
    const good = await hs256({ username: "alice", acl: ALICE_RULES });
    for (const version of [4, 5] as const) {
      const bad = version === 5 ? 0x86 : 0x04;
      assert.equal(await connackCode(b.port, version, { username: "alice", password: good }), 0);
      const forged = await hs256({ username: "alice" }, 60, "another-secret-of-enough-length-0123456789");
      assert.equal(await connackCode(b.port, version, { username: "alice", password: forged }), bad);
      const expired = await hs256({ username: "alice" }, -10);
      assert.equal(await connackCode(b.port, version, { username: "alice", password: expired }), bad);
      assert.equal(
        await connackCode(b.port, version, { username: "mallory", password: good }),
        bad,
        "username claim",
      );
      assert.equal(await connackCode(b.port, version, { username: "alice", password: "not-a-token" }), bad);
    }
  });

  it("the ACL comes from the claim: subscribe and publish allowed and refused", async () => {
    const c = await RawClient.tcp(b.port, 5);
    const password = Buffer.from(
      await hs256({ username: "alice", acl: { sub: ["sensors/#"], pub: ["cmd/alice"] } }),
    );
    assert.equal((await c.connect({ clientId: freshId("jwt"), username: "alice", password })).reasonCode, 0);
    assert.deepEqual((await c.subscribe([["sensors/x", 1], ["cmd/alice", 1]])).granted, [1, 0x87]);
    c.publish("sensors/x", "v", { qos: 1, messageId: 1 });
    assert.equal((await c.expect("puback")).reasonCode, 0x87, "read-only topic");
    c.publish("cmd/alice", "v", { qos: 1, messageId: 2 });
    assert.ok([0, 0x10, undefined].includes((await c.expect("puback")).reasonCode));
    c.destroy();
  });

  it("a superuser claim bypasses ACL checks", async () => {
    const c = await RawClient.tcp(b.port, 4);
    const password = Buffer.from(await hs256({ superuser: true, acl: [] }));
    assert.equal((await c.connect({ clientId: freshId("su"), username: "ops", password })).returnCode, 0);
    assert.deepEqual((await c.subscribe([["#", 0]])).granted, [0]);
    c.destroy();
  });

  it("in a chain after a users file, a token falls through to the JWT link", async () => {
    await checkChainFallThrough(`{ type: jwt, secret: "${SECRET}" }`, await hs256({ username: "alice" }));
  });

  it("when exp passes the client is disconnected (5.0: DISCONNECT 0xA0)", async () => {
    const c = await RawClient.tcp(b.port, 5);
    const password = Buffer.from(await hs256({ username: "alice" }, 2));
    const started = Date.now();
    assert.equal((await c.connect({ clientId: freshId("exp"), username: "alice", password })).reasonCode, 0);
    const disconnect = await c.expect("disconnect", 4000);
    assert.equal(disconnect.reasonCode, 0xa0);
    assert.ok(await c.waitClosed(2000), "and the connection is closed");
    const waited = Date.now() - started;
    assert.ok(waited >= 900 && waited < 3500, `disconnected at exp (after ${waited} ms)`);
  });
});

describe("auth type jwt with public keys", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "comqtt-jwt-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("RS256 with a PEM public key file", async () => {
    const { publicKey, privateKey } = await generateKeyPair("RS256");
    writeFileSync(join(dir, "rsa.pem"), await exportSPKI(publicKey));
    const b = await authBroker(`  type: jwt\n  publicKey: rsa.pem\n  algorithms: [RS256]\n`, dir);
    try {
      const good = await token({}).setProtectedHeader({ alg: "RS256" }).sign(privateKey);
      assert.equal(await connackCode(b.port, 4, { username: "dev", password: good }), 0);
      const hs = await hs256({});
      assert.equal(
        await connackCode(b.port, 4, { username: "dev", password: hs }),
        0x04,
        "HS256 not accepted",
      );
    } finally {
      await b.close();
    }
  });

  it("ES256 from a JWKS file", async () => {
    const { publicKey, privateKey } = await generateKeyPair("ES256");
    const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256" };
    writeFileSync(join(dir, "keys.json"), JSON.stringify({ keys: [jwk] }));
    const b = await authBroker(`  type: jwt\n  jwksFile: keys.json\n  algorithms: [ES256]\n`, dir);
    try {
      const good = await token({}).setProtectedHeader({ alg: "ES256", kid: "k1" }).sign(privateKey);
      assert.equal(await connackCode(b.port, 5, { username: "dev", password: good }), 0);
    } finally {
      await b.close();
    }
  });
});
