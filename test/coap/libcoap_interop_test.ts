/**
 * The CoAP gateway with real clients: libcoap's coap-client on one side, mosquitto_pub / mosquitto_sub on the
 * other, through a broker started here on free 127.0.0.1 ports.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Broker } from "../../src/broker.ts";
import { FileAuthHook } from "../../src/hooks/auth/file_auth_hook.ts";
import { hashPassword, MIN_ITERATIONS } from "../../src/hooks/auth/password.ts";
import { until } from "../_helpers/broker.ts";
import { COAP_CLIENT, coapBroker, mosquittoSub as subscribe, run } from "../_helpers/coap.ts";

let dir: string;
const big = Array.from({ length: 10 * 1024 }, (_, i) => String.fromCharCode(97 + (i * 7) % 26)).join("");

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "coap-"));
  await writeFile(join(dir, "big.txt"), big);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("CoAP gateway with coap-client and mosquitto", () => {
  let broker: Broker;
  let coap: number;
  let mqtt: number;
  before(async () => {
    ({ broker, coapPort: coap, mqttPort: mqtt } = await coapBroker());
  });
  after(async () => {
    await broker.close();
  });

  it("a CoAP PUT (CON, and NON at QoS 0) reaches mosquitto_sub; the client shows up as a broker client", async () => {
    const sub = await subscribe(broker, mqtt, "room/+/temp", 2);
    const put = await run(COAP_CLIENT, [
      "-m",
      "put",
      "-e",
      "21.5",
      `coap://127.0.0.1:${coap}/ps/room/1/temp`,
    ]);
    assert.equal(put.code, 0, put.stderr);
    const non = await run(COAP_CLIENT, [
      "-N",
      "-m",
      "post",
      "-e",
      "22",
      `coap://127.0.0.1:${coap}/ps/room/2/temp?qos=0`,
    ]);
    assert.equal(non.code, 0, non.stderr);
    const got = await sub.done;
    assert.equal(got.stdout, "21.5\n22\n");
    assert.ok([...broker.connectedClients()].some((c) => c.listener === "coap"));
  });

  it("mosquitto_pub reaches a coap-client observer (wildcard URL-encoded); the observation ends unsubscribed", async () => {
    const subs = broker.subscriptionCount;
    const observe = run(COAP_CLIENT, [
      "-s",
      "4",
      "-w",
      "-B",
      "8",
      "-m",
      "get",
      `coap://127.0.0.1:${coap}/ps/alerts/%23`,
    ]);
    await until(() => broker.subscriptionCount > subs, 5000, "the observer's subscription");
    for (const [topic, qos] of [["alerts/fire", "0"], ["alerts/a/b", "1"], ["alerts/x", "2"]]) {
      const pub = await run("mosquitto_pub", [
        "-p",
        String(mqtt),
        "-t",
        topic,
        "-m",
        `msg ${topic}`,
        "-q",
        qos,
      ]);
      assert.equal(pub.code, 0, pub.stderr);
    }
    const got = await observe;
    assert.equal(got.code, 0, got.stderr);
    // The first line is the (empty) response to the registration, then one notification per message.
    assert.deepEqual(got.stdout.split("\n").filter((l) => l !== ""), [
      "msg alerts/fire",
      "msg alerts/a/b",
      "msg alerts/x",
    ]);
    // coap-client deregisters when -s runs out (GET with Observe 1): the subscription goes.
    await until(() => broker.subscriptionCount === subs, 5000, "the observer's subscription to go");
  });

  it("GET without Observe returns the retained message, or 4.04", async () => {
    const pub = await run("mosquitto_pub", ["-p", String(mqtt), "-t", "config/rate", "-m", "5s", "-r"]);
    assert.equal(pub.code, 0);
    const get = await run(COAP_CLIENT, ["-m", "get", `coap://127.0.0.1:${coap}/ps/config/rate`]);
    assert.equal(get.stdout.trim(), "5s");
    const put = await run(COAP_CLIENT, [
      "-m",
      "put",
      "-e",
      "9s",
      `coap://127.0.0.1:${coap}/ps/config/rate?retain=true`,
    ]);
    assert.equal(put.code, 0);
    assert.equal(new TextDecoder().decode(broker.getRetained("config/rate")!.payload), "9s");
    const missing = await run(COAP_CLIENT, ["-m", "get", `coap://127.0.0.1:${coap}/ps/config/none`]);
    assert.match(missing.stdout + missing.stderr, /4\.04/);
  });

  it("moves a 10 KiB payload block-wise both ways (Block1 PUT, Block2 GET and notification)", async () => {
    const sub = await subscribe(broker, mqtt, "blob/in", 1);
    const put = await run(COAP_CLIENT, [
      "-m",
      "put",
      "-b",
      "1024",
      "-f",
      join(dir, "big.txt"),
      `coap://127.0.0.1:${coap}/ps/blob/in?retain=true`,
    ]);
    assert.equal(put.code, 0, put.stderr);
    assert.ok((await sub.done).stdout === `${big}\n`, "mosquitto_sub got the 10 KiB payload");
    // Block2: the retained 10 KiB message read back in 1 KiB blocks.
    const out = join(dir, "got.txt");
    const get = await run(COAP_CLIENT, ["-m", "get", "-o", out, `coap://127.0.0.1:${coap}/ps/blob/in`]);
    assert.equal(get.code, 0, get.stderr);
    assert.ok(await readFile(out, "utf8") === big, "GET read the 10 KiB payload");
    // A 10 KiB notification: its first block comes with Observe, the client fetches the rest.
    const subs = broker.subscriptionCount;
    const observed = join(dir, "observed.txt");
    const observe = run(COAP_CLIENT, [
      "-s",
      "3",
      "-B",
      "8",
      "-o",
      observed,
      "-m",
      "get",
      `coap://127.0.0.1:${coap}/ps/blob/out`,
    ]);
    await until(() => broker.subscriptionCount > subs, 5000, "the observer's subscription");
    await run("mosquitto_pub", ["-p", String(mqtt), "-t", "blob/out", "-f", join(dir, "big.txt"), "-q", "1"]);
    assert.equal((await observe).code, 0);
    assert.ok(await readFile(observed, "utf8") === big, "the observer got the 10 KiB payload");
  });
});

describe("CoAP gateway: authentication and ACL", () => {
  let broker: Broker;
  let coap: number;
  before(async () => {
    const hook = new FileAuthHook({
      users: {
        dev: {
          password: await hashPassword("s3cret", { iterations: MIN_ITERATIONS }),
          acl: [{ topic: "dev/#", access: "readwrite" }],
        },
      },
      anonymous: false,
    });
    ({ broker, coapPort: coap } = await coapBroker({ auth: hook }));
  });
  after(async () => {
    await broker.close();
  });
  const url = (path: string) => `coap://127.0.0.1:${coap}${path}`;

  it("a topic the ACL denies is 4.03 for PUT and for GET with Observe; an allowed one is 2.04", async () => {
    const creds = "clientid=d1&username=dev&password=s3cret";
    const ok = await run(COAP_CLIENT, ["-m", "put", "-e", "x", url(`/ps/dev/a?${creds}`)]);
    assert.equal(ok.code, 0);
    assert.doesNotMatch(ok.stdout + ok.stderr, /4\.0/);
    const denied = await run(COAP_CLIENT, ["-m", "put", "-e", "x", url(`/ps/other/a?${creds}`)]);
    assert.match(denied.stdout + denied.stderr, /4\.03/);
    const observe = await run(COAP_CLIENT, [
      "-s",
      "1",
      "-B",
      "3",
      "-m",
      "get",
      url(`/ps/other/%23?${creds}`),
    ]);
    assert.match(observe.stdout + observe.stderr, /4\.03/);
  });

  it("a wrong password or no user is 4.01", async () => {
    const wrong = await run(COAP_CLIENT, [
      "-m",
      "put",
      "-e",
      "x",
      url("/ps/dev/a?clientid=d2&username=dev&password=no"),
    ]);
    assert.match(wrong.stdout + wrong.stderr, /4\.01/);
    const anonymous = await run(COAP_CLIENT, ["-m", "put", "-e", "x", url("/ps/dev/a")]);
    assert.match(anonymous.stdout + anonymous.stderr, /4\.01/);
  });

  it("POST /mqtt/connection gives a token; requests use it; DELETE disconnects", async () => {
    const conn = await run(COAP_CLIENT, [
      "-m",
      "post",
      url("/mqtt/connection?clientid=d3&username=dev&password=s3cret"),
    ]);
    const token = conn.stdout.trim();
    assert.match(token, /^\d+$/, conn.stdout + conn.stderr);
    assert.ok(broker.getClient("d3"), "d3 is connected");
    const put = await run(COAP_CLIENT, [
      "-m",
      "put",
      "-e",
      "y",
      url(`/ps/dev/b?clientid=d3&token=${token}&retain=true`),
    ]);
    assert.equal(put.code, 0);
    assert.equal(new TextDecoder().decode(broker.getRetained("dev/b")!.payload), "y");
    const bad = await run(COAP_CLIENT, ["-m", "put", "-e", "y", url("/ps/dev/b?clientid=d3&token=1")]);
    assert.match(bad.stdout + bad.stderr, /4\.01/);
    const heartbeat = await run(COAP_CLIENT, [
      "-m",
      "put",
      url(`/mqtt/connection?clientid=d3&token=${token}`),
    ]);
    assert.equal(heartbeat.code, 0);
    const del = await run(COAP_CLIENT, ["-m", "delete", url(`/mqtt/connection?clientid=d3&token=${token}`)]);
    assert.equal(del.code, 0);
    await until(() => broker.getClient("d3") === undefined, 3000, "d3 to disconnect");
  });
});
