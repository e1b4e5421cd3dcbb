import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ListenerAuthHook } from "./listener_auth_hook.ts";
import { AllowHook } from "./allow_hook.ts";
import { DenyHook } from "./deny_hook.ts";
import type { Access, ClientInfo, Hook, Verdict } from "../hook.ts";
import type { ConnectPacket } from "../../packets/types.ts";
import { Broker } from "../../broker.ts";
import { connectMemory } from "../../transport/memory.ts";
import { silentLogger } from "../../logger.ts";

function client(listener: string, username?: string): ClientInfo {
  return { id: "c", username, remoteAddress: "127.0.0.1:1", listener, protocolVersion: 4 };
}

const CONNECT: ConnectPacket = {
  type: "connect",
  protocolName: "MQTT",
  protocolVersion: 4,
  clean: true,
  keepalive: 60,
  clientId: "c",
};

/** Allows publishing to `mine/#` only. */
class AclHook implements Hook {
  readonly id = "acl";
  inits = 0;
  stops = 0;
  init(): void {
    this.inits++;
  }
  stop(): void {
    this.stops++;
  }
  onAuthenticate(): Verdict {
    return "allow";
  }
  onAclCheck(_client: ClientInfo, topic: string, _access: Access): Verdict {
    return topic.startsWith("mine/") ? "allow" : "deny";
  }
}

describe("ListenerAuthHook", () => {
  it("asks the hook of the client's listener, or the fallback", async () => {
    const hook = new ListenerAuthHook({ listeners: { open: new AllowHook() }, fallback: new DenyHook() });
    assert.equal(await hook.onAuthenticate(client("open"), CONNECT), "allow");
    assert.equal(await hook.onAuthenticate(client("tcp1"), CONNECT), "deny");
    assert.equal(hook.id, "listener-auth");
  });

  it("has no ACL check unless one of its hooks has one, and then delegates it", () => {
    const plain = new ListenerAuthHook({ listeners: { a: new AllowHook() }, fallback: new DenyHook() });
    assert.equal(plain.onAclCheck, undefined);
    assert.equal(plain.onEnhancedAuth, undefined);
    const acl = new AclHook();
    const hook = new ListenerAuthHook({ listeners: new Map([["tls", acl]]), fallback: new AllowHook() });
    assert.equal(hook.onAclCheck!(client("tls"), "mine/x", "write"), "allow");
    assert.equal(hook.onAclCheck!(client("tls"), "other", "write"), "deny");
    assert.equal(hook.onAclCheck!(client("tcp"), "other", "write"), undefined); // AllowHook: no opinion
  });

  it("starts and stops each distinct hook once", async () => {
    const acl = new AclHook();
    const hook = new ListenerAuthHook({ listeners: { a: acl, b: acl }, fallback: acl });
    await hook.init({ logger: silentLogger });
    await hook.stop();
    assert.deepEqual([acl.inits, acl.stops], [1, 1]);
  });

  it("in a broker: a client of the open listener connects, one of another listener is refused", async () => {
    const broker = new Broker({
      sysInterval: 0,
      hooks: [new ListenerAuthHook({ listeners: { open: new AllowHook() }, fallback: new DenyHook() })],
    });
    await broker.listen();
    try {
      // CONNECT v3.1.1, client id "c", clean session.
      const connect = new Uint8Array([0x10, 0x0d, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 2, 0, 60, 0, 1, 0x63]);
      const answers: Record<string, number[]> = {};
      for (const listener of ["open", "closed"]) {
        const peer = connectMemory(broker.accept, { listener });
        const got: number[] = [];
        peer.onData = (bytes) => void got.push(...bytes);
        peer.write(connect);
        for (let i = 0; i < 100 && got.length < 4; i++) await new Promise((r) => setTimeout(r, 5));
        answers[listener] = got.slice(0, 4);
        peer.close();
      }
      assert.deepEqual(answers, { open: [0x20, 2, 0, 0], closed: [0x20, 2, 0, 5] });
    } finally {
      await broker.close();
    }
  });
});
