import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { BackendAuthHook } from "./backend_hook.ts";
import type { MqttError } from "../../../errors.ts";
import type { AclRequest, AuthAnswer, AuthBackend, AuthRequest } from "./backend.ts";
import type { ClientInfo } from "../../hook.ts";
import type { AclRule } from "../acl_rules.ts";
import type { ConnectPacket } from "../../../packets/types.ts";
import type { Clock } from "../../../clock.ts";

function client(id: string, username = "u"): ClientInfo {
  return { id, username, remoteAddress: "127.0.0.1:1", listener: "tcp", protocolVersion: 5 };
}
function connect(username: string, password: string): ConnectPacket {
  return {
    username,
    password: new TextEncoder().encode(password),
    protocolVersion: 5,
  } as unknown as ConnectPacket;
}

/** A backend whose answers the test scripts; counts calls. */
class FakeBackend implements AuthBackend {
  readonly kind = "fake";
  authCalls = 0;
  aclCalls = 0;
  fail = false;
  answer: AuthAnswer = { result: "allow" };
  acl: "allow" | "deny" | "ignore" = "allow";
  delayMs = 0;
  async authenticate(_r: AuthRequest, signal: AbortSignal): Promise<AuthAnswer> {
    this.authCalls++;
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    if (signal.aborted) throw signal.reason;
    if (this.fail) throw new Error("connection refused");
    return this.answer;
  }
  async checkAcl(_r: AclRequest): Promise<"allow" | "deny" | "ignore"> {
    this.aclCalls++;
    await Promise.resolve();
    if (this.fail) throw new Error("connection refused");
    return this.acl;
  }
}

/** A clock whose timers run when the test moves time. */
function fakeClock(): Clock & { advance(ms: number): void } {
  let now = 1_000_000;
  const timers: Array<{ at: number; fn: () => void; live: boolean }> = [];
  return {
    now: () => now,
    every: () => ({ cancel() {} }),
    after(ms, fn) {
      const t = { at: now + ms, fn, live: true };
      timers.push(t);
      return { cancel: () => (t.live = false) };
    },
    advance(ms) {
      now += ms;
      for (const t of timers) if (t.live && t.at <= now) (t.live = false, t.fn());
    },
  };
}

describe("BackendAuthHook", () => {
  it("caches per credentials, shares one call among identical CONNECTs in flight", async () => {
    const backend = new FakeBackend();
    const hook = new BackendAuthHook(backend);
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => hook.onAuthenticate(client("a"), connect("u", "p"))),
    );
    assert.ok(answers.every((v) => v === "allow"));
    assert.equal(backend.authCalls, 1);
    assert.equal(await hook.onAuthenticate(client("a"), connect("u", "other")), "allow");
    assert.equal(backend.authCalls, 2, "another password is another key");
  });

  it("a timeout or failure gives onError: deny, or no opinion with ignore", async () => {
    const backend = new FakeBackend();
    backend.delayMs = 200;
    const deny = new BackendAuthHook(backend, { timeoutMs: 20 });
    await assert.rejects(
      Promise.resolve(deny.onAuthenticate(client("a"), connect("u", "p"))),
      (err: MqttError) =>
        err.reasonCode === 0x88 && /auth-fake unavailable: no answer within 20 ms/.test(err.message),
      "deny: refused as server unavailable",
    );
    backend.delayMs = 0;
    backend.fail = true;
    const ignore = new BackendAuthHook(backend, { onError: "ignore" });
    assert.equal(await ignore.onAuthenticate(client("b"), connect("u", "p")), undefined);
    assert.equal(deny.stats.errors.auth + ignore.stats.errors.auth, 2);
  });

  it("ACL: cached answers are synchronous; an expired one is used while the backend fails", async () => {
    const clock = fakeClock();
    const backend = new FakeBackend();
    const hook = new BackendAuthHook(backend, { clock, cache: { ttl: 10, size: 100 } });
    const c = client("a");
    assert.equal(await hook.onAclCheck(c, "t", "read"), "allow");
    assert.equal(hook.onAclCheck(c, "t", "read"), "allow", "a cache hit answers without a promise");
    assert.equal(backend.aclCalls, 1);
    clock.advance(11_000);
    backend.fail = true;
    assert.equal(await hook.onAclCheck(c, "t", "read"), "allow", "stale answer for a connected client");
    assert.equal(await hook.onAclCheck(c, "new/topic", "read"), "deny", "nothing known: onError");
    assert.equal(hook.stats.staleAnswers, 1);
  });

  it("superusers and rules given at CONNECT decide without the backend", async () => {
    const backend = new FakeBackend();
    backend.answer = { result: "allow", acl: [{ topic: "a/#", access: "read" }] };
    const hook = new BackendAuthHook(backend);
    const c = client("a");
    await hook.onAuthenticate(c, connect("u", "p"));
    assert.equal(hook.onAclCheck(c, "a/b", "read"), "allow");
    assert.equal(hook.onAclCheck(c, "a/b", "write"), "deny");
    assert.equal(hook.onAclCheck(c, "z", "read"), "deny", "no rule covers it");
    backend.answer = { result: "allow", superuser: true };
    const su = client("s");
    await hook.onAuthenticate(su, connect("root", "p"));
    assert.equal(hook.onAclCheck(su, "anything", "write"), "allow");
    assert.equal(backend.aclCalls, 0);
  });

  it("rules given at CONNECT are reloaded in the background after the ttl, and kept while the store fails", async () => {
    const clock = fakeClock();
    const backend = new FakeBackend();
    backend.answer = { result: "allow", acl: [{ topic: "a", access: "read" }] };
    let rules: AclRule[] | Error = [{ topic: "b", access: "read" }];
    let reloads = 0;
    const withReload: AuthBackend = Object.assign(backend, {
      reloadAcl: () => (reloads++, rules instanceof Error ? Promise.reject(rules) : Promise.resolve(rules)),
    });
    const hook = new BackendAuthHook(withReload, { clock, cache: { ttl: 10, size: 10 } });
    const c = client("r");
    await hook.onAuthenticate(c, connect("u", "p"));
    assert.equal(hook.onAclCheck(c, "a", "read"), "allow");
    assert.equal(reloads, 0, "fresh rules are not reloaded");
    clock.advance(10_000);
    assert.equal(hook.onAclCheck(c, "a", "read"), "allow", "the old rules answer while the reload runs");
    await new Promise((r) => setTimeout(r, 0));
    assert.equal(reloads, 1);
    assert.equal(hook.onAclCheck(c, "a", "read"), "deny");
    assert.equal(hook.onAclCheck(c, "b", "read"), "allow", "the new rules");
    rules = new Error("down");
    clock.advance(10_000);
    hook.onAclCheck(c, "b", "read");
    await new Promise((r) => setTimeout(r, 0));
    assert.equal(reloads, 2);
    assert.equal(hook.onAclCheck(c, "b", "read"), "allow", "a failed reload keeps the rules held");
  });

  it("credentials that expire disconnect the client with 0xA0 when the time comes", async () => {
    const clock = fakeClock();
    const backend = new FakeBackend();
    backend.answer = { result: "allow", expiresAt: clock.now() + 5000 };
    const hook = new BackendAuthHook(backend, { clock });
    const gone: Array<[string, number | undefined]> = [];
    await hook.init({
      logger: { debug() {}, info() {}, warn() {}, error() {} },
      clock,
      disconnectClient: (id, rc) => (gone.push([id, rc]), true),
    });
    const c = client("exp");
    assert.equal(await hook.onAuthenticate(c, connect("u", "p")), "allow");
    clock.advance(4999);
    assert.deepEqual(gone, []);
    clock.advance(1);
    assert.deepEqual(gone, [["exp", 0xa0]]);
    backend.answer = { result: "allow", expiresAt: clock.now() - 1 };
    assert.equal(await hook.onAuthenticate(client("late"), connect("u", "q")), "deny", "already expired");
  });

  it("a newer connection with the same id keeps its state when the old one goes", async () => {
    const backend = new FakeBackend();
    backend.answer = { result: "allow", superuser: true };
    const hook = new BackendAuthHook(backend);
    const first = client("same");
    const second = client("same");
    await hook.onAuthenticate(first, connect("u", "p"));
    await hook.onAuthenticate(second, connect("u", "p"));
    hook.onDisconnected(first, { graceful: false });
    assert.equal(hook.trackedClients, 1);
    hook.onDisconnected(second, { graceful: true });
    assert.equal(hook.trackedClients, 0);
  });
});
