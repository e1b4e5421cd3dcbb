/**
 * A persistent session that moves between nodes while QoS 1 messages stream in gets every message that was
 * acknowledged to its publisher: those queued on the node it left, those on their way during the move, and those
 * published on the node it moves to. Runs on Node only: it starts nats-server, and the path under test is the same
 * on every runtime.
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { runsOn } from "../_helpers/runtime.ts";
import { until } from "../_helpers/broker.ts";
import { type NatsCluster, startNats } from "../_helpers/nats.ts";
import { connect, connectLater, endClients, inbox, settle, startNode, type TestNode } from "./_cluster.ts";

if (runsOn("node")) {
  describe("cluster: a session moving between nodes", () => {
    let nats: NatsCluster;
    let a: TestNode;
    let b: TestNode;

    before(async () => {
      nats = await startNats(1);
      a = await startNode("ma", nats.urls);
      b = await startNode("mb", nats.urls);
    });

    after(async () => {
      await endClients();
      await a?.broker.close();
      await b?.broker.close();
      await nats?.stop();
    });

    it("misses no acknowledged QoS 1 message while it moves between nodes in a stream of them", async () => {
      const session = { clientId: "mover", clean: false, properties: { sessionExpiryInterval: 300 } };
      const first = await connect(a.url, session);
      await first.subscribeAsync("stream/#", { qos: 1 });
      await first.endAsync();
      // A publisher on each node, one QoS 1 message at a time, each acknowledged before the next; bounded.
      const acked: string[] = [];
      let stop = false;
      const pump = async (url: string, name: string) => {
        const pub = await connect(url);
        for (let i = 0; i < 3000 && !stop; i++) {
          await pub.publishAsync(`stream/${name}`, `${name}${i}`, { qos: 1 });
          acked.push(`${name}${i}`);
        }
      };
      const pumping = Promise.all([pump(a.url, "a"), pump(b.url, "b")]);
      // Every connection's inbox, read at the end: a message may still arrive while a connection closes.
      const inboxes: Array<Array<{ payload: string }>> = [];
      const moves = 8;
      for (let move = 0; move < moves; move++) {
        const c = connectLater(move % 2 === 0 ? b.url : a.url, session);
        inboxes.push(inbox(c));
        await new Promise<void>((resolve, reject) => {
          c.once("connect", () => resolve());
          c.once("error", reject);
          c.connect();
        });
        await settle(40);
        await c.endAsync();
      }
      stop = true;
      await pumping;
      const last = connectLater(a.url, session);
      inboxes.push(inbox(last));
      last.connect();
      const got = new Set<string>();
      const all = () => {
        for (const box of inboxes) for (const m of box) got.add(m.payload);
        return acked.every((p) => got.has(p));
      };
      try {
        await until(all, 10_000, "every acknowledged message");
      } catch {
        // The assertion below names what is missing.
      }
      const missing = acked.filter((p) => !got.has(p));
      assert.deepEqual(
        missing,
        [],
        `${missing.length} of ${acked.length} acknowledged messages never arrived`,
      );
      if (process.env.SHOW_TIMES) console.log(`# ${acked.length} messages, ${moves} moves`);
    });
  });
}
