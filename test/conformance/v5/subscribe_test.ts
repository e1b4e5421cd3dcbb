/**
 * Conformance, MQTT 5.0: SUBSCRIBE and SUBACK (sections 3.8 and 3.9), subscription options and identifiers, one test
 * or more per normative statement, named `MQTT-x.y.z-n (5.0)` because 3.1.1 uses the same ids for other rules.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Hook } from "../../../src/hooks/hook.ts";
import { testBroker } from "../../_helpers/broker.ts";
import {
  expectDisconnect,
  SUBACK_CODES,
  subscribeFrameV5,
  subscribeV5,
  v5Client,
  wireSize,
} from "./_v5_kit.ts";

/** Denies every filter and topic under `deny/`; no opinion elsewhere. */
const denyHook: Hook = {
  id: "deny-prefix",
  onAclCheck: (_client, topic) => (topic.startsWith("deny/") ? "deny" : undefined),
};

/** CONNECT options of a session that outlives its connection, so that its state can be read after a close. */
function persistent(clientId: string): Record<string, unknown> {
  return { clientId, clean: false, properties: { sessionExpiryInterval: 60 } };
}

describe("conformance 5.0 3.8 SUBSCRIBE", () => {
  for (const flags of [0x0, 0x1, 0x3, 0xa, 0xf]) {
    it(`MQTT-3.8.1-1 (5.0) SUBSCRIBE with fixed-header flags 0x${flags.toString(16)} is malformed: DISCONNECT 0x81, close`, async () => {
      const broker = testBroker();
      const c = await v5Client(broker, persistent("flags"));
      c.sendBytes(subscribeFrameV5(1, [["a/b", 0]], { flags }));
      await expectDisconnect(c, 0x81);
      assert.equal(broker.getSession("flags")?.subscriptions.size, 0);
      await broker.close();
    });
  }

  it("MQTT-3.8.1-1 (5.0) SUBSCRIBE with flags 0010 is accepted (control case)", async () => {
    const broker = testBroker();
    const c = await v5Client(broker);
    c.sendBytes(subscribeFrameV5(1, [["a/b", 0]]));
    const ack = await c.expect("suback");
    assert.deepEqual(ack.granted, [0]);
    assert.equal(c.closed, false);
    await broker.close();
  });

  for (
    const [why, filter] of [
      ["a lone continuation byte", [0x61, 0x80]],
      ["an overlong encoding of '/'", [0x61, 0xc0, 0xaf]],
      ["an encoded surrogate U+D800", [0x61, 0xed, 0xa0, 0x80]],
      ["a code point above U+10FFFF", [0xf4, 0x90, 0x80, 0x80]],
    ] as const
  ) {
    it(`MQTT-3.8.3-1 (5.0) a topic filter with ${why} is malformed: DISCONNECT 0x81, nothing subscribed`, async () => {
      const broker = testBroker();
      const c = await v5Client(broker, persistent("utf8"));
      c.sendBytes(subscribeFrameV5(2, [["ok/first", 0], [[...filter], 0]]));
      await expectDisconnect(c, 0x81);
      assert.equal(
        broker.getSession("utf8")?.subscriptions.size,
        0,
        "no filter of the packet was subscribed",
      );
      await broker.close();
    });
  }

  it("MQTT-3.8.3-1 (5.0) a filter of well-formed multi-byte UTF-8 is granted and matches", async () => {
    const broker = testBroker();
    const c = await v5Client(broker);
    const ack = await subscribeV5(c, [["température/日本/😀", { qos: 1 }]]);
    assert.deepEqual(ack.granted, [1]);
    c.publish("température/日本/😀", "ok");
    assert.equal((await c.expect("publish")).topic, "température/日本/😀");
    await broker.close();
  });

  it("MQTT-3.8.3-2 (5.0) a SUBSCRIBE with no filter is a Protocol Error: DISCONNECT 0x82, close", async () => {
    const broker = testBroker();
    const c = await v5Client(broker);
    c.sendBytes(subscribeFrameV5(4, []));
    await expectDisconnect(c, 0x82);
    await broker.close();
  });

  it("MQTT-3.8.3-3 (5.0) No Local: the publisher's own subscription does not get its message, others do", async () => {
    const broker = testBroker();
    const me = await v5Client(broker, { clientId: "nl-self" });
    const other = await v5Client(broker, { clientId: "nl-other" });
    await subscribeV5(me, [["nl/t", { qos: 1, nl: true }]]);
    await subscribeV5(other, [["nl/t", { qos: 1, nl: true }]]);
    me.publish("nl/t", "from me", { qos: 1, messageId: 5 });
    const ack = await me.expect("puback");
    assert.equal(ack.reasonCode ?? 0, 0, "delivered to someone: not 0x10");
    const m = await other.expect("publish");
    assert.equal(m.payload.toString(), "from me");
    assert.deepEqual(await me.collect(80), [], "nothing comes back to the publisher");
    other.publish("nl/t", "from other");
    assert.equal(
      (await me.expect("publish")).payload.toString(),
      "from other",
      "others' messages still arrive",
    );
    await broker.close();
  });

  it("MQTT-3.8.3-3 (5.0) No Local holds across connections of the same ClientID; without it the message comes back", async () => {
    const broker = testBroker();
    const a = await v5Client(broker, {
      clientId: "nl-keep",
      clean: false,
      properties: { sessionExpiryInterval: 60 },
    });
    await subscribeV5(a, [["nl2/on", { qos: 1, nl: true }], ["nl2/off", { qos: 1 }]]);
    a.destroy();
    await a.waitClosed();
    const b = await v5Client(broker, {
      clientId: "nl-keep",
      clean: false,
      properties: { sessionExpiryInterval: 60 },
    });
    b.publish("nl2/on", "suppressed", { qos: 1, messageId: 1 });
    const ack = await b.expect("puback");
    assert.equal(ack.reasonCode, 0x10, "no subscriber got it: No Matching Subscribers");
    b.publish("nl2/off", "echoed", { qos: 1, messageId: 2 });
    const got = [await b.next(), await b.next()];
    const echoed = got.find((p) => p.cmd === "publish");
    assert.equal(
      echoed?.payload.toString(),
      "echoed",
      "a subscription without No Local gets its own message",
    );
    assert.deepEqual(await b.collect(50), []);
    await broker.close();
  });

  it("MQTT-3.8.3-3 (5.0) an overlapping subscription without No Local still delivers the publisher's message once", async () => {
    const broker = testBroker();
    const c = await v5Client(broker, { clientId: "nl-overlap" });
    await subscribeV5(c, [["ov/#", { qos: 1, nl: true }], ["ov/+", { qos: 0 }]]);
    c.publish("ov/x", "mine");
    const m = await c.expect("publish");
    assert.equal(m.payload.toString(), "mine");
    assert.equal(m.qos, 0, "delivered through the subscription without No Local (QoS 0)");
    assert.deepEqual(await c.collect(50), [], "once");
    await broker.close();
  });

  it("MQTT-3.8.3-4 (5.0) No Local on a shared subscription is a Protocol Error: DISCONNECT 0x82, close", async () => {
    const broker = testBroker();
    const c = await v5Client(broker, persistent("nlshared"));
    c.send({
      cmd: "subscribe",
      messageId: 3,
      subscriptions: [
        { topic: "plain/t", qos: 1, nl: true, rap: false, rh: 0 },
        { topic: "$share/g/nl/t", qos: 1, nl: true, rap: false, rh: 0 },
      ],
    });
    await expectDisconnect(c, 0x82);
    assert.equal(
      broker.getSession("nlshared")?.subscriptions.size,
      0,
      "no filter of the packet was subscribed",
    );
    await broker.close();
  });

  for (const opts of [0x40, 0x80, 0xc0, 0x41]) {
    it(`MQTT-3.8.3-5 (5.0) reserved Subscription Options bits (0x${opts.toString(16)}) make SUBSCRIBE malformed: DISCONNECT 0x81`, async () => {
      const broker = testBroker();
      const c = await v5Client(broker, persistent("reserved"));
      c.sendBytes(subscribeFrameV5(7, [["r/a", 0x01], ["r/b", opts]]));
      await expectDisconnect(c, 0x81);
      assert.equal(
        broker.getSession("reserved")?.subscriptions.size,
        0,
        "no filter of the packet was subscribed",
      );
      await broker.close();
    });
  }

  it("MQTT-3.8.3-5 (5.0) every defined option bit combination (No Local, RAP, Retain Handling 0..2) is accepted", async () => {
    const broker = testBroker();
    const c = await v5Client(broker);
    const entries: Array<[string, number]> = [];
    for (const rh of [0, 1, 2]) {
      for (const rap of [0, 1]) {
        for (const nl of [0, 1]) {
          entries.push([`o/${rh}${rap}${nl}`, (rh << 4) | (rap << 3) | (nl << 2) | 1]);
        }
      }
    }
    c.sendBytes(subscribeFrameV5(8, entries));
    const ack = await c.expect("suback");
    assert.deepEqual(ack.granted, entries.map(() => 1));
    const sub = broker.getSession(broker.connectedClients().next().value!.id)!.subscriptions.get("o/211")!;
    assert.deepEqual([sub.noLocal, sub.retainAsPublished, sub.retainHandling], [true, true, 2]);
    await broker.close();
  });

  it("MQTT-3.8.4-1 (5.0) every SUBSCRIBE gets a SUBACK, also when every filter fails", async () => {
    const broker = testBroker({ hooks: [denyHook] });
    const c = await v5Client(broker);
    const ok = await subscribeV5(c, [["fine/x", { qos: 1 }]], { id: 1 });
    assert.deepEqual(ok.granted, [1]);
    const bad = await subscribeV5(c, [["a/#/b", {}], ["deny/x", {}]], { id: 2 });
    assert.deepEqual(bad.granted, [0x8f, 0x87]);
    assert.equal(c.closed, false);
    await broker.close();
  });

  it("MQTT-3.8.4-2 (5.0) the SUBACK carries the SUBSCRIBE's Packet Identifier", async () => {
    const broker = testBroker();
    const c = await v5Client(broker);
    for (const id of [1, 2, 0x1234, 65_535]) {
      c.send({
        cmd: "subscribe",
        messageId: id,
        subscriptions: [{ topic: `id/${id}`, qos: 0, nl: false, rap: false, rh: 0 }],
      });
    }
    const acks = [
      await c.expect("suback"),
      await c.expect("suback"),
      await c.expect("suback"),
      await c.expect("suback"),
    ];
    assert.deepEqual(acks.map((a) => a.messageId), [1, 2, 0x1234, 65_535]);
    await broker.close();
  });

  it("MQTT-3.8.4-3 (5.0) an identical filter replaces the subscription: new QoS, options and Subscription Identifier", async () => {
    const broker = testBroker();
    const c = await v5Client(broker, { clientId: "replace" });
    await subscribeV5(c, [["rep/t", { qos: 0 }]], { subscriptionIdentifier: 1 });
    const ack = await subscribeV5(c, [["rep/t", { qos: 2, rap: true }]], {
      id: 2,
      subscriptionIdentifier: 2,
    });
    assert.deepEqual(ack.granted, [2]);
    assert.equal(broker.getSession("replace")!.subscriptions.size, 1, "still one subscription");
    const p = await v5Client(broker);
    p.publish("rep/t", "after", { qos: 2, messageId: 9, retain: true });
    await p.expect("pubrec");
    const m = await c.expect("publish");
    assert.equal(m.qos, 2, "delivered at the new maximum QoS");
    assert.equal(m.retain, true, "Retain As Published of the new options");
    assert.equal(m.properties?.subscriptionIdentifier, 2, "only the new Subscription Identifier");
    assert.deepEqual(await c.collect(50), [], "one delivery, not one per old and new subscription");
    await broker.close();
  });

  it("MQTT-3.8.4-4 (5.0) a replacement with Retain Handling 0 resends retained messages and loses no message", async () => {
    const broker = testBroker();
    const c = await v5Client(broker, { clientId: "swap" });
    const p = await v5Client(broker);
    p.publish("sw/state", "kept", { qos: 1, messageId: 1, retain: true });
    await p.expect("puback");
    await subscribeV5(c, [["sw/#", { qos: 1 }]]);
    const first = await c.expect("publish");
    assert.deepEqual([first.payload.toString(), first.retain], ["kept", true]);
    c.send({ cmd: "puback", messageId: first.messageId });
    const live: string[] = [];
    let retainedCopies = 0;
    for (let i = 0; i < 10; i++) {
      p.publish("sw/live", `m${i}`, { qos: 1, messageId: 100 + i });
      if (i % 2 === 1) {
        c.send({
          cmd: "subscribe",
          messageId: 50 + i,
          subscriptions: [{ topic: "sw/#", qos: 1, nl: false, rap: false, rh: 0 }],
        });
      }
    }
    const end = Date.now() + 3000;
    while ((live.length < 10 || retainedCopies < 5) && Date.now() < end) {
      const m = await c.next();
      if (m.cmd === "suback") continue;
      assert.equal(m.cmd, "publish");
      c.send({ cmd: "puback", messageId: m.messageId });
      if (m.retain) {
        assert.equal(m.payload.toString(), "kept");
        retainedCopies++;
      } else live.push(m.payload.toString());
    }
    assert.deepEqual(
      live,
      Array.from({ length: 10 }, (_, i) => `m${i}`),
      "every live message once, in order",
    );
    assert.equal(retainedCopies, 5, "the retained message again after each of the 5 replacements");
    assert.deepEqual(await c.collect(50), []);
    await broker.close();
  });

  it("MQTT-3.8.4-5 (5.0) a multi-filter SUBSCRIBE acts as a series of single ones: a repeated filter ends as the last one", async () => {
    const broker = testBroker();
    const c = await v5Client(broker, { clientId: "series" });
    const ack = await subscribeV5(c, [["se/a", { qos: 1 }], ["se/+", { qos: 0 }], ["se/a", { qos: 2 }]], {
      id: 3,
    });
    assert.deepEqual(ack.granted, [1, 0, 2], "one SUBACK for the whole packet");
    const subs = broker.getSession("series")!.subscriptions;
    assert.deepEqual([...subs.keys()].sort(), ["se/+", "se/a"]);
    assert.equal(subs.get("se/a")!.qos, 2, "the later pair replaced the earlier one");
    const p = await v5Client(broker);
    p.publish("se/a", "x", { qos: 2, messageId: 4 });
    const m = await c.expect("publish");
    assert.equal(m.qos, 2, "overlapping subscriptions: one delivery at the highest granted QoS");
    assert.deepEqual(await c.collect(50), []);
    await broker.close();
  });

  it("MQTT-3.8.4-6 (5.0) each filter gets its own Reason Code", async () => {
    const broker = testBroker({ hooks: [denyHook] });
    const c = await v5Client(broker);
    const ack = await subscribeV5(c, [
      ["ok/0", { qos: 0 }],
      ["deny/1", { qos: 1 }],
      ["ok/2", { qos: 2 }],
      ["bad/#/x", { qos: 1 }],
      ["ok/1", { qos: 1 }],
    ]);
    assert.deepEqual(ack.granted, [0, 0x87, 2, 0x8f, 1]);
    assert.equal(broker.subscriptionCount, 3, "only the granted filters are subscribed");
    await broker.close();
  });

  it("MQTT-3.8.4-7 (5.0) each code is the granted maximum QoS (capped by the server) or a failure code", async () => {
    const broker = testBroker({ capabilities: { maximumQoS: 1 } });
    const c = await v5Client(broker);
    const ack = await subscribeV5(c, [["g/0", { qos: 0 }], ["g/1", { qos: 1 }], ["g/2", { qos: 2 }], ["", {
      qos: 1,
    }]]);
    assert.deepEqual(ack.granted, [0, 1, 1, 0x8f]);
    for (const code of ack.granted) assert.ok(code <= 2 || code >= 0x80, `0x${code.toString(16)}`);
    await broker.close();
  });

  it("MQTT-3.8.4-8 (5.0) messages go out at the lower of the published QoS and the granted QoS", async () => {
    const broker = testBroker();
    const subs = [];
    for (const granted of [0, 1, 2]) {
      const c = await v5Client(broker);
      await subscribeV5(c, [["dq/t", { qos: granted }]]);
      subs.push(c);
    }
    const p = await v5Client(broker);
    for (const published of [0, 1, 2]) {
      p.publish("dq/t", `q${published}`, {
        qos: published,
        messageId: published === 0 ? undefined : 10 + published,
      });
      if (published === 1) await p.expect("puback");
      if (published === 2) await p.expect("pubrec");
      for (const [granted, c] of subs.entries()) {
        const m = await c.expect("publish");
        assert.equal(m.qos, Math.min(published, granted), `published ${published}, granted ${granted}`);
        if (m.qos === 1) c.send({ cmd: "puback", messageId: m.messageId });
        if (m.qos === 2) {
          c.send({ cmd: "pubrec", messageId: m.messageId });
          await c.expect("pubrel");
          c.send({ cmd: "pubcomp", messageId: m.messageId });
        }
      }
    }
    await broker.close();
  });
});

describe("conformance 5.0 3.9 SUBACK", () => {
  it("MQTT-3.9.2-1 (5.0) MQTT-3.9.2-2 (5.0) a SUBACK never exceeds the client's Maximum Packet Size (no Reason String or User Properties that would)", async () => {
    const broker = testBroker({ hooks: [denyHook] });
    const c = await v5Client(broker, { properties: { maximumPacketSize: 40 } });
    const acks = [
      await subscribeV5(c, [["deny/a", { qos: 1 }]], { id: 1 }),
      await subscribeV5(c, [["x/#/y", { qos: 1 }]], { id: 2 }),
      await subscribeV5(c, [["fine", { qos: 1 }]], { id: 3 }),
    ];
    assert.deepEqual(acks.map((a) => a.granted), [[0x87], [0x8f], [1]], "the SUBACKs themselves are sent");
    for (const a of acks) assert.ok(wireSize(a) <= 40, `SUBACK of ${wireSize(a)} bytes`);
    await broker.close();
  });

  it("MQTT-3.9.3-1 (5.0) SUBACK codes follow the order of the filters", async () => {
    const broker = testBroker({ hooks: [denyHook] });
    const c = await v5Client(broker);
    const filters: Array<[string, number]> = [];
    for (let i = 0; i < 30; i++) {
      filters.push([i % 7 === 3 ? `deny/${i}` : i % 5 === 4 ? `x/#/${i}` : `ord/${i}`, i % 3]);
    }
    const ack = await subscribeV5(c, filters.map(([f, q]) => [f, { qos: q }]));
    const expected = filters.map(([f, q]) => (f.startsWith("deny/") ? 0x87 : f.includes("#/") ? 0x8f : q));
    assert.deepEqual(ack.granted, expected);
    await broker.close();
  });

  const failures: Array<[string, Parameters<typeof testBroker>[0], string, number]> = [
    ["invalid filter", {}, "a/b#", 0x8f],
    ["not authorized", { hooks: [denyHook] }, "deny/t", 0x87],
    ["quota exceeded", { limits: { maxSubscriptionsPerClient: 1 } }, "second", 0x97],
    [
      "shared subscriptions not supported",
      { capabilities: { sharedSubscriptionAvailable: false } },
      "$share/g/t",
      0x9e,
    ],
    ["wildcards not supported", { capabilities: { wildcardSubscriptionAvailable: false } }, "w/+", 0xa2],
  ];
  for (const [why, options, filter, code] of failures) {
    it(`MQTT-3.9.3-2 (5.0) a defined Subscribe Reason Code per filter: ${why} is 0x${code.toString(16)}`, async () => {
      const broker = testBroker(options);
      const c = await v5Client(broker);
      const ack = await subscribeV5(c, [["first", { qos: 2 }], [filter, { qos: 1 }]]);
      assert.equal(ack.granted.length, 2, "one code per filter");
      assert.deepEqual(ack.granted, [2, code]);
      for (const g of ack.granted) {
        assert.ok(SUBACK_CODES.has(g), `0x${g.toString(16)} is a Subscribe Reason Code`);
      }
      assert.equal(c.closed, false);
      await broker.close();
    });
  }
});
