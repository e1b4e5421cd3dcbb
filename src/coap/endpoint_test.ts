import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../clock.ts";
import { parse, serialize } from "./codec.ts";
import { CoapEndpoint, type Exchange, type Outcome } from "./endpoint.ts";
import { ACK, type CoapMessage, CON, GET, NON, RESPONSE, RST } from "./message.ts";

const peer = { address: "127.0.0.1", port: 40000 };
const EMPTY = new Uint8Array();

function setup(random = () => 0, extra: { maxReplyBytes?: number } = {}) {
  const clock = new FakeClock();
  const sent: Array<{ at: number; m: CoapMessage }> = [];
  const endpoint = new CoapEndpoint({
    ...extra,
    clock,
    random,
    send(bytes) {
      const r = parse(bytes);
      assert.ok(r.ok);
      sent.push({ at: clock.now(), m: r.message });
    },
  });
  const requests: Exchange[] = [];
  endpoint.onRequest = (_m, ex) => requests.push(ex);
  return { clock, sent, endpoint, requests };
}

const request = (type: 0 | 1, messageId: number, code = GET) =>
  serialize({ type, code, messageId, token: Uint8Array.of(1, 2), options: [], payload: EMPTY });

describe("CoAP message layer", () => {
  it("answers a CON request piggy-backed and a duplicate with the same ACK, processing it once", () => {
    const { sent, endpoint, requests } = setup();
    endpoint.receive(request(CON, 10), peer);
    requests[0].respond({ code: RESPONSE.content, payload: Uint8Array.of(7) });
    endpoint.receive(request(CON, 10), peer);
    assert.equal(requests.length, 1);
    assert.equal(sent.length, 2);
    for (const { m } of sent) {
      assert.equal(m.type, ACK);
      assert.equal(m.messageId, 10);
      assert.equal(m.code, RESPONSE.content);
      assert.deepEqual([...m.token], [1, 2]);
    }
    assert.equal(endpoint.stats.duplicates, 1);
  });

  it("answers a NON request with a NON response of its own message id", () => {
    const { sent, endpoint, requests } = setup();
    endpoint.receive(request(NON, 11), peer);
    requests[0].respond({ code: RESPONSE.changed });
    assert.equal(sent[0].m.type, NON);
    assert.notEqual(sent[0].m.messageId, 11);
  });

  it("rejects a ping and a malformed CON with RST, and drops a malformed NON", () => {
    const { sent, endpoint } = setup();
    endpoint.receive(Uint8Array.of(0x40, 0, 0, 5), peer);
    endpoint.receive(Uint8Array.of(0x49, 1, 0, 6), peer); // token length 9
    endpoint.receive(Uint8Array.of(0x59, 1, 0, 7), peer); // NON, token length 9
    assert.deepEqual(sent.map(({ m }) => [m.type, m.messageId]), [[RST, 5], [RST, 6]]);
    assert.equal(endpoint.stats.malformed, 2);
  });

  it("sends an empty ACK when the answer takes long, then the answer as a separate CON", () => {
    const { clock, sent, endpoint, requests } = setup();
    endpoint.receive(request(CON, 12), peer);
    clock.advance(1000);
    assert.deepEqual([sent[0].m.type, sent[0].m.code, sent[0].m.messageId], [ACK, 0, 12]);
    endpoint.receive(request(CON, 12), peer); // a retransmission gets the empty ACK again
    assert.equal(sent[1].m.code, 0);
    requests[0].respond({ code: RESPONSE.changed });
    assert.equal(sent[2].m.type, CON);
    assert.equal(sent[2].m.code, RESPONSE.changed);
    assert.deepEqual([...sent[2].m.token], [1, 2]);
  });

  it("retransmits a CON with doubling timeouts, gives up after 4 retransmissions", () => {
    const { clock, sent, endpoint } = setup(() => 0.5);
    const outcomes: Outcome[] = [];
    const start = clock.now();
    endpoint.send(
      peer,
      { type: CON, code: RESPONSE.content, token: EMPTY, options: [], payload: EMPTY },
      (o) => outcomes.push(o),
    );
    clock.advance(200_000);
    // First timeout 2 s * 1.25 (jitter 0.5 of factor 1.5), then 2x each time.
    assert.deepEqual(sent.map((s) => s.at - start), [0, 2500, 7500, 17500, 37500]);
    assert.ok(sent.every((s) => s.m.messageId === sent[0].m.messageId));
    assert.deepEqual(outcomes, ["timeout"]);
  });

  it("stops retransmitting on ACK and sends one CON at a time (NSTART 1)", () => {
    const { clock, sent, endpoint } = setup();
    const outcomes: string[] = [];
    const msg = { type: CON, code: RESPONSE.content, token: EMPTY, options: [], payload: EMPTY } as const;
    endpoint.send(peer, msg, (o) => outcomes.push(`a:${o}`));
    endpoint.send(peer, msg, (o) => outcomes.push(`b:${o}`));
    assert.equal(sent.length, 1);
    const ack = (mid: number, type: typeof ACK | typeof RST = ACK) =>
      endpoint.receive(
        serialize({ type, code: 0, messageId: mid, token: EMPTY, options: [], payload: EMPTY }),
        peer,
      );
    ack(sent[0].m.messageId);
    assert.equal(sent.length, 2);
    ack(sent[1].m.messageId, RST);
    clock.advance(60_000);
    assert.equal(sent.length, 2);
    assert.deepEqual(outcomes, ["a:ack", "b:reset"]);
  });

  it("reports RST to a tracked NON notification", () => {
    const { sent, endpoint } = setup();
    const outcomes: Outcome[] = [];
    endpoint.send(
      peer,
      { type: NON, code: RESPONSE.content, token: EMPTY, options: [], payload: EMPTY },
      (o) => outcomes.push(o),
    );
    endpoint.receive(
      serialize({
        type: RST,
        code: 0,
        messageId: sent[0].m.messageId,
        token: EMPTY,
        options: [],
        payload: EMPTY,
      }),
      peer,
    );
    assert.deepEqual(outcomes, ["reset"]);
  });

  it("answers 5.03 past the pending-request bound and forgets idle peers", () => {
    const { clock, sent, endpoint, requests } = setup();
    for (let i = 0; i < 33; i++) endpoint.receive(request(CON, 100 + i), peer);
    assert.equal(requests.length, 32);
    assert.equal(sent.at(-1)!.m.code, RESPONSE.serviceUnavailable);
    for (const r of requests) r.respond({ code: RESPONSE.changed });
    clock.advance(300_000);
    assert.equal(endpoint.peerCount, 0);
    endpoint.close();
  });

  it("keeps a NON message behind a CON in flight, so the remote sees them in order", () => {
    const { sent, endpoint } = setup();
    const msg = (type: 0 | 1, n: number) =>
      ({ type, code: RESPONSE.content, token: EMPTY, options: [], payload: Uint8Array.of(n) }) as const;
    endpoint.send(peer, msg(CON, 1));
    endpoint.send(peer, msg(NON, 2));
    endpoint.send(peer, msg(CON, 3));
    assert.deepEqual(sent.map((s) => s.m.payload[0]), [1]);
    endpoint.receive(
      serialize({
        type: ACK,
        code: 0,
        messageId: sent[0].m.messageId,
        token: EMPTY,
        options: [],
        payload: EMPTY,
      }),
      peer,
    );
    assert.deepEqual(sent.map((s) => [s.m.type, s.m.payload[0]]), [[CON, 1], [NON, 2], [CON, 3]]);
  });

  it("remembers responses for duplicates only within the byte budget", () => {
    const { sent, endpoint, requests } = setup(() => 0, { maxReplyBytes: 100 });
    endpoint.receive(request(CON, 20), peer);
    requests[0].respond({ code: RESPONSE.content, payload: new Uint8Array(200) });
    endpoint.receive(request(CON, 20), peer);
    assert.equal(sent.length, 1, "a duplicate is not answered when its response was not kept");
    assert.equal(requests.length, 1, "and not processed again");
    endpoint.receive(request(CON, 21), peer);
    requests[1].respond({ code: RESPONSE.changed });
    endpoint.receive(request(CON, 21), peer);
    assert.equal(sent.length, 3);
  });
});
