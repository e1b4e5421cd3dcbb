/**
 * The CLI for real: main.ts run by the runtime running this test (deno, bun or node) as a child process, on
 * 127.0.0.1 with an ephemeral port, driven by mosquitto_pub / mosquitto_sub, stopped with SIGINT / SIGTERM.
 * Every child is killed (by its own pid) when a test ends, and every wait is bounded.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hashPassword, verifyPassword } from "../../src/hooks/auth/password.ts";
import {
  finishProcess,
  killLeftovers,
  type Run,
  signalProcess,
  startCli,
  startProcess,
  STARTUP_MS,
} from "../_helpers/cli_process.ts";

const CLIENT_MS = 10_000;
const start = startProcess;
const signal = signalProcess;
const cli = startCli;

/** Run to completion within `ms` (default 10 s); kill it past that. */
function finish(run: Run, ms = CLIENT_MS): Promise<{ code: number | null; output: string }> {
  return finishProcess(run, ms);
}

/**
 * Start the broker CLI and return it with the port it bound. Runs without a config pass `--http 127.0.0.1:0`:
 * the dashboard would otherwise take the fixed port 8080.
 */
async function startBroker(args: string[]): Promise<{ run: Run; port: number }> {
  const run = cli(args);
  const m = await run.waitFor(/listening id=\S+ protocol=tcp address=127\.0\.0\.1:(\d+)/);
  await run.waitFor(/broker started/);
  return { run, port: Number(m[1]) };
}

/**
 * Subscribe with mosquitto_sub, then publish with mosquitto_pub until the subscriber has the message (it exits
 * after one with -C 1). mosquitto_sub buffers its output when piped, so "subscribed" cannot be observed directly;
 * retrying is bounded to 20 attempts. Returns the subscriber's output and the last publisher's status.
 */
async function pubSub(port: number, options: { pubArgs?: string[]; subArgs?: string[]; message: string }) {
  const host = ["-h", "127.0.0.1", "-p", String(port), "-t", "cli/test"];
  const sub = start("mosquitto_sub", [...host, "-C", "1", "-W", "10", ...(options.subArgs ?? [])]);
  let pub = { code: null as number | null, output: "" };
  try {
    for (let attempt = 0; attempt < 20 && sub.child.exitCode === null; attempt++) {
      pub = await finish(
        start("mosquitto_pub", [...host, "-m", options.message, ...(options.pubArgs ?? [])]),
      );
      if (pub.code !== 0) break;
      await Promise.race([sub.exited, new Promise((r) => setTimeout(r, 250))]);
    }
  } finally {
    signal(sub, "SIGTERM");
  }
  const end = await finish(sub);
  return { pubCode: pub.code, pubOutput: pub.output, got: end.output.trim() };
}

let dir = "";
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "comqtt-cli-"));
});
after(async () => {
  killLeftovers();
  await rm(dir, { recursive: true, force: true });
});

describe("CLI", () => {
  it("without a config: loopback only, anonymous allowed and said so; a message goes through; SIGINT exits 0", async () => {
    const { run, port } = await startBroker(["--tcp", "127.0.0.1:0", "--http", "127.0.0.1:0"]);
    try {
      assert.match(run.output(), /anonymous clients are allowed and only local connections are accepted/);
      const r = await pubSub(port, { message: "hello-anonymous" });
      assert.equal(r.pubCode, 0, r.pubOutput);
      assert.equal(r.got, "hello-anonymous");
      signal(run, "SIGINT");
      const end = await finish(run);
      assert.equal(end.code, 0, end.output);
      assert.match(end.output, /stopping signal=SIGINT/);
      assert.match(end.output, /broker closed/);
    } finally {
      signal(run, "SIGKILL");
    }
  });

  it("SIGTERM stops it cleanly with exit code 0", async () => {
    const { run } = await startBroker(["--tcp", "127.0.0.1:0", "--http", "127.0.0.1:0"]);
    try {
      signal(run, "SIGTERM");
      const end = await finish(run);
      assert.equal(end.code, 0, end.output);
      assert.match(end.output, /stopping signal=SIGTERM/);
    } finally {
      signal(run, "SIGKILL");
    }
  });

  it("with a config and a users file: the right password connects, a wrong one and anonymous are refused", async () => {
    const hash = await hashPassword("cli-secret", { iterations: 1000 });
    await writeFile(
      join(dir, "users.yaml"),
      `users:\n  tester: { password: "${hash}" }\nacl:\n  - { topic: "cli/#", access: readwrite }\n`,
    );
    await writeFile(
      join(dir, "config.yaml"),
      `listeners:\n  - { type: tcp, address: "127.0.0.1:0" }\nauth: { type: file, file: users.yaml }\n`,
    );
    const { run, port } = await startBroker(["--config", join(dir, "config.yaml")]);
    try {
      assert.match(run.output(), /authentication by users file .*users=1 anonymous=refused/);
      const creds = ["-u", "tester", "-P", "cli-secret"];
      const ok = await pubSub(port, { message: "hello-user", pubArgs: creds, subArgs: creds });
      assert.equal(ok.pubCode, 0, ok.pubOutput);
      assert.equal(ok.got, "hello-user");
      const wrong = await finish(
        start("mosquitto_pub", [
          "-h",
          "127.0.0.1",
          "-p",
          String(port),
          "-t",
          "cli/x",
          "-m",
          "x",
          "-u",
          "tester",
          "-P",
          "nope",
        ]),
      );
      assert.notEqual(wrong.code, 0);
      assert.match(wrong.output, /not authori[sz]ed|bad user name or password/i);
      const anonymous = await finish(
        start("mosquitto_pub", ["-h", "127.0.0.1", "-p", String(port), "-t", "cli/x", "-m", "x"]),
      );
      assert.notEqual(anonymous.code, 0);
      signal(run, "SIGINT");
      assert.equal((await finish(run)).code, 0);
    } finally {
      signal(run, "SIGKILL");
    }
  });

  it("a config file without auth refuses every client and warns at start", async () => {
    await writeFile(join(dir, "noauth.yaml"), `listeners:\n  - { type: tcp, address: "127.0.0.1:0" }\n`);
    const { run, port } = await startBroker(["--config", join(dir, "noauth.yaml")]);
    try {
      assert.match(run.output(), /WARN .*every client will be refused/);
      const anonymous = await finish(
        start("mosquitto_pub", ["-h", "127.0.0.1", "-p", String(port), "-t", "a", "-m", "x"]),
      );
      assert.notEqual(anonymous.code, 0);
      signal(run, "SIGTERM");
      assert.equal((await finish(run)).code, 0);
    } finally {
      signal(run, "SIGKILL");
    }
  });

  it("an invalid config prints every problem with its line and exits 2", async () => {
    await writeFile(join(dir, "bad.yaml"), "limits:\n  maxInflight: ten\nsys: { interval: -1 }\n");
    const end = await finish(cli(["--config", join(dir, "bad.yaml")]));
    assert.equal(end.code, 2, end.output);
    assert.match(
      end.output,
      /bad\.yaml:2: limits\.maxInflight: expected a whole number from 1 to 65535, received "ten"/,
    );
    assert.match(
      end.output,
      /bad\.yaml:3: sys\.interval: expected a whole number from 0 to 86400, received -1/,
    );
  });

  it("a missing config file, a bad users file and bad flags exit 2", async () => {
    const missing = await finish(cli(["--config", join(dir, "nope.yaml")]));
    assert.equal(missing.code, 2);
    assert.match(missing.output, /Cannot read config file ".*nope\.yaml": no such file/);

    await writeFile(join(dir, "plain.yaml"), "users:\n  bob: { password: hunter2 }\n");
    await writeFile(join(dir, "plain-config.yaml"), "auth: { type: file, file: plain.yaml }\n");
    const plain = await finish(cli(["--config", join(dir, "plain-config.yaml")]));
    assert.equal(plain.code, 2);
    assert.match(plain.output, /plain\.yaml:2: users\.bob\.password: expected an encoded password hash/);
    assert.equal(plain.output.includes("hunter2"), false);

    const flag = await finish(cli(["--tcp", "nowhere"]));
    assert.equal(flag.code, 2);
    assert.match(flag.output, /--tcp: expected "host:port"/);
    const unknown = await finish(cli(["--bogus"]));
    assert.equal(unknown.code, 2);
    assert.match(unknown.output, /--help/);
  });

  it("an address in use makes the second broker exit 1", async () => {
    const { run, port } = await startBroker(["--tcp", "127.0.0.1:0", "--http", "127.0.0.1:0"]);
    try {
      const second = await finish(cli(["--tcp", `127.0.0.1:${port}`, "--http", "127.0.0.1:0"]), STARTUP_MS);
      assert.equal(second.code, 1, second.output);
      assert.match(second.output, /cannot start/);
      signal(run, "SIGINT");
      assert.equal((await finish(run)).code, 0);
    } finally {
      signal(run, "SIGKILL");
    }
  });

  it("--version and --help", async () => {
    const version = await finish(cli(["--version"]), STARTUP_MS);
    assert.equal(version.code, 0);
    assert.match(version.output, /^comqtt-ts \d+\.\d+\.\d+ \((deno|bun|node) /);
    const help = await finish(cli(["--help"]), STARTUP_MS);
    assert.equal(help.code, 0);
    assert.match(help.output, /hash-password/);
    assert.match(help.output, /--config FILE/);
  });

  it("hash-password reads stdin or an argument and prints a hash that verifies", async () => {
    const fromStdin = await finish(
      cli(["hash-password", "--iterations", "1000"], { input: "from stdin\n" }),
      STARTUP_MS,
    );
    assert.equal(fromStdin.code, 0, fromStdin.output);
    const encoded = fromStdin.output.trim();
    assert.match(encoded, /^\$pbkdf2-sha256\$i=1000\$/);
    assert.equal(await verifyPassword("from stdin", encoded), true);

    const fromArg = await finish(cli(["hash-password", "from arg", "--iterations", "1000"]), STARTUP_MS);
    assert.equal(await verifyPassword("from arg", fromArg.output.trim()), true);

    const empty = await finish(cli(["hash-password"], { input: "\n" }), STARTUP_MS);
    assert.equal(empty.code, 2);
    assert.match(empty.output, /Cannot hash an empty password/);
  });
});
