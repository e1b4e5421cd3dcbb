/**
 * Persistent sessions of a node that is gone do not stay for ever: once their expiry has run out, a surviving
 * node deletes their records and purges the queues the dead node kept for them; sessions that have not expired
 * stay, and resume. The doomed node is a CLI child process (killed with SIGKILL), the survivor an in-process
 * broker. Runs on Node only: it starts nats-server and a broker process; the code under test is the same on every
 * runtime.
 */

import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { connect as natsConnect, type NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { runsOn } from "../_helpers/runtime.ts";
import { until } from "../_helpers/broker.ts";
import { killLeftovers, signalProcess } from "../_helpers/cli_process.ts";
import { type NatsCluster, startNats } from "../_helpers/nats.ts";
import { kvKey } from "../../src/cluster/subjects.ts";
import {
  type CliNode,
  connect,
  connectLater,
  endClients,
  inbox,
  type Packet,
  startCliNode,
  startNode,
  type TestNode,
} from "./_cluster.ts";

/** Poll an async check every 100 ms until it holds; reject after `ms`. */
async function eventually(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

if (runsOn("node")) {
  describe("cluster: sessions of a departed node", () => {
    let nats: NatsCluster | undefined;
    let nc: NatsConnection | undefined;
    let survivor: TestNode | undefined;
    let doomed: CliNode | undefined;

    after(async () => {
      await endClients();
      await survivor?.broker.close().catch(() => {});
      if (doomed !== undefined) signalProcess(doomed.run, "SIGKILL");
      killLeftovers();
      await nc?.close();
      await nats?.stop();
    });

    it("end once their expiry has run out, records and queues; the others stay and resume", async () => {
      nats = await startNats(1);
      doomed = await startCliNode("sa", nats.urls, "node");
      survivor = await startNode("sb", nats.urls, { sessionSweepMs: 250 });

      const persistent = (clientId: string, expiry: number) => ({
        clientId,
        clean: false,
        properties: { sessionExpiryInterval: expiry },
      });
      // "left" went away before the node died (expiry 1 s); "kept" never expires; "held" is still connected
      // when the node dies (expiry 3 s, counted from then at the earliest).
      for (const [id, expiry] of [["left", 1], ["kept", 0xffff_ffff]] as const) {
        const c = await connect(doomed.url, persistent(id, expiry));
        await c.subscribeAsync("sweep/#", { qos: 1 });
        await c.endAsync();
      }
      const held = await connect(doomed.url, persistent("held", 3));
      await held.subscribeAsync("sweep/#", { qos: 1 });
      const publisher = await connect(survivor.url);
      // PUBACK comes once the doomed node has stored the copies for its persistent sessions.
      await publisher.publishAsync("sweep/x", "queued", { qos: 1 });

      nc = await natsConnect({ servers: nats.urls });
      const sessions = await new Kvm(nc).open("mqtt_sessions");
      const jsm = await jetstreamManager(nc);
      const present = async (id: string) => (await sessions.get(kvKey(id)))?.operation === "PUT";
      const queued = async (id: string) => {
        const info = await jsm.streams.info("mqtt_q_sa", { subjects_filter: `mqtt.q.sa.${kvKey(id)}` });
        return Object.values(info.state.subjects ?? {}).reduce((n, count) => n + count, 0);
      };
      for (const id of ["left", "kept", "held"]) assert.ok(await present(id), `${id}'s record is there`);
      // "held" took its message and acknowledged it; the others' wait in the doomed node's stream.
      for (const id of ["left", "kept"]) {
        assert.ok(await queued(id) > 0, `the doomed node keeps ${id}'s message`);
      }

      const killedAt = Date.now();
      signalProcess(doomed.run, "SIGKILL");
      await doomed.run.exited;

      // Dead after 2 s (deadAfterMs), then the next sweep: "left" expired long ago.
      await eventually(async () => !(await present("left")), 10_000, "left's record to go");
      const leftGoneMs = Date.now() - killedAt;
      await eventually(async () => !(await present("held")), 15_000, "held's record to go");
      const heldGoneMs = Date.now() - killedAt;
      assert.ok(heldGoneMs >= 3000, `held ended ${heldGoneMs} ms after the kill, before its 3 s expiry`);
      await eventually(
        async () => (await queued("left")) + (await queued("held")) === 0,
        5000,
        "their queues purged",
      );
      assert.ok(await present("kept"), "the session that never expires stays");
      assert.ok(await queued("kept") > 0, "and so does its queue");
      process.stdout.write(
        `# session sweep: left ended ${leftGoneMs} ms, held ${heldGoneMs} ms after kill -9\n`,
      );

      // Back on the survivor: "kept" resumes with its message; "left" finds no session.
      for (const [id, expiry, expected] of [["kept", 0xffff_ffff, true], ["left", 1, false]] as const) {
        const back = connectLater(survivor.url, persistent(id, expiry));
        const got = inbox(back);
        let sessionPresent: boolean | undefined;
        back.on("connect", (p: Packet) => (sessionPresent = p.sessionPresent));
        back.connect();
        await until(() => sessionPresent !== undefined, 8000, `CONNACK for ${id}`);
        assert.equal(sessionPresent, expected, `${id}: session present`);
        if (expected) {
          await until(() => got.length >= 1, 8000, "kept's queued message");
          assert.deepEqual(got.map((m) => m.payload), ["queued"]);
        }
      }
    });
  });
}
