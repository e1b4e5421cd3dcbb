/**
 * 3,000 QoS 2 PUBLISHes of 32 KB with one packet id and no PUBREL (Mosquitto's CVE-2023-28366), sent four times,
 * keep the broker's memory bounded: only the first is delivered, the others are answered PUBREC, and nothing of
 * them is kept. The broker runs in a process of its own, so its resident memory is its own.
 *
 * What resident memory can show is memory kept: keeping each re-sent payload would add 98 MB per round. That the
 * payloads are not even copied (the decoder drops them as they arrive) is pinned by src/packets/decoder_resend_test.ts:
 * copies are garbage the runtimes collect, and with them disabled here resident memory rose only in the first round
 * (Deno v4 +72 MB, Node v4 +65 MB) and within the noise after it.
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import net from "node:net";
import process from "node:process";
import mqtt from "mqtt-packet";
import { type ChildBroker, startChildBroker } from "./_child.ts";
import { RawClient } from "../_helpers/raw_client.ts";

const COUNT = 3000;
const SIZE = 32 * 1024;
const MB = 1024 * 1024;

describe("QoS 2 PUBLISHes re-sent with one packet id and no PUBREL", () => {
  let child: ChildBroker;
  before(async () => {
    child = await startChildBroker({});
  });
  after(async () => await child.stop());

  for (const version of [4, 5] as const) {
    it(`v${version}: ${COUNT} x 32 KB, four times: memory bounded, one delivery`, async () => {
      const sub = await RawClient.tcp(child.port, version);
      const socket = net.connect({ host: "127.0.0.1", port: child.port });
      const connected = new Promise<void>((resolve, reject) => {
        socket.once("connect", () => resolve());
        socket.once("error", reject);
      });
      try {
        await sub.connect({ clientId: `watch-${version}` });
        await sub.subscribe("cve/t", 2);
        await connected;
        // Count PUBRECs as they come (small packets: parsing them costs the test little).
        let received = 0;
        const parser = mqtt.parser({ protocolVersion: version });
        parser.on("packet", (p: { cmd: string }) => {
          if (p.cmd === "pubrec") received++;
        });
        socket.on("data", (b: Buffer) => parser.parse(b));
        const opts = { protocolVersion: version };
        let closed = false;
        socket.on("close", () => (closed = true));
        socket.write(mqtt.generate({
          cmd: "connect",
          protocolId: "MQTT",
          protocolVersion: version,
          clientId: `flood-${version}`,
          clean: true,
          keepalive: 0,
        }, opts));
        const publish = mqtt.generate({
          cmd: "publish",
          topic: "cve/t",
          payload: Buffer.alloc(SIZE, 7),
          qos: 2,
          messageId: 42,
          retain: false,
          dup: false,
        }, opts);
        const round = async (n: number) => {
          const end = Date.now() + 20_000;
          for (let i = 0; i < COUNT; i++) {
            if (socket.write(publish)) continue;
            // Bounded: the broker reads on, or the socket closed, or 30 s passed.
            while (socket.writableNeedDrain && !closed && Date.now() < end) {
              await new Promise((r) => setTimeout(r, 2));
            }
            assert.equal(closed, false, "the broker closed the connection");
          }
          while (received < n * COUNT && !closed && Date.now() < end) {
            await new Promise((r) => setTimeout(r, 20));
          }
          assert.equal(received, n * COUNT, "one PUBREC per PUBLISH");
        };
        // A first round warms the runtime up (its read buffers and heap reach their working size); three more are
        // measured. The runtime's own garbage rises and falls with GC timing but does not add up from round to
        // round; keeping each payload would add 98 MB per round.
        await new Promise((r) => setTimeout(r, 200));
        const base = child.rss();
        await round(1);
        const warm = child.rss();
        for (let n = 2; n <= 4; n++) await round(n);
        const last = child.rss();
        if (process.env.SHOW_TIMES) {
          console.log(
            `v${version}: rss +${((warm - base) / MB).toFixed(0)} MB after ${COUNT}, ` +
              `+${((last - warm) / MB).toFixed(0)} MB after ${3 * COUNT} more (${
                ((4 * COUNT * SIZE) / MB).toFixed(0)
              } MB sent)`,
          );
        }
        // Node's sockets allocate a fresh buffer for every read, so the first round grows by about 50 MB there
        // (5-25 MB on Deno and Bun).
        assert.ok(
          warm - base < 64 * MB,
          `grew by ${((warm - base) / MB).toFixed(0)} MB for the first ${COUNT}`,
        );
        // 96 MB for 9,000 more (295 MB sent), where keeping them would add 295 MB. Node's garbage alone reached
        // 51 MB over these rounds with a busy loop taking one of the machine's two cores.
        assert.ok(
          last - warm < 96 * MB,
          `grew by ${((last - warm) / MB).toFixed(0)} MB for ${3 * COUNT} more`,
        );
        // The subscriber got the message once.
        await sub.expect("publish");
        assert.deepEqual(await sub.collect(200), []);
      } finally {
        sub.destroy();
        socket.destroy();
      }
    });
  }
});
