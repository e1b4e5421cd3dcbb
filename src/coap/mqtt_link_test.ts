import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Broker } from "../broker.ts";
import { FileAuthHook } from "../hooks/auth/file_auth_hook.ts";
import { LINK_CLOSED, type LinkMessage, MqttLink } from "./mqtt_link.ts";

function link(broker: Broker, received: LinkMessage[] = []): { link: MqttLink; closed: () => boolean } {
  let closed = false;
  const l = new MqttLink({
    accept: broker.accept,
    listener: "coap",
    remoteAddress: "10.0.0.1:5683",
    onMessage: (m, done) => {
      received.push(m);
      done();
    },
    onClosed: () => (closed = true),
  });
  return { link: l, closed: () => closed };
}

describe("MqttLink: a virtual MQTT 5 client", () => {
  it("connects, publishes at each QoS, subscribes and receives, and the ACL's refusals come back as codes", async () => {
    const broker = new Broker({
      sysInterval: 0,
      hooks: [new FileAuthHook({ anonymous: true, acl: [{ topic: "ok/#", access: "readwrite" }] })],
    });
    await broker.listen();
    const received: LinkMessage[] = [];
    const { link: l } = link(broker, received);
    assert.equal(await l.connect("v1"), 0);
    assert.equal(broker.getClient("v1")?.listener, "coap");
    assert.equal(await l.subscribe("ok/#", 2), 2);
    assert.equal(await l.subscribe("no/#", 1), 0x87);
    for (const qos of [0, 1, 2] as const) {
      assert.ok(
        (await l.publish({ topic: `ok/${qos}`, payload: Uint8Array.of(qos), qos, retain: false })) < 0x80,
      );
    }
    assert.equal(await l.publish({ topic: "no/x", payload: Uint8Array.of(1), qos: 1, retain: false }), 0x87);
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(received.map((m) => [m.topic, m.qos]), [["ok/0", 0], ["ok/1", 1], ["ok/2", 2]]);
    assert.equal(broker.inflightCount, 0, "every delivery was acknowledged");
    assert.equal(await l.unsubscribe("ok/#"), 0);
    await broker.close();
  });

  it("reports a refused CONNECT, and answers LINK_CLOSED once closed", async () => {
    const broker = new Broker({ sysInterval: 0 }); // no auth hook: everyone is refused
    await broker.listen();
    const { link: l, closed } = link(broker);
    assert.equal(await l.connect("v2"), 0x87);
    await new Promise((r) => setTimeout(r, 10));
    assert.ok(closed());
    assert.equal(await l.subscribe("a", 0), LINK_CLOSED);
    await broker.close();
  });
});
