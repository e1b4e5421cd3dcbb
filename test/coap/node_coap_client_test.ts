/**
 * The CoAP gateway with the npm `coap` package as the device, and Mosquitto's clients on the MQTT side.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import coap from "coap";
import type { Broker } from "../../src/broker.ts";
import { FileAuthHook } from "../../src/hooks/auth/file_auth_hook.ts";
import { until } from "../_helpers/broker.ts";
import { coapBroker, mosquittoSub, run } from "../_helpers/coap.ts";

interface Response {
  code: string;
  payload: Buffer;
  on(event: "data", fn: (chunk: Buffer) => void): void;
  close(): void;
}

/** One request with its own agent (Deno's node:dgram cannot reuse the socket of coap's shared agent). */
function request(port: number, options: Record<string, unknown>, payload?: string): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = coap.request({
      hostname: "127.0.0.1",
      port,
      agent: new coap.Agent({ type: "udp4" }),
      ...options,
    });
    // node-coap sends a large body block-wise only when asked to: Block1 with SZX 6 (1 KiB blocks).
    if (payload !== undefined && payload.length > 1024) req.setOption("Block1", Buffer.of(0x6));
    req.on("response", (res: unknown) => resolve(res as Response));
    req.on("error", reject);
    req.end(payload);
  });
}

const big = Array.from({ length: 10 * 1024 }, (_, i) => String.fromCharCode(65 + (i * 11) % 26)).join("");

describe("CoAP gateway with the npm coap client", () => {
  let broker: Broker;
  let coapPort: number;
  let mqtt: number;
  before(async () => {
    // Short CON timeouts: an observer that stopped acknowledging is dropped within about 3 s, not 93.
    ({ broker, coapPort, mqttPort: mqtt } = await coapBroker({ coap: { endpoint: { ackTimeoutMs: 100 } } }));
  });
  after(async () => {
    await broker.close();
  });

  it("PUT of 10 KiB (Block1) reaches mosquitto_sub, and reads back retained (Block2)", async () => {
    const sub = await mosquittoSub(broker, mqtt, "npm/big", 1);
    const put = await request(
      coapPort,
      { method: "PUT", pathname: "/ps/npm/big", query: "retain=true" },
      big,
    );
    assert.equal(put.code, "2.04");
    assert.ok((await sub.done).stdout === `${big}\n`, "mosquitto_sub got the 10 KiB payload");
    const get = await request(coapPort, { method: "GET", pathname: "/ps/npm/big" });
    assert.equal(get.code, "2.05");
    assert.ok(get.payload.toString() === big, "GET read the 10 KiB payload");
  });

  it("mosquitto_pub notifies an observer (also with 10 KiB); after close, the next notification ends it", async () => {
    const subs = broker.subscriptionCount;
    const res = await request(coapPort, { method: "GET", pathname: "/ps/npm/obs/%2B", observe: true });
    assert.equal(res.code, "2.05");
    const got: string[] = [];
    res.on("data", (chunk) => got.push(chunk.toString()));
    await run("mosquitto_pub", ["-p", String(mqtt), "-t", "npm/obs/a", "-m", "small", "-q", "1"]);
    await run("mosquitto_pub", ["-p", String(mqtt), "-t", "npm/obs/b", "-m", big, "-q", "0"]);
    await until(() => got.includes(big), 5000, "the 10 KiB notification");
    // The first chunk is the (empty) registration response.
    assert.deepEqual(got.filter((g) => g !== "").map((g) => g.length), [5, big.length]);
    res.close();
    // node-coap closes the agent's socket: the next Confirmable notification is never acknowledged, and the
    // gateway drops the observer once its retransmissions run out, unsubscribing it.
    await run("mosquitto_pub", ["-p", String(mqtt), "-t", "npm/obs/c", "-m", "bye", "-q", "1"]);
    await until(() => broker.subscriptionCount === subs, 10_000, "the observation to end");
  });
});

describe("CoAP gateway ACL with the npm coap client", () => {
  let broker: Broker;
  let coapPort: number;
  before(async () => {
    const hook = new FileAuthHook({ anonymous: true, acl: [{ topic: "open/#", access: "readwrite" }] });
    ({ broker, coapPort } = await coapBroker({ auth: hook }));
  });
  after(async () => {
    await broker.close();
  });

  it("answers 4.03 to a publish, an observation and a read the ACL denies", async () => {
    assert.equal((await request(coapPort, { method: "POST", pathname: "/ps/open/x" }, "1")).code, "2.04");
    assert.equal((await request(coapPort, { method: "POST", pathname: "/ps/closed/x" }, "1")).code, "4.03");
    assert.equal((await request(coapPort, { method: "GET", pathname: "/ps/closed/x" })).code, "4.03");
    const observe = await request(coapPort, { method: "GET", pathname: "/ps/closed/x", observe: true });
    observe.close();
    assert.equal(observe.code, "4.03");
  });
});
