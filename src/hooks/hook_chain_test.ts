import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { HookChain } from "./hook_chain.ts";
import { MqttError } from "../errors.ts";
import type { ClientInfo, Hook } from "./hook.ts";
import type { Message } from "../message.ts";
import { createLogger } from "../logger.ts";
import type { ConnectPacket } from "../packets/types.ts";

const client: ClientInfo = { id: "c1", remoteAddress: "memory:0", listener: "t", protocolVersion: 4 };
const connect: ConnectPacket = {
  type: "connect",
  protocolName: "MQTT",
  protocolVersion: 4,
  clean: true,
  keepalive: 0,
  clientId: "c1",
};
const message: Message = { topic: "a", payload: new Uint8Array([1]), qos: 0, retain: false, receivedAt: 0 };

function chain(...hooks: Hook[]): HookChain {
  const c = new HookChain(createLogger({ level: "silent", write: () => {} }));
  for (const h of hooks) c.add(h);
  return c;
}

describe("HookChain", () => {
  it("denies authentication when no hook has an opinion", () => {
    assert.equal(chain().authenticate(client, connect), false);
    assert.equal(
      chain({ id: "quiet", onAuthenticate: () => undefined }).authenticate(client, connect),
      false,
    );
  });

  it("allows an ACL check when no hook has an opinion, without calling anything", () => {
    assert.equal(chain().aclCheck(client, "a", "write"), true);
  });

  it("takes the first definite answer in order", () => {
    const c = chain(
      { id: "abstain", onAclCheck: () => undefined },
      { id: "deny", onAclCheck: () => "deny" },
      { id: "allow", onAclCheck: () => "allow" },
    );
    assert.equal(c.aclCheck(client, "a", "read"), false);
  });

  it("stays synchronous with synchronous hooks and awaits asynchronous ones in order", async () => {
    const seen: string[] = [];
    const c = chain(
      { id: "a", onAuthenticate: () => (seen.push("a"), undefined) },
      { id: "b", onAuthenticate: () => (seen.push("b"), Promise.resolve(undefined)) },
      { id: "c", onAuthenticate: () => (seen.push("c"), "allow") },
      { id: "d", onAuthenticate: () => (seen.push("d"), "deny") },
    );
    const result = c.authenticate(client, connect);
    assert.ok(result instanceof Promise);
    assert.equal(await result, true);
    assert.deepEqual(seen, ["a", "b", "c"]);
  });

  it("chains publish transforms and stops at null", async () => {
    const calls: string[] = [];
    const c = chain(
      { id: "upper", onPublish: (_c, m) => (calls.push("upper"), { ...m, topic: m.topic.toUpperCase() }) },
      {
        id: "async-suffix",
        onPublish: (_c, m) => (calls.push("suffix"), Promise.resolve({ ...m, topic: m.topic + "/x" })),
      },
      { id: "drop", onPublish: (_c, m) => (calls.push("drop"), m.topic === "A/x" ? null : m) },
      { id: "never", onPublish: (_c, m) => (calls.push("never"), m) },
    );
    assert.equal(await c.publish(client, message), null);
    assert.deepEqual(calls, ["upper", "suffix", "drop"]);
  });

  it("returns the same value untouched when no hook transforms", () => {
    assert.equal(chain().publish(undefined, message), message);
  });

  it("runs every onConnect and propagates the first error", async () => {
    const c = chain(
      { id: "ok", onConnect: () => {} },
      { id: "bad", onConnect: () => Promise.reject(new Error("no")) },
    );
    await assert.rejects(async () => await c.connect(client, connect), /no/);
  });

  it("logs observer failures and never throws them", async () => {
    const lines: string[] = [];
    const c = new HookChain(createLogger({ level: "error", write: (l) => lines.push(l) }));
    c.add({
      id: "throws",
      onConnected: () => {
        throw new Error("sync boom");
      },
    });
    c.add({ id: "rejects", onConnected: () => Promise.reject(new Error("async boom")) });
    let reached = false;
    c.add({
      id: "after",
      onConnected: () => {
        reached = true;
      },
    });
    c.notify("onConnected", client, { sessionPresent: false });
    assert.equal(reached, true);
    await new Promise((r) => setTimeout(r, 0));
    assert.equal(lines.length, 2);
    assert.match(lines.join("\n"), /sync boom/);
    assert.match(lines.join("\n"), /async boom/);
  });

  it("a gate that throws or rejects denies, is logged, and does not let a later hook allow", async () => {
    const lines: string[] = [];
    const c = new HookChain(createLogger({ level: "error", write: (l) => lines.push(l) }));
    c.add({
      id: "faulty",
      onAclCheck: (_c, topic) => {
        if (topic === "sync") throw new Error("sync fault");
        return topic === "async" ? Promise.reject(new Error("async fault")) : undefined;
      },
      onAuthenticate: () => Promise.reject(new Error("auth fault")),
    });
    c.add({ id: "allow", onAclCheck: () => "allow", onAuthenticate: () => "allow" });
    assert.equal(c.aclCheck(client, "sync", "write"), false);
    assert.equal(await c.aclCheck(client, "async", "write"), false);
    assert.equal(await c.aclCheck(client, "other", "write"), true);
    assert.equal(await c.authenticate(client, connect), false);
    assert.match(lines.join("\n"), /hook failed .*hook=faulty event=onAclCheck error="?sync fault/);
    assert.match(lines.join("\n"), /event=onAuthenticate/);
  });

  it("a transform's fault is logged and thrown on; an MqttError (a refusal) is thrown on unlogged", async () => {
    const lines: string[] = [];
    const c = new HookChain(createLogger({ level: "error", write: (l) => lines.push(l) }));
    c.add({
      id: "t",
      onPublish: (_c, m) => {
        if (m.topic === "refuse") throw new MqttError(0x97, "quota");
        throw new Error("transform fault");
      },
      onSubscribe: () => Promise.reject(new Error("subscribe fault")),
    });
    assert.throws(() => c.publish(client, { ...message, topic: "refuse" }), MqttError);
    assert.equal(lines.length, 0);
    assert.throws(() => c.publish(client, message), /transform fault/);
    await assert.rejects(Promise.resolve(c.subscribe(client, [])), /subscribe fault/);
    assert.equal(lines.length, 2);
  });

  it("an enhanced authentication fault fails the step", async () => {
    const c = chain({ id: "e", onEnhancedAuth: () => Promise.reject(new Error("x")) });
    const answer = await c.enhancedAuth(client, { method: "m", reauthenticate: false, round: 0 });
    assert.equal(answer?.result, "fail");
  });

  it("refuses two hooks with the same id", () => {
    assert.throws(() => chain({ id: "x" }, { id: "x" }), /already added/);
  });

  it("has() reflects which events hooks implement", () => {
    const c = chain({ id: "a", onPublish: (_c, m) => m });
    assert.equal(c.has("onPublish"), true);
    assert.equal(c.has("onAclCheck"), false);
    c.add({ id: "b", onAclCheck: () => undefined });
    assert.equal(c.has("onAclCheck"), true);
  });
});
