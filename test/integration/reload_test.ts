/**
 * Reload without restart: `RunningBroker.reload()` and the CLI's SIGHUP read the users/ACL file and the TLS
 * certificates again while connected clients stay connected; a file that fails to load is refused with a log
 * line and the old one stays. And `comqtt check-config FILE`.
 */

import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { copyFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { hashPassword, startFromConfig } from "../../mod.ts";
import { RawClient } from "../_helpers/raw_client.ts";
import { makeTestPki } from "../_helpers/certs.ts";
import { finishProcess, killLeftovers, signalProcess, startCli } from "../_helpers/cli_process.ts";

const dir = mkdtempSync(join(tmpdir(), "comqtt-reload-"));
after(() => {
  killLeftovers();
  rmSync(dir, { recursive: true, force: true });
});

async function usersFile(path: string, users: Record<string, string>): Promise<void> {
  const lines = ["users:"];
  for (const [name, password] of Object.entries(users)) {
    lines.push(`  ${name}:`, `    password: "${await hashPassword(password, { iterations: 1000 })}"`);
  }
  writeFileSync(path, lines.join("\n") + "\n");
}

async function connects(port: number, username: string, password: string): Promise<number> {
  const client = await RawClient.tcp(port);
  const connack = await client.connect({ clientId: `c-${username}`, username, password });
  client.destroy();
  return connack.returnCode;
}

/** The SHA-256 fingerprint of the certificate a TLS listener presents to a new connection. */
function fingerprint(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: "127.0.0.1", port, ca }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.destroy();
    });
    socket.on("error", reject);
  });
}

describe("reload", () => {
  it("swaps in the users file read again; a broken one is refused and the old one kept; clients stay", async () => {
    const users = join(dir, "users.yaml");
    await usersFile(users, { alice: "alice-pw" });
    const logs: string[] = [];
    const running = await startFromConfig(
      {
        yaml:
          `auth: { type: file, file: users.yaml }\nlisteners:\n  - { type: tcp, address: "127.0.0.1:0" }\n`,
        dir,
      },
      { writeLog: (line) => logs.push(line) },
    );
    try {
      const port = running.broker.listeners[0].port;
      const alice = await RawClient.tcp(port);
      assert.equal(
        (await alice.connect({ clientId: "alice", username: "alice", password: "alice-pw" })).returnCode,
        0,
      );
      assert.equal(await connects(port, "bob", "bob-pw"), 4, "bad user name or password");

      await usersFile(users, { bob: "bob-pw" });
      const first = await running.reload();
      assert.deepEqual(first, { auth: true, listeners: [], errors: [] });
      assert.equal(await connects(port, "bob", "bob-pw"), 0);
      assert.equal(await connects(port, "alice", "alice-pw"), 4, "the new file no longer has alice");
      alice.send({ cmd: "pingreq" });
      await alice.expect("pingresp"); // ...but her connection was not dropped

      writeFileSync(users, "users:\n  carol:\n    password: plain-text-is-refused\n");
      const second = await running.reload();
      assert.equal(second.auth, false);
      assert.equal(second.errors.length, 1);
      assert.match(logs.join("\n"), /reload: keeping the previous users and ACL rules/);
      assert.equal(await connects(port, "bob", "bob-pw"), 0, "the previous file is still in force");
      alice.destroy();
    } finally {
      await running.close();
    }
  });

  it("serves new TLS certificates to new connections; established TLS connections stay", async () => {
    const pki = await makeTestPki();
    const next = await makeTestPki();
    const cert = join(dir, "server.crt");
    const key = join(dir, "server.key");
    await copyFile(pki.files.serverCert, cert);
    await copyFile(pki.files.serverKey, key);
    const running = await startFromConfig(
      {
        yaml:
          `auth: { type: allow }\nlisteners:\n  - { type: tcp, address: "127.0.0.1:0", tls: { cert: ${cert}, key: ${key} } }\n`,
      },
      { writeLog: () => {} },
    );
    try {
      const port = () => running.broker.listeners[0].port;
      const before = await fingerprint(port(), pki.pem.ca);
      const open = tlsConnect({ host: "127.0.0.1", port: port(), ca: pki.pem.ca });
      await new Promise((resolve) => open.once("secureConnect", resolve));
      const closed = new Promise<boolean>((resolve) => open.once("close", () => resolve(true)));

      await copyFile(next.files.serverCert, cert);
      await copyFile(next.files.serverKey, key);
      const result = await running.reload();
      assert.deepEqual(result.listeners, ["tls1"]);
      const after = await fingerprint(port(), next.pem.ca);
      assert.notEqual(after, before);
      const stillOpen = await Promise.race([closed, new Promise((r) => setTimeout(() => r(false), 300))]);
      assert.equal(stillOpen, false, "the connection made before the reload is still open");
      open.destroy();

      // A key that does not match the certificate is refused; the listener keeps serving the last good pair.
      await copyFile(pki.files.serverKey, key);
      const refused = await running.reload();
      assert.deepEqual(refused.listeners, []);
      assert.equal(refused.errors.length, 1);
      assert.equal(await fingerprint(port(), next.pem.ca), after);
    } finally {
      await running.close();
      await pki.remove();
      await next.remove();
    }
  });

  it("the CLI reloads on SIGHUP", async () => {
    const folder = mkdtempSync(join(dir, "cli-"));
    await usersFile(join(folder, "users.yaml"), { alice: "alice-pw" });
    const config = join(folder, "comqtt.yaml");
    writeFileSync(
      config,
      "auth: { type: file, file: users.yaml }\nlisteners:\n  - { type: tcp, address: '127.0.0.1:0' }\n",
    );
    const run = startCli(["--config", config]);
    try {
      const [, port] = await run.waitFor(/listening id=tcp1 protocol=tcp address=127\.0\.0\.1:(\d+)/);
      assert.equal(await connects(Number(port), "bob", "bob-pw"), 4);
      await usersFile(join(folder, "users.yaml"), { bob: "bob-pw" });
      signalProcess(run, "SIGHUP");
      await run.waitFor(/reloaded auth=true/);
      assert.equal(await connects(Number(port), "bob", "bob-pw"), 0);
      signalProcess(run, "SIGINT");
      assert.equal((await finishProcess(run)).code, 0);
    } finally {
      signalProcess(run, "SIGKILL");
    }
  });
});

describe("check-config", () => {
  it("exits 0 with a summary for a good config and 2 with file:line:key for a bad one", async () => {
    const good = await finishProcess(startCli(["check-config", "examples/config.yaml"]));
    assert.equal(good.code, 0, good.output);
    assert.match(good.output, /examples\/config\.yaml: OK: listeners tcp1 \(tcp\); auth deny/);
    const bad = join(dir, "bad.yaml");
    writeFileSync(
      bad,
      "listeners:\n  - { type: tcp, address: '127.0.0.1:1883' }\nlimits:\n  maxInflight: ten\n",
    );
    const failed = await finishProcess(startCli(["check-config", bad]));
    assert.equal(failed.code, 2);
    assert.match(failed.output, /bad\.yaml:4: limits\.maxInflight: expected a whole number/);
    const missingTls = await finishProcess(startCli(["check-config", "examples/tls.yaml"]));
    assert.equal(missingTls.code, 2);
    assert.match(missingTls.output, /Cannot read TLS certificate file/);
  });
});
