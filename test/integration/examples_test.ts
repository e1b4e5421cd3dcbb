/**
 * The example files load through the real parsers, so they cannot rot: config.yaml shows exactly the defaults,
 * auth.yaml points at users.yaml, and the demo passwords and ACL rules described in their comments hold.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseConfig } from "../../src/config/parse_config.ts";
import { DEFAULT_CONFIG } from "../../src/config/config.ts";
import { FileAuthHook } from "../../src/hooks/auth/file_auth_hook.ts";
import type { Access, ClientInfo } from "../../src/hooks/hook.ts";
import type { ConnectPacket } from "../../src/packets/types.ts";

const EXAMPLES = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "examples");
const read = (name: string) => readFile(join(EXAMPLES, name), "utf8");

function client(id: string, username?: string): ClientInfo {
  return { id, username, remoteAddress: "127.0.0.1:1", listener: "tcp1", protocolVersion: 4 };
}

function connect(username: string | undefined, password: string | undefined): ConnectPacket {
  return {
    type: "connect",
    protocolName: "MQTT",
    protocolVersion: 4,
    clean: true,
    keepalive: 60,
    clientId: "c",
    username,
    password: password === undefined ? undefined : new TextEncoder().encode(password),
  };
}

describe("examples", () => {
  it("config.yaml sets every key to its default", async () => {
    const config = parseConfig(await read("config.yaml"), "config.yaml");
    assert.deepEqual(config, { ...DEFAULT_CONFIG, limits: { ...DEFAULT_CONFIG.limits } });
    // "every key": each limit is written out, not left to the default
    const text = await read("config.yaml");
    for (const key of Object.keys(DEFAULT_CONFIG.limits)) {
      assert.match(text, new RegExp(`^  ${key}: `, "m"), key);
    }
  });

  it("auth.yaml uses the users file next to it, and users.yaml loads", async () => {
    const config = parseConfig(await read("auth.yaml"), "auth.yaml");
    assert.equal(config.auth.type, "file");
    assert.ok(config.auth.type === "file");
    const usersPath = resolve(EXAMPLES, config.auth.file);
    assert.equal(usersPath, join(EXAMPLES, "users.yaml"));
    const hook = FileAuthHook.fromYaml(await readFile(usersPath, "utf8"), "users.yaml");
    assert.equal(hook.userCount, 3);
    assert.equal(hook.allowsAnonymous, false);
    assert.equal(hook.hasAcl, true);
  });

  it("users.yaml: the demo passwords in its comments work, and nothing else does", async () => {
    const hook = FileAuthHook.fromYaml(await read("users.yaml"), "users.yaml", { cacheSeconds: 0 });
    for (const name of ["alice", "bob", "sensor"]) {
      assert.equal(
        await hook.onAuthenticate(client("c", name), connect(name, `${name}-password`)),
        "allow",
        name,
      );
    }
    assert.equal(await hook.onAuthenticate(client("c", "alice"), connect("alice", "bob-password")), "deny");
    assert.equal(await hook.onAuthenticate(client("c"), connect(undefined, undefined)), "deny");
  });

  it("users.yaml: the ACL behaves as its comments and auth.yaml's try-it commands say", async () => {
    const hook = FileAuthHook.fromYaml(await read("users.yaml"), "users.yaml");
    const can = (c: ClientInfo, topic: string, access: Access) =>
      hook.onAclCheck(c, topic, access) === "allow";
    const alice = client("alice-laptop", "alice");
    const bob = client("bob-phone", "bob");
    const thermostat = client("thermostat-1", "sensor");
    // mosquitto_sub -u alice -t 'home/alice/#'
    assert.equal(can(alice, "home/alice/#", "read"), true);
    assert.equal(can(alice, "home/alice/door", "write"), true);
    assert.equal(can(alice, "home/alice/secrets/pin", "read"), false, "deny rule before the broader one");
    assert.equal(can(alice, "home/bob/door", "read"), false);
    assert.equal(can(alice, "$SYS/broker/uptime", "read"), true);
    // mosquitto_pub -u bob -i bob-phone -t sensors/bob-phone/temp
    assert.equal(can(bob, "sensors/bob-phone/temp", "write"), true);
    assert.equal(can(bob, "sensors/other/temp", "write"), false);
    assert.equal(can(bob, "public/news", "read"), true);
    assert.equal(can(bob, "public/news", "write"), false);
    assert.equal(can(bob, "$SYS/broker/uptime", "read"), false);
    assert.equal(can(thermostat, "home/kitchen/temperature", "write"), true);
    assert.equal(can(thermostat, "home/kitchen/temperature", "read"), false);
  });
});
