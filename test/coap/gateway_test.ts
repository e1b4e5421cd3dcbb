/**
 * The CoAP gateway over an in-memory datagram socket with a real broker and a fake clock: response codes,
 * observation life cycle, bounds, time-outs, and that CoAP clients count as the broker's clients.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../../src/clock.ts";
import { CoapListener, type CoapListenerOptions } from "../../src/coap/coap_listener.ts";
import { parse, serialize } from "../../src/coap/codec.ts";
import type { BindDatagram, Peer } from "../../src/coap/datagram.ts";
import {
  ACK,
  type CoapMessage,
  type CoapOption,
  CON,
  DELETE,
  GET,
  NON,
  OPT,
  POST,
  PUT,
  RESPONSE,
  RST,
  stringOpt,
  uintOpt,
} from "../../src/coap/message.ts";
import { blockOption } from "../../src/coap/blockwise.ts";
import { testBroker } from "../_helpers/broker.ts";
import type { Hook } from "../../src/hooks/hook.ts";
import { FileAuthHook } from "../../src/hooks/auth/file_auth_hook.ts";
import { hashPassword, MIN_ITERATIONS } from "../../src/hooks/auth/password.ts";

const P1: Peer = { address: "10.0.0.1", port: 5000 };
const P2: Peer = { address: "10.0.0.2", port: 5000 };
const EMPTY = new Uint8Array();
const text = new TextEncoder();

async function setup(options: Partial<CoapListenerOptions> = {}, auth?: Hook) {
  const clock = new FakeClock();
  const broker = testBroker(auth === undefined ? { clock } : { clock, auth });
  const sent: Array<{ m: CoapMessage; peer: Peer }> = [];
  let deliver: (bytes: Uint8Array, peer: Peer) => void = () => {};
  const bind: BindDatagram = (_o, onMessage) => {
    deliver = onMessage;
    return Promise.resolve({
      address: "127.0.0.1",
      port: 5683,
      send(bytes, peer) {
        const r = parse(bytes);
        assert.ok(r.ok);
        sent.push({ m: r.message, peer });
      },
      close: () => Promise.resolve(),
    });
  };
  const listener = new CoapListener({ ...options, bind, id: "coap", clock, random: () => 0 });
  await broker.addListener(listener);
  await broker.listen();
  let mid = 1;
  const settle = async () => {
    for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 0));
  };
  /** Send a request and return the response to it (by token) once things settled. */
  const request = async (
    code: number,
    uri: string,
    { type = CON, options = [], payload = EMPTY, token = Uint8Array.of(mid & 0xff), peer = P1 }: {
      type?: 0 | 1;
      options?: CoapOption[];
      payload?: Uint8Array;
      token?: Uint8Array;
      peer?: Peer;
    } = {},
  ) => {
    const [path, query] = uri.split("?");
    const opts = [
      ...path.split("/").filter((s) => s !== "").map((s) => stringOpt(OPT.uriPath, s)),
      ...(query ? query.split("&").map((q) => stringOpt(OPT.uriQuery, q)) : []),
      ...options,
    ];
    const from = sent.length;
    deliver(serialize({ type, code, messageId: mid++, token, options: opts, payload }), peer);
    await settle();
    const reply = sent.slice(from).find((s) => s.m.code !== 0 && s.m.token.join() === token.join());
    assert.ok(reply, `a response to ${uri}`);
    return reply.m;
  };
  const ack = (m: CoapMessage, peer = P1, type: typeof ACK | typeof RST = ACK) =>
    deliver(
      serialize({ type, code: 0, messageId: m.messageId, token: EMPTY, options: [], payload: EMPTY }),
      peer,
    );
  return { clock, broker, sent, listener, request, ack, settle, deliver };
}

describe("CoAP gateway (in memory)", () => {
  it("a CoAP client is a broker client on the coap listener: $SYS, the client list and the listener list", async () => {
    const { broker, request } = await setup();
    const res = await request(PUT, "ps/a?clientid=dev-1", { payload: text.encode("1") });
    assert.equal(res.code, RESPONSE.changed);
    assert.equal(broker.getClient("dev-1")?.listener, "coap");
    assert.equal(broker.sysValues().get("$SYS/broker/clients/connected"), "1");
    assert.deepEqual(broker.listeners.map((l) => l.protocol), ["coap"]);
    await broker.close();
  });

  it("answers bad requests with the RFC's codes", async () => {
    const { broker, request } = await setup();
    const cases: Array<[number, string, number, CoapOption[]]> = [
      [GET, "nowhere", RESPONSE.notFound, []],
      [DELETE, "ps/a", RESPONSE.methodNotAllowed, []],
      [GET, "ps/a", RESPONSE.badOption, [{ number: 2049, value: EMPTY }]], // unknown critical option
      [GET, "ps/a", (5 << 5) | 5, [stringOpt(OPT.proxyUri, "coap://x/")]],
      [PUT, "ps/a/%2B", RESPONSE.badRequest, []], // wildcard in a topic name
      [PUT, "ps/a?qos=3", RESPONSE.badRequest, []],
      [PUT, "ps/%zz", RESPONSE.badRequest, []],
      [GET, "ps/a?qos=1", RESPONSE.badRequest, [uintOpt(OPT.observe, 5)]],
      [POST, "mqtt/connection", RESPONSE.badRequest, []], // no clientid
      [PUT, "mqtt/connection?clientid=x&token=1", RESPONSE.unauthorized, []],
    ];
    for (const [code, uri, expected, options] of cases) {
      const res = await request(code, uri, { options });
      assert.equal(res.code, expected, `${uri}: ${res.code >> 5}.${res.code & 31}`);
    }
    const empty = await request(GET, "ps/a", { options: [uintOpt(OPT.observe, 0)], token: EMPTY });
    assert.equal(empty.code, RESPONSE.badRequest, "Observe needs a token");
    await broker.close();
  });

  it("observation life cycle: re-registration keeps one subscription, Observe 1 removes it", async () => {
    const { broker, request } = await setup();
    const token = Uint8Array.of(9, 9);
    const observe = [uintOpt(OPT.observe, 0)];
    assert.equal((await request(GET, "ps/t/%23", { options: observe, token })).code, RESPONSE.content);
    assert.equal((await request(GET, "ps/t/%23", { options: observe, token })).code, RESPONSE.content);
    assert.equal(broker.subscriptionCount, 1);
    await request(GET, "ps/t/%23", { options: [uintOpt(OPT.observe, 1)], token });
    assert.equal(broker.subscriptionCount, 0);
    await broker.close();
  });

  it("drops an observer that does not acknowledge CON notifications, then the idle client", async () => {
    const { clock, broker, sent, request, settle } = await setup();
    await request(GET, "ps/q", { options: [uintOpt(OPT.observe, 0)], token: Uint8Array.of(7) });
    const from = sent.length;
    await broker.publish("q", "hello", { qos: 1 });
    await settle();
    assert.equal(sent.length - from, 1);
    assert.equal(sent[from].m.type, CON);
    for (let i = 0; i < 10; i++) {
      clock.advance(10_000);
      await settle();
    }
    // The first transmission and 4 retransmissions (2 s doubling), then the observer is dropped.
    assert.equal(sent.length - from, 5);
    assert.equal(broker.subscriptionCount, 0);
    // Without observers, and idle for more than 60 s since its last request, the client is disconnected.
    clock.advance(10_000);
    await settle();
    assert.equal(broker.connectedCount(), 0);
    await broker.close();
  });

  it("QoS 0 notifications go NON; RST to one ends the observation; ACKed CON ones keep it", async () => {
    const { broker, sent, request, settle, ack } = await setup();
    await request(GET, "ps/n?qos=1", {
      options: [uintOpt(OPT.observe, 0)],
      token: Uint8Array.of(3),
      type: NON,
    });
    let from = sent.length;
    await broker.publish("n", "a", { qos: 1 });
    await settle();
    assert.equal(sent[from].m.type, CON);
    ack(sent[from].m);
    from = sent.length;
    await broker.publish("n", "b", { qos: 0 });
    await settle();
    assert.equal(sent[from].m.type, NON);
    assert.equal(broker.subscriptionCount, 1);
    ack(sent[from].m, P1, RST);
    await settle();
    assert.equal(broker.subscriptionCount, 0);
    await broker.close();
  });

  it("bounds observations per remote address (5.03 past it)", async () => {
    const { broker, request } = await setup({ gateway: { maxObserversPerPeer: 2 } });
    const observe = [uintOpt(OPT.observe, 0)];
    for (const t of [1, 2]) {
      assert.equal(
        (await request(GET, `ps/b${t}`, { options: observe, token: Uint8Array.of(t) })).code,
        RESPONSE.content,
      );
    }
    const third = await request(GET, "ps/b3", { options: observe, token: Uint8Array.of(3) });
    assert.equal(third.code, RESPONSE.serviceUnavailable);
    const other = await request(GET, "ps/b3", { options: observe, token: Uint8Array.of(3), peer: P2 });
    assert.equal(other.code, RESPONSE.content);
    await broker.close();
  });

  it("Block1: a gap is 4.08, a body over the limit 4.13 with Size1, blocks in order are published", async () => {
    const { broker, request } = await setup({ gateway: { maxBodySize: 2048 } });
    const block = new Uint8Array(1024).fill(0x61);
    const b1 = (num: number, more: boolean) => [blockOption(OPT.block1, { num, more, szx: 6 })];
    assert.equal(
      (await request(PUT, "ps/up?retain=true", { options: b1(0, true), payload: block })).code,
      RESPONSE.continue,
    );
    assert.equal(
      (await request(PUT, "ps/up?retain=true", { options: b1(2, true), payload: block })).code,
      RESPONSE.requestEntityIncomplete,
    );
    assert.equal(
      (await request(PUT, "ps/up?retain=true", { options: b1(0, true), payload: block })).code,
      RESPONSE.continue,
    );
    assert.equal(
      (await request(PUT, "ps/up?retain=true", { options: b1(1, false), payload: block })).code,
      RESPONSE.changed,
    );
    assert.equal(broker.getRetained("up")?.payload.length, 2048);
    const big = await request(PUT, "ps/up", {
      options: [...b1(0, true), uintOpt(OPT.size1, 4096)],
      payload: block,
    });
    assert.equal(big.code, RESPONSE.requestEntityTooLarge);
    await broker.close();
  });

  it("a /mqtt/connection client without heartbeats is disconnected after 120 s", async () => {
    const { clock, broker, request, settle } = await setup();
    const res = await request(POST, "mqtt/connection?clientid=hb");
    assert.equal(res.code, RESPONSE.created);
    const token = new TextDecoder().decode(res.payload);
    clock.advance(100_000);
    assert.equal((await request(PUT, `mqtt/connection?clientid=hb&token=${token}`)).code, RESPONSE.changed);
    clock.advance(100_000);
    await settle();
    assert.ok(broker.getClient("hb"), "the heartbeat kept it");
    clock.advance(30_000);
    await settle();
    assert.equal(broker.getClient("hb"), undefined);
    await broker.close();
  });

  it("a request with wrong credentials for a connected client id is 4.01 and leaves that client connected", async () => {
    const password = await hashPassword("right", { iterations: MIN_ITERATIONS });
    const { broker, request } = await setup({}, new FileAuthHook({ users: { dev: { password } } }));
    const ok = await request(PUT, "ps/a?clientid=dev&username=dev&password=right", {
      payload: text.encode("1"),
    });
    assert.equal(ok.code, RESPONSE.changed);
    const client = broker.getClient("dev");
    assert.ok(client);
    const bad = await request(PUT, "ps/a?clientid=dev&username=dev&password=wrong", { peer: P2 });
    assert.equal(bad.code, RESPONSE.unauthorized);
    assert.equal(broker.getClient("dev"), client);
    const again = await request(PUT, "ps/a?clientid=dev&username=dev&password=right", {
      payload: text.encode("2"),
    });
    assert.equal(again.code, RESPONSE.changed);
    assert.equal(broker.getClient("dev"), client, "the same virtual client served it");
    await broker.close();
  });

  it("a second observation of one client gets the retained message, the first gets no duplicate", async () => {
    const { broker, sent, request, settle } = await setup();
    await broker.publish("ov/a", "R", { retain: true });
    const observe = [uintOpt(OPT.observe, 0)];
    const first = await request(GET, "ps/ov/%23", { options: observe, token: Uint8Array.of(1) });
    assert.equal(new TextDecoder().decode(first.payload), "R");
    const from = sent.length;
    const second = await request(GET, "ps/ov/a", { options: observe, token: Uint8Array.of(2) });
    assert.equal(new TextDecoder().decode(second.payload), "R");
    assert.equal(sent.length - from, 1, "only the response: no notification to the first observer");
    await broker.publish("ov/a", "L", { qos: 0 });
    await settle();
    const live = sent.slice(from + 1).map((s) => [s.m.token[0], new TextDecoder().decode(s.m.payload)]);
    assert.deepEqual(live.sort(), [[1, "L"], [2, "L"]]);
    assert.equal(broker.subscriptionCount, 2);
    await broker.close();
  });

  it("expiry= sets the Message Expiry Interval, which comes back as Max-Age", async () => {
    const { broker, request } = await setup();
    assert.equal(
      (await request(PUT, "ps/exp?retain=true&expiry=30", { payload: text.encode("v") })).code,
      RESPONSE.changed,
    );
    assert.equal(broker.getRetained("exp")?.properties?.messageExpiryInterval, 30);
    const get = await request(GET, "ps/exp");
    const maxAge = get.options.find((o) => o.number === OPT.maxAge);
    assert.ok(maxAge !== undefined && maxAge.value.length > 0 && maxAge.value.at(-1)! <= 30);
    assert.equal((await request(PUT, "ps/exp?expiry=soon")).code, RESPONSE.badRequest);
    await broker.close();
  });

  it("answers publishes the broker would refuse (size, topic levels) itself, keeping the client connected", async () => {
    const { broker, request } = await setup({ limits: { maxPacketSize: 200, maxTopicLevels: 3 } });
    assert.equal(
      (await request(PUT, "ps/a?clientid=k", { payload: text.encode("ok") })).code,
      RESPONSE.changed,
    );
    const client = broker.getClient("k");
    const big = await request(PUT, "ps/a?clientid=k", { payload: new Uint8Array(300) });
    assert.equal(big.code, RESPONSE.requestEntityTooLarge);
    assert.equal(big.options.find((o) => o.number === OPT.size1)?.value.length, 1);
    const deep = await request(PUT, "ps/a/b/c/d?clientid=k", { payload: text.encode("x") });
    assert.equal(deep.code, RESPONSE.badRequest);
    assert.equal(broker.getClient("k"), client);
    await broker.close();
  });
});
