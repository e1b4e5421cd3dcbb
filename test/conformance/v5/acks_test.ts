/**
 * Conformance, MQTT 5.0: PUBACK, PUBREC, PUBREL and PUBCOMP (sections 3.4 to 3.7): the reason codes the broker
 * uses, the Reason String and User Properties it must leave out when they would not fit the client's Maximum
 * Packet Size, and the PUBREL fixed-header flags. Test names carry "(5.0)" after the id.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MqttError } from "../../../src/errors.ts";
import type { Hook } from "../../../src/hooks/hook.ts";
import type { RawClient } from "../../_helpers/raw_client.ts";
import {
  client5,
  decode5,
  expectDisconnect,
  type Frame5,
  props,
  publish5Bytes,
  subscriber5,
  Tap5,
  withBroker,
} from "./_v5.ts";

/** PUBACK and PUBREC Reason Codes (5.0 sections 3.4.2.1 and 3.5.2.1). */
const PUBACK_CODES = new Set([0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99]);
/** PUBREL and PUBCOMP Reason Codes (5.0 sections 3.6.2.1 and 3.7.2.1). */
const PUBREL_CODES = new Set([0x00, 0x92]);

/**
 * Hooks that make every PUBACK/PUBREC code reachable: writes to "deny/..." are refused by the ACL, "quota/..."
 * is refused by a publish hook with 0x97, and "odd/..." by a publish hook with 0x8E (not a PUBACK code).
 */
const refusals: Hook = {
  id: "refusals",
  onAclCheck: (_c, topic, access) => access === "write" && topic.startsWith("deny/") ? "deny" : undefined,
  onPublish(_c, message) {
    if (message.topic.startsWith("quota/")) throw new MqttError(0x97, "quota exceeded");
    if (message.topic.startsWith("odd/")) throw new MqttError(0x8e, "not a PUBACK code");
    return message;
  },
};

/** Publish to each topic at `qos` (the last one with a payload declared UTF-8 that is not) and return the acks. */
async function provokeAcks(c: RawClient, qos: 1 | 2): Promise<number[]> {
  const cmd = qos === 1 ? "puback" : "pubrec";
  const topics = ["sub/t", "nobody/t", "deny/t", "$SYS/x", "quota/t"];
  const codes: number[] = [];
  let id = 1;
  for (const topic of topics) {
    c.publish(topic, "x", { qos, messageId: id });
    const ack = await c.expect(cmd);
    assert.equal(ack.messageId, id++);
    codes.push(ack.reasonCode);
  }
  c.sendBytes(
    publish5Bytes({ topic: "sub/t", qos, packetId: id, payload: [0xc3, 0x28], properties: props([0x01, 1]) }),
  );
  const ack = await c.expect(cmd);
  assert.equal(ack.messageId, id);
  codes.push(ack.reasonCode);
  return codes;
}

/** Ack frames from a client whose Maximum Packet Size is `max`, after publishes that are refused. */
async function refusedAckFrames(tap: Tap5, qos: 1 | 2): Promise<Frame5[]> {
  const type = qos === 1 ? 4 : 5;
  const out: Frame5[] = [];
  let id = 1;
  for (const topic of ["deny/t", "quota/t", "$SYS/t", "nobody/t"]) {
    tap.sendBytes(publish5Bytes({ topic, qos, packetId: id++, payload: "x" }));
    out.push(await tap.waitFor(type));
  }
  tap.sendBytes(
    publish5Bytes({ topic: "nobody/t", qos, packetId: id, payload: [0xff], properties: props([0x01, 1]) }),
  );
  out.push(await tap.waitFor(type));
  return out;
}

/** Each frame fits in `max` bytes and carries no Reason String (0x1F) or User Property (0x26). */
function assertLean(frames: Frame5[], max: number): void {
  for (const f of frames) {
    const p = decode5(f);
    assert.ok(f.bytes.length <= max, `${p.cmd} of ${f.bytes.length} bytes within ${max}`);
    assert.equal(
      p.properties?.reasonString,
      undefined,
      `${p.cmd} 0x${p.reasonCode?.toString(16)}: no Reason String`,
    );
    assert.equal(p.properties?.userProperties, undefined, `${p.cmd}: no User Property`);
  }
}

describe("conformance 5.0 3.4 PUBACK", () => {
  it("MQTT-3.4.2-1 (5.0) PUBACK uses only defined reason codes: 0x00, 0x10, 0x87 (ACL and $SYS), 0x97, 0x99", async () => {
    await withBroker(async (broker) => {
      await subscriber5(broker, "sub/#", 1);
      const c = await client5(broker);
      const codes = await provokeAcks(c, 1);
      assert.deepEqual(codes, [0x00, 0x10, 0x87, 0x87, 0x97, 0x99]);
      for (const code of codes) assert.ok(PUBACK_CODES.has(code));
    }, { hooks: [refusals] });
  });

  it("MQTT-3.4.2-1 (5.0) a hook's refusal code that PUBACK does not define is not put in PUBACK", async () => {
    await withBroker(async (broker) => {
      const c = await client5(broker);
      c.publish("odd/t", "x", { qos: 1, messageId: 1 });
      const ack = await c.expect("puback");
      assert.ok(PUBACK_CODES.has(ack.reasonCode), `0x${ack.reasonCode.toString(16)} is a PUBACK code`);
      assert.ok(ack.reasonCode >= 0x80, "still a refusal");
    }, { hooks: [refusals] });
  });

  it("MQTT-3.4.2-2 (5.0) a hook refusal's reason goes out as the PUBACK/PUBREC Reason String when it fits (control case)", async () => {
    await withBroker(async (broker) => {
      const c = await client5(broker);
      c.publish("quota/t", "x", { qos: 1, messageId: 1 });
      const ack = await c.expect("puback");
      assert.deepEqual([ack.reasonCode, ack.properties?.reasonString], [0x97, "quota exceeded"]);
      c.publish("quota/t", "x", { qos: 2, messageId: 2 });
      const rec = await c.expect("pubrec");
      assert.deepEqual([rec.reasonCode, rec.properties?.reasonString], [0x97, "quota exceeded"]);
    }, { hooks: [refusals] });
  });

  it("MQTT-3.4.2-2 MQTT-3.4.2-3 (5.0) PUBACK leaves out Reason String and User Properties beyond the client's Maximum Packet Size", async () => {
    await withBroker(async (broker) => {
      const tap = new Tap5(broker);
      await tap.connect({ properties: { maximumPacketSize: 8 } });
      assertLean(await refusedAckFrames(tap, 1), 8);
    }, { hooks: [refusals] });
  });
});

describe("conformance 5.0 3.5 PUBREC", () => {
  it("MQTT-3.5.2-1 (5.0) PUBREC uses only defined reason codes: 0x00, 0x10, 0x87 (ACL and $SYS), 0x97, 0x99", async () => {
    await withBroker(async (broker) => {
      await subscriber5(broker, "sub/#", 2);
      const c = await client5(broker);
      const codes = await provokeAcks(c, 2);
      assert.deepEqual(codes, [0x00, 0x10, 0x87, 0x87, 0x97, 0x99]);
      for (const code of codes) assert.ok(PUBACK_CODES.has(code));
    }, { hooks: [refusals] });
  });

  it("MQTT-3.5.2-1 (5.0) a hook's refusal code that PUBREC does not define is not put in PUBREC", async () => {
    await withBroker(async (broker) => {
      const c = await client5(broker);
      c.publish("odd/t", "x", { qos: 2, messageId: 1 });
      const ack = await c.expect("pubrec");
      assert.ok(PUBACK_CODES.has(ack.reasonCode), `0x${ack.reasonCode.toString(16)} is a PUBREC code`);
      assert.ok(ack.reasonCode >= 0x80, "still a refusal");
    }, { hooks: [refusals] });
  });

  it("MQTT-3.5.2-2 MQTT-3.5.2-3 (5.0) PUBREC leaves out Reason String and User Properties beyond the client's Maximum Packet Size", async () => {
    await withBroker(async (broker) => {
      const tap = new Tap5(broker);
      await tap.connect({ properties: { maximumPacketSize: 8 } });
      assertLean(await refusedAckFrames(tap, 2), 8);
    }, { hooks: [refusals] });
  });
});

describe("conformance 5.0 3.6 PUBREL", () => {
  for (const b0 of [0x60, 0x63, 0x6a]) {
    it(`MQTT-3.6.1-1 (5.0) a PUBREL with fixed-header flags 0x${(b0 & 0x0f).toString(16)} is malformed: DISCONNECT 0x81`, async () => {
      await withBroker(async (broker) => {
        const watcher = await subscriber5(broker, "rel/#", 0);
        const c = await client5(broker);
        c.publish("rel/t", "x", { qos: 2, messageId: 1 });
        await c.expect("pubrec");
        await watcher.expect("publish");
        c.sendBytes([b0, 2, 0, 1]);
        await expectDisconnect(c, 0x81);
      });
    });
  }

  it("MQTT-3.6.2-1 (5.0) PUBREL uses only defined reason codes: 0x00 for a known id, 0x92 for an unknown one", async () => {
    await withBroker(async (broker) => {
      const s = await subscriber5(broker, "pr/#", 2);
      await broker.publish("pr/t", "x", { qos: 2 });
      const m = await s.expect("publish");
      s.send({ cmd: "pubrec", messageId: m.messageId });
      const rel = await s.expect("pubrel");
      assert.deepEqual([rel.messageId, rel.reasonCode], [m.messageId, 0x00]);
      const unknown = m.messageId === 999 ? 998 : 999;
      s.send({ cmd: "pubrec", messageId: unknown });
      const rel2 = await s.expect("pubrel");
      assert.deepEqual([rel2.messageId, rel2.reasonCode], [unknown, 0x92]);
      for (const code of [rel.reasonCode, rel2.reasonCode]) assert.ok(PUBREL_CODES.has(code));
    });
  });

  it("MQTT-3.6.2-2 MQTT-3.6.2-3 (5.0) PUBREL leaves out Reason String and User Properties beyond the client's Maximum Packet Size", async () => {
    await withBroker(async (broker) => {
      const tap = new Tap5(broker);
      await tap.connect({ properties: { maximumPacketSize: 8 } });
      tap.send({ cmd: "pubrec", messageId: 4242 });
      const f = await tap.waitFor(6);
      assert.equal(decode5(f).reasonCode, 0x92);
      assertLean([f], 8);
    });
  });
});

describe("conformance 5.0 3.7 PUBCOMP", () => {
  it("MQTT-3.7.2-1 (5.0) PUBCOMP uses only defined reason codes: 0x00 for a known id, 0x92 for an unknown one", async () => {
    await withBroker(async (broker) => {
      const c = await client5(broker);
      c.publish("pc/t", "x", { qos: 2, messageId: 5 });
      await c.expect("pubrec");
      c.send({ cmd: "pubrel", messageId: 5 });
      const comp = await c.expect("pubcomp");
      assert.deepEqual([comp.messageId, comp.reasonCode], [5, 0x00]);
      c.send({ cmd: "pubrel", messageId: 6 });
      const comp2 = await c.expect("pubcomp");
      assert.deepEqual([comp2.messageId, comp2.reasonCode], [6, 0x92]);
      for (const code of [comp.reasonCode, comp2.reasonCode]) assert.ok(PUBREL_CODES.has(code));
    });
  });

  it("MQTT-3.7.2-2 MQTT-3.7.2-3 (5.0) PUBCOMP leaves out Reason String and User Properties beyond the client's Maximum Packet Size", async () => {
    await withBroker(async (broker) => {
      const tap = new Tap5(broker);
      await tap.connect({ properties: { maximumPacketSize: 8 } });
      tap.send({ cmd: "pubrel", messageId: 4242 });
      const f = await tap.waitFor(7);
      assert.equal(decode5(f).reasonCode, 0x92);
      assertLean([f], 8);
    });
  });
});
