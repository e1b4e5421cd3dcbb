import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { AllowHook } from "./allow_hook.ts";
import { DenyHook } from "./deny_hook.ts";
import type { ClientInfo } from "../hook.ts";
import { HookChain } from "../hook_chain.ts";
import { silentLogger } from "../../logger.ts";
import type { ConnectPacket } from "../../packets/types.ts";

const client: ClientInfo = {
  id: "c1",
  remoteAddress: "127.0.0.1:5000",
  listener: "tcp1",
  protocolVersion: 4,
};
const connect: ConnectPacket = {
  type: "connect",
  protocolName: "MQTT",
  protocolVersion: 4,
  clean: true,
  keepalive: 60,
  clientId: "c1",
};

describe("AllowHook", () => {
  it("allows every client, with or without credentials", () => {
    const hook = new AllowHook();
    assert.equal(hook.id, "allow-all");
    assert.equal(hook.onAuthenticate(client, connect), "allow");
    assert.equal(
      hook.onAuthenticate({ ...client, username: "u" }, {
        ...connect,
        username: "u",
        password: new Uint8Array([1]),
      }),
      "allow",
    );
  });
  it("gives no ACL opinion, so a chain with only it allows every check and skips per-delivery checks", () => {
    const hook = new AllowHook("open");
    assert.equal(hook.id, "open");
    assert.equal("onAclCheck" in hook, false);
    const chain = new HookChain(silentLogger);
    chain.add(hook);
    assert.equal(chain.has("onAclCheck"), false);
    for (const topic of ["a/b", "#", "$SYS/#"]) {
      assert.equal(chain.aclCheck(client, topic, "read"), true);
      assert.equal(chain.aclCheck(client, topic, "write"), true);
    }
  });
});

describe("DenyHook", () => {
  it("denies every client", () => {
    const hook = new DenyHook();
    assert.equal(hook.id, "deny-all");
    assert.equal(hook.onAuthenticate(client, connect), "deny");
    assert.equal(
      hook.onAuthenticate(client, { ...connect, username: "admin", password: new Uint8Array() }),
      "deny",
    );
  });
  it("gives no ACL opinion", () => {
    assert.equal("onAclCheck" in new DenyHook(), false);
  });
});
