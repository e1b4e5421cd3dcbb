import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { FileAuthHook } from "./file_auth_hook.ts";
import { hashPassword, MIN_ITERATIONS } from "./password.ts";
import { ConfigError } from "../../config/config_error.ts";
import type { Access, ClientInfo } from "../hook.ts";
import type { ConnectPacket } from "../../packets/types.ts";

const FAST = { iterations: MIN_ITERATIONS };
let aliceHash = "";
let bobHash = "";

before(async () => {
  aliceHash = await hashPassword("alice-pw", FAST);
  bobHash = await hashPassword("bob-pw", FAST);
});

function clientOf(id: string, username?: string): ClientInfo {
  return { id, username, remoteAddress: "127.0.0.1:5000", listener: "tcp1", protocolVersion: 5 };
}

function connect(clientId: string, username?: string, password?: string): ConnectPacket {
  return {
    type: "connect",
    protocolName: "MQTT",
    protocolVersion: 5,
    clean: true,
    keepalive: 60,
    clientId,
    username,
    password: password === undefined ? undefined : new TextEncoder().encode(password),
  };
}

async function auth(hook: FileAuthHook, clientId: string, username?: string, password?: string) {
  return await hook.onAuthenticate(clientOf(clientId, username), connect(clientId, username, password));
}

describe("FileAuthHook.onAuthenticate", () => {
  it("allows a known user with the right password and denies a wrong one", async () => {
    const hook = new FileAuthHook({ users: { alice: { password: aliceHash }, bob: { password: bobHash } } });
    assert.equal(await auth(hook, "c1", "alice", "alice-pw"), "allow");
    assert.equal(await auth(hook, "c2", "bob", "bob-pw"), "allow");
    assert.equal(await auth(hook, "c1", "alice", "bob-pw"), "deny");
    assert.equal(await auth(hook, "c1", "alice", ""), "deny");
  });

  it("denies an unknown user and a known user without a password", async () => {
    const hook = new FileAuthHook({ users: { alice: { password: aliceHash } } });
    assert.equal(await auth(hook, "c1", "mallory", "alice-pw"), "deny");
    assert.equal(await auth(hook, "c1", "alice"), "deny");
    assert.equal(await auth(hook, "c1", "Alice", "alice-pw"), "deny", "user names are case-sensitive");
  });

  it("denies clients without a user name unless anonymous is true", async () => {
    const closed = new FileAuthHook({ users: { alice: { password: aliceHash } } });
    assert.equal(closed.allowsAnonymous, false);
    assert.equal(await auth(closed, "c1"), "deny");
    const open = new FileAuthHook({ anonymous: true, users: { alice: { password: aliceHash } } });
    assert.equal(open.allowsAnonymous, true);
    assert.equal(await auth(open, "c1"), "allow");
    assert.equal(await auth(open, "c1", "alice", "nope"), "deny", "a wrong password is still refused");
  });

  it("does not let a cached success admit a different password", async () => {
    const hook = new FileAuthHook({ users: { alice: { password: aliceHash } } }, { cacheSeconds: 60 });
    assert.equal(await auth(hook, "c1", "alice", "alice-pw"), "allow");
    assert.equal(await auth(hook, "c1", "alice", "alice-pw"), "allow");
    assert.equal(await auth(hook, "c1", "alice", "alice-pwX"), "deny");
  });

  it("skips PBKDF2 for a recent success and stops doing so after the cache time", async () => {
    // A deliberately slow hash makes the difference measurable without a fake crypto.
    const slow = await hashPassword("slow-pw", { iterations: 2_000_000 });
    let now = 0;
    const hook = new FileAuthHook({ users: { carol: { password: slow } } }, {
      cacheSeconds: 10,
      now: () => now,
    });
    const t0 = performance.now();
    assert.equal(await auth(hook, "c1", "carol", "slow-pw"), "allow");
    const full = performance.now() - t0;
    const t1 = performance.now();
    assert.equal(await auth(hook, "c1", "carol", "slow-pw"), "allow");
    const cached = performance.now() - t1;
    assert.ok(cached * 4 < full, `cached ${cached.toFixed(1)} ms vs full ${full.toFixed(1)} ms`);
    now = 10_000;
    const t2 = performance.now();
    assert.equal(await auth(hook, "c1", "carol", "slow-pw"), "allow");
    const expired = performance.now() - t2;
    assert.ok(expired * 4 > full, `after expiry ${expired.toFixed(1)} ms vs full ${full.toFixed(1)} ms`);
  });

  it("refuses a negative cache time", () => {
    assert.throws(() => new FileAuthHook({}, { cacheSeconds: -1 }), RangeError);
  });
});

describe("FileAuthHook.onAclCheck", () => {
  const check = (hook: FileAuthHook, client: ClientInfo, topic: string, access: Access) =>
    hook.onAclCheck(client, topic, access);

  it("allows every topic when the file has no rules at all", () => {
    const hook = new FileAuthHook({ users: { alice: { password: aliceHash } } });
    assert.equal(hook.hasAcl, false);
    assert.equal(check(hook, clientOf("c", "alice"), "any/thing", "write"), "allow");
    assert.equal(check(hook, clientOf("c", "alice"), "#", "read"), "allow");
  });

  it("applies the brief's example: user, client and global rules with %u and %c", () => {
    const hook = new FileAuthHook({
      users: {
        alice: { password: aliceHash, acl: [{ topic: "home/%u/#", access: "readwrite" }] },
        bob: { password: bobHash },
      },
      acl: [{ topic: "sensors/%c/#", access: "readwrite" }, { topic: "public/#", access: "read" }],
      clients: { "thermostat-1": { acl: [{ topic: "home/+/temp", access: "write" }] } },
    });
    assert.equal(hook.hasAcl, true);
    const alice = clientOf("phone", "alice");
    const bob = clientOf("laptop", "bob");
    const thermostat = clientOf("thermostat-1", "bob");
    assert.equal(check(hook, alice, "home/alice/door", "write"), "allow");
    assert.equal(check(hook, alice, "home/alice/#", "read"), "allow");
    assert.equal(check(hook, alice, "home/bob/door", "write"), "deny");
    assert.equal(check(hook, bob, "home/bob/door", "write"), "deny", "bob has no user rules");
    assert.equal(check(hook, bob, "sensors/laptop/t", "write"), "allow", "%c in a global rule");
    assert.equal(check(hook, bob, "sensors/phone/t", "write"), "deny");
    assert.equal(check(hook, bob, "public/news", "read"), "allow");
    assert.equal(check(hook, bob, "public/news", "write"), "deny", "read-only rule");
    assert.equal(check(hook, thermostat, "home/kitchen/temp", "write"), "allow", "client rule");
    assert.equal(check(hook, thermostat, "home/kitchen/temp", "read"), "deny");
    assert.equal(check(hook, bob, "home/kitchen/temp", "write"), "deny", "client rules follow the client id");
  });

  it("denies when no rule matches, and a deny rule wins when it comes first", () => {
    const hook = new FileAuthHook({
      users: {
        alice: {
          password: aliceHash,
          acl: [{ topic: "data/secret", access: "deny" }, { topic: "data/#", access: "readwrite" }],
        },
      },
      acl: [{ topic: "data/secret", access: "readwrite" }],
    });
    const alice = clientOf("c", "alice");
    assert.equal(check(hook, alice, "data/open", "write"), "allow");
    assert.equal(check(hook, alice, "data/secret", "write"), "deny", "user deny before global allow");
    assert.equal(
      check(hook, alice, "data/secret", "read"),
      "deny",
      "subscribing to or receiving the denied topic",
    );
    assert.equal(check(hook, alice, "data/secret/#", "read"), "allow", "not covered by the deny rule");
    // A broader subscription is judged by the next rule; each delivery is checked again with its topic name.
    assert.equal(check(hook, alice, "data/#", "read"), "allow");
    assert.equal(check(hook, alice, "data/+", "read"), "allow");
    assert.equal(check(hook, alice, "elsewhere", "read"), "deny", "no matching rule");
  });

  it("first matching rule decides in order user, client, global", () => {
    const hook = new FileAuthHook({
      users: { alice: { password: aliceHash, acl: [{ topic: "t/user", access: "deny" }] } },
      clients: { c1: { acl: [{ topic: "t/#", access: "deny" }, { topic: "t/user", access: "readwrite" }] } },
      acl: [{ topic: "t/#", access: "readwrite" }],
    });
    assert.equal(check(hook, clientOf("c1", "alice"), "t/user", "write"), "deny");
    assert.equal(
      check(hook, clientOf("c1", "alice"), "t/other", "write"),
      "deny",
      "client deny before global",
    );
    assert.equal(check(hook, clientOf("c2", "alice"), "t/other", "write"), "allow");
  });

  it("skips a read-only rule for a publish so a later rule can allow it", () => {
    const hook = new FileAuthHook({
      acl: [{ topic: "x/#", access: "read" }, { topic: "x/in", access: "write" }],
    });
    const c = clientOf("c");
    assert.equal(check(hook, c, "x/in", "write"), "allow");
    assert.equal(check(hook, c, "x/out", "write"), "deny");
    assert.equal(check(hook, c, "x/out", "read"), "allow");
  });

  it("checks that a subscription filter is covered, not merely overlapping", () => {
    const hook = new FileAuthHook({
      acl: [{ topic: "a/b", access: "read" }, { topic: "c/+", access: "read" }],
    });
    const c = clientOf("c");
    assert.equal(check(hook, c, "a/b", "read"), "allow");
    assert.equal(check(hook, c, "a/#", "read"), "deny");
    assert.equal(check(hook, c, "a/+", "read"), "deny");
    assert.equal(check(hook, c, "c/+", "read"), "allow");
    assert.equal(check(hook, c, "c/#", "read"), "deny");
    assert.equal(check(hook, c, "#", "read"), "deny");
  });

  it("never widens a rule through a user name or client id holding + # or /", () => {
    const hook = new FileAuthHook({
      acl: [{ topic: "users/%u/#", access: "readwrite" }, { topic: "clients/%c", access: "readwrite" }],
    });
    assert.equal(check(hook, clientOf("c", "#"), "users/anyone/x", "write"), "deny");
    assert.equal(check(hook, clientOf("c", "a/b"), "users/a/b/x", "write"), "deny");
    assert.equal(check(hook, clientOf("c", "+"), "users/+/#", "read"), "deny");
    assert.equal(check(hook, clientOf("+"), "clients/x", "write"), "deny");
    assert.equal(check(hook, clientOf("#"), "clients/#", "read"), "deny");
    assert.equal(check(hook, clientOf("x/y"), "clients/x/y", "write"), "deny");
    assert.equal(check(hook, clientOf("ok", "fine"), "users/fine/x", "write"), "allow");
    assert.equal(
      check(hook, clientOf("ok"), "users/%u/x", "write"),
      "deny",
      "no user name: %u rules skipped",
    );
  });

  it("MQTT-4.7.2-1: a rule starting with # does not grant $SYS", () => {
    const hook = new FileAuthHook({ acl: [{ topic: "#", access: "readwrite" }] });
    assert.equal(check(hook, clientOf("c"), "$SYS/broker/uptime", "read"), "deny");
    assert.equal(check(hook, clientOf("c"), "$SYS/#", "read"), "deny");
    assert.equal(check(hook, clientOf("c"), "anything/else", "read"), "allow");
  });

  it("checks a shared subscription against its filter", () => {
    const hook = new FileAuthHook({ acl: [{ topic: "jobs/#", access: "read" }] });
    assert.equal(check(hook, clientOf("c"), "$share/workers/jobs/#", "read"), "allow");
    assert.equal(check(hook, clientOf("c"), "$share/jobs/other/#", "read"), "deny");
    assert.equal(check(hook, clientOf("c"), "$share/workers", "read"), "deny");
  });
});

describe("FileAuthHook validation", () => {
  it("fromYaml reports every problem with file, line, key path and user, never echoing a password", () => {
    const text = [
      "users:", //                                  1
      "  alice:", //                                2
      "    password: hunter2", //                   3
      "  bob: {}", //                               4
      "  carol:", //                                5
      `    password: "${"$"}pbkdf2-sha256$i=1000$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"`,
      "    acl:", //                                7
      "      - { topic: a/#/b, access: read }", //  8
      "      - { topic: ok, access: sometimes }", // 9
      "anonymous: yes", //                          10
      "acl:", //                                    11
      "  - { topic: x }", //                        12
      "clients:", //                                13
      "  dev-1: { acls: [] }", //                   14
      "groups: {}", //                              15
    ].join("\n");
    let error: unknown;
    try {
      FileAuthHook.fromYaml(text, "users.yaml");
    } catch (e) {
      error = e;
    }
    assert.ok(error instanceof ConfigError, String(error));
    const lines = error.message.split("\n");
    assert.equal(lines[0], "Cannot load users.yaml: 8 problems");
    assert.match(lines[1], /^users\.yaml:3: users\.alice\.password: expected an encoded password hash/);
    assert.match(lines[1], /hash-password/);
    assert.equal(error.message.includes("hunter2"), false, "the plain password must not be echoed");
    assert.match(lines[2], /^users\.yaml:4: users\.bob: missing key "password"/);
    assert.match(lines[3], /^users\.yaml:8: users\.carol\.acl\[0\]\.topic: "#" must be a whole level/);
    assert.match(
      lines[4],
      /^users\.yaml:9: users\.carol\.acl\[1\]\.access: expected one of read, write, readwrite, deny, received "sometimes"/,
    );
    assert.match(lines[5], /^users\.yaml:10: anonymous: expected true or false, received "yes"/);
    assert.match(lines[6], /^users\.yaml:12: acl\[0\]: missing key "access"/);
    assert.match(lines[7], /^users\.yaml:14: clients\.dev-1\.acls: unknown key \(did you mean "acl"\?\)/);
    assert.match(
      lines[8],
      /^users\.yaml:15: groups: unknown key; expected one of users, anonymous, acl, clients/,
    );
  });

  it("reports YAML syntax errors with their line", () => {
    assert.throws(
      () => FileAuthHook.fromYaml("users:\n  alice: [\n", "u.yaml"),
      /^ConfigError: Cannot load u\.yaml: .*\nu\.yaml:\d+: /s,
    );
  });

  it("validates data built in code, naming the key path", () => {
    assert.throws(
      () =>
        new FileAuthHook({ users: { alice: { password: "plain" } }, acl: "nope" } as never, {
          source: "code",
        }),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.problems.length === 2 &&
        e.message.includes("code: users.alice.password: expected an encoded password hash") &&
        e.message.includes('code: acl: expected a list, received "nope"'),
    );
  });

  it("accepts an empty document and empty sections", async () => {
    const hook = FileAuthHook.fromYaml("", "empty.yaml");
    assert.equal(hook.userCount, 0);
    assert.equal(await auth(hook, "c"), "deny");
    const sparse = FileAuthHook.fromYaml("users:\nacl:\nclients:\nanonymous: true\n", "sparse.yaml");
    assert.equal(await auth(sparse, "c"), "allow");
    assert.equal(sparse.hasAcl, false);
  });

  it("takes user names that are not identifiers and quotes them in messages", () => {
    assert.throws(
      () => FileAuthHook.fromYaml(`users:\n  "bob smith": { password: x }\n`, "u.yaml"),
      /u\.yaml:2: users\["bob smith"\]\.password/,
    );
  });
});
