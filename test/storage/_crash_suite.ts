/**
 * Kill -9 in the middle of a stream, for each persistent backend through the CLI (crash_test.ts for Deno KV,
 * sqlite_crash_test.ts for SQLite): the broker takes numbered QoS 1 and QoS 2 messages for a persistent offline
 * subscriber and is killed with SIGKILL while messages are still arriving. After a restart, the subscriber gets
 * every message the broker acknowledged (PUBACK for QoS 1, PUBREC for QoS 2): none missing, and no QoS 2 message
 * twice. Also: a clean stop and restart, and an unreadable database.
 * @module
 */

import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { RawClient } from "../_helpers/raw_client.ts";
import { finishProcess, type Run, signalProcess, startCli } from "../_helpers/cli_process.ts";
import { tempDir } from "./_kv_files.ts";

/** A backend as the config names it, and a name for its database files. */
export interface CrashBackend {
  /** `storage.type`. */
  type: "denokv" | "sqlite";
  /** In the describe title, e.g. `Deno KV`. */
  label: string;
  /** Database file extension, e.g. `kv`. */
  ext: string;
}

/** Register the kill -9, clean restart and unreadable database tests for one backend. */
export function runCrashSuite(backend: CrashBackend): void {
  const dir = tempDir();
  after(() => dir.remove());
  const { type, ext } = backend;

  function writeConfig(name: string, dbFile: string, storageExtra = ""): string {
    const path = dir.file(name);
    writeFileSync(
      path,
      [
        "listeners:",
        '  - { type: tcp, id: tcp1, address: "127.0.0.1:0" }',
        "auth: { type: allow }",
        `storage: { type: ${type}, path: ${JSON.stringify(dbFile)}${storageExtra} }`,
        "sys: { interval: 0 }",
        "log: { level: info }",
        "",
      ].join("\n"),
    );
    return path;
  }

  async function startBroker(config: string): Promise<{ run: Run; port: number }> {
    const run = startCli(["--config", config]);
    const m = await run.waitFor(/listening id=tcp1 protocol=tcp address=127\.0\.0\.1:(\d+)/);
    await run.waitFor(/broker started/);
    return { run, port: Number(m[1]) };
  }

  /** Subscribe a persistent session to crash/# at QoS 2 and leave it offline. */
  async function parkSubscriber(port: number): Promise<void> {
    const sub = await RawClient.tcp(port);
    await sub.connect({ clientId: "sink", clean: false });
    const ack = await sub.subscribe("crash/#", 2);
    assert.deepEqual(ack.granted, [2]);
    sub.disconnect();
    await sub.waitClosed();
  }

  /** Receive until `ms` of silence, completing every flow; returns the payloads in arrival order. */
  async function drain(port: number): Promise<string[]> {
    const sub = await RawClient.tcp(port);
    const ack = await sub.connect({ clientId: "sink", clean: false });
    assert.equal(ack.sessionPresent, true, "the session survived the restart");
    const got: string[] = [];
    for (;;) {
      let p;
      try {
        p = await sub.next(1500);
      } catch {
        break;
      }
      if (p.cmd === "publish") {
        got.push(p.payload.toString());
        if (p.qos === 1) sub.send({ cmd: "puback", messageId: p.messageId });
        if (p.qos === 2) sub.send({ cmd: "pubrec", messageId: p.messageId });
      } else if (p.cmd === "pubrel") sub.send({ cmd: "pubcomp", messageId: p.messageId });
    }
    sub.destroy();
    return got;
  }

  describe(`persistence across a kill -9 (${backend.label} through the CLI)`, () => {
    it("every acknowledged QoS 1 message arrives at least once and every QoS 2 message exactly once", async () => {
      const config = writeConfig("crash.yaml", dir.file(`crash.${ext}`));
      let broker = await startBroker(config);
      await parkSubscriber(broker.port);

      const pub = await RawClient.tcp(broker.port);
      await pub.connect({ clientId: "numbers", clean: true });
      const acked = new Set<string>();
      const sentAt = Date.now();
      let next = 1;
      let inFlight = 0;
      const window = 32;
      const sendOne = () => {
        const n = next++;
        const qos = n % 2 === 0 ? 2 : 1;
        pub.publish(`crash/${qos}`, `q${qos}-${n}`, { qos, messageId: n });
        inFlight++;
      };
      for (let i = 0; i < window; i++) sendOne();
      // Stream until 600 messages or 1.5 s, then kill the broker with messages still in flight.
      while (next <= 600 && Date.now() - sentAt < 1500) {
        const p = await pub.next(3000);
        if (p.cmd === "puback") acked.add(`q1-${p.messageId}`);
        else if (p.cmd === "pubrec") acked.add(`q2-${p.messageId}`);
        else continue;
        inFlight--;
        while (inFlight < window && next <= 600) sendOne();
      }
      signalProcess(broker.run, "SIGKILL");
      await finishProcess(broker.run);
      pub.destroy();
      assert.ok(acked.size >= 50, `the stream got going before the kill (${acked.size} acknowledged)`);

      broker = await startBroker(config);
      const got = await drain(broker.port);
      signalProcess(broker.run, "SIGTERM");
      assert.equal((await finishProcess(broker.run)).code, 0);

      const received = new Set(got);
      const missing = [...acked].filter((m) => !received.has(m));
      assert.deepEqual(missing, [], "no acknowledged message is missing");
      const q2 = got.filter((m) => m.startsWith("q2-"));
      assert.equal(new Set(q2).size, q2.length, "no QoS 2 message was delivered twice");
    });

    it("a publisher that never waits for PUBACK, small storage bounds, kill -9: every acknowledged message is there", async () => {
      // Small bounds, so the broker stops reading the publisher while the database is behind (item 7 of issue 13).
      const config = writeConfig(
        "firehose.yaml",
        dir.file(`firehose.${ext}`),
        ", maxPending: 64, maxPendingAcks: 8",
      );
      let broker = await startBroker(config);
      await parkSubscriber(broker.port);
      const pub = await RawClient.tcp(broker.port);
      await pub.connect({ clientId: "firehose", clean: true });
      const total = 3000;
      const acked = new Set<string>();
      // Every PUBLISH written at once: nothing on the client side holds them back.
      for (let n = 1; n <= total; n++) pub.publish("crash/1", `q1-${n}`, { qos: 1, messageId: n });
      const started = Date.now();
      // Kill after 600 acknowledgements: below the sink's queue limit (1000), so none is dropped as queue-full.
      while (acked.size < 600 && Date.now() - started < 15_000) {
        const p = await pub.next(5000);
        if (p.cmd === "puback") acked.add(`q1-${p.messageId}`);
      }
      signalProcess(broker.run, "SIGKILL");
      await finishProcess(broker.run);
      pub.destroy();
      assert.ok(acked.size >= 600, `the stream got going before the kill (${acked.size} acknowledged)`);

      broker = await startBroker(config);
      const got = new Set(await drain(broker.port));
      signalProcess(broker.run, "SIGTERM");
      assert.equal((await finishProcess(broker.run)).code, 0);
      assert.deepEqual([...acked].filter((m) => !got.has(m)), [], "no acknowledged message is missing");
    });

    it("a clean stop and restart keeps queued messages and retained messages", async () => {
      const config = writeConfig("clean.yaml", dir.file(`clean.${ext}`));
      let broker = await startBroker(config);
      await parkSubscriber(broker.port);
      const pub = await RawClient.tcp(broker.port);
      await pub.connect();
      pub.publish("crash/r", "retained value", { qos: 1, retain: true, messageId: 1 });
      await pub.expect("puback");
      pub.disconnect();
      signalProcess(broker.run, "SIGTERM");
      assert.equal((await finishProcess(broker.run)).code, 0);

      broker = await startBroker(config);
      assert.match(
        broker.run.output(),
        new RegExp(`restored from storage storage=${type} sessions=1 expired=0 retained=1`),
      );
      assert.deepEqual(await drain(broker.port), ["retained value"]);
      const late = await RawClient.tcp(broker.port);
      await late.connect();
      await late.subscribe("crash/r", 1);
      const m = await late.expect("publish");
      assert.equal(m.retain, true);
      late.destroy();
      signalProcess(broker.run, "SIGTERM");
      await finishProcess(broker.run);
    });

    it("an unreadable database stops the start with a clear error, never an empty broker", async () => {
      const db = dir.file(`garbage.${ext}`);
      writeFileSync(db, "this is not a database\n".repeat(100));
      const run = startCli(["--config", writeConfig("garbage.yaml", db)]);
      const { code, output } = await finishProcess(run, 20_000);
      assert.notEqual(code, 0);
      assert.match(output, /storage/i);
      assert.match(output, /not a database|cannot open|Cannot restore/i);
      assert.doesNotMatch(output, /broker started/);
    });
  });
}
