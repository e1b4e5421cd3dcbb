/**
 * A hook that throws or rejects never stops the broker (issue 13, item 8): for every event of src/hooks/hook.ts,
 * a hook that faults there (synchronously, then with a rejected promise) is logged as "hook failed" with the
 * event's name, the event is refused or becomes a no-op as its documentation says, the broker keeps serving
 * other clients, and nothing reaches the runtime as an unhandled rejection or uncaught exception. The events run
 * from timers are covered: keep-alive expiry, delayed wills, $SYS publication and session expiry sweeps.
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import type { Broker } from "../../src/broker.ts";
import type { Hook } from "../../src/hooks/hook.ts";
import { AllowHook } from "../../src/hooks/auth/allow_hook.ts";
import type { LogFields, Logger } from "../../src/logger.ts";
import type { BrokerOptions } from "../../src/options.ts";
import { RawClient } from "../_helpers/raw_client.ts";
import { tcpBroker, until } from "../_helpers/broker.ts";

type Mode = "throw" | "reject";

const EVENTS = [
  "init",
  "stop",
  "onAuthenticate",
  "onAclCheck",
  "onEnhancedAuth",
  "onConnect",
  "onSubscribe",
  "onUnsubscribe",
  "onPublish",
  "onConnected",
  "onDisconnected",
  "onSubscribed",
  "onUnsubscribed",
  "onPublished",
  "onRetained",
  "onWillSent",
  "onSessionCreated",
  "onSessionExpired",
  "onMessageDropped",
  "onError",
] as const satisfies ReadonlyArray<Exclude<keyof Hook, "id">>;
type Event = typeof EVENTS[number];

/** A hook that answers "no opinion" / passes through everywhere, and faults in the events it is given. */
function faultyHook(
  mode: Mode,
  faulty: ReadonlySet<Event>,
  when: (event: Event, args: unknown[]) => boolean = () => true,
): Hook {
  const hook: Record<string, unknown> = { id: `faulty-${mode}` };
  for (const event of EVENTS) {
    hook[event] = (...args: unknown[]) => {
      if (faulty.has(event) && when(event, args)) {
        const error = new Error(`hook fault in ${event}`);
        if (mode === "throw") throw error;
        return Promise.reject(error);
      }
      // Transforms pass their input through; everything else has no opinion.
      if (event === "onSubscribe" || event === "onUnsubscribe") return args[1];
      if (event === "onPublish") return args[1];
      return undefined;
    };
  }
  return hook as unknown as Hook;
}

class RecordingLogger implements Logger {
  readonly lines: Array<{ level: string; message: string; fields?: LogFields }> = [];
  debug(message: string, fields?: LogFields): void {
    this.lines.push({ level: "debug", message, fields });
  }
  info(message: string, fields?: LogFields): void {
    this.lines.push({ level: "info", message, fields });
  }
  warn(message: string, fields?: LogFields): void {
    this.lines.push({ level: "warn", message, fields });
  }
  error(message: string, fields?: LogFields): void {
    this.lines.push({ level: "error", message, fields });
  }
  failed(event: string): boolean {
    return this.lines.some((l) => l.message === "hook failed" && l.fields?.event === event);
  }
}

// Anything that escapes to the runtime fails the suite.
const escaped: unknown[] = [];
const onEscape = (err: unknown) => escaped.push(err);
before(() => {
  process.on("unhandledRejection", onEscape);
  process.on("uncaughtException", onEscape);
});
after(() => {
  process.off("unhandledRejection", onEscape);
  process.off("uncaughtException", onEscape);
});

interface Ctx {
  broker: Broker;
  port: number;
  logger: RecordingLogger;
  v5(): Promise<RawClient>;
}

/** Start a broker whose first hook faults in `events` (an AllowHook after it lets clients in), run `body`. */
async function withBroker(
  mode: Mode,
  events: Event[],
  body: (ctx: Ctx) => Promise<void>,
  options: BrokerOptions & { when?: (event: Event, args: unknown[]) => boolean } = {},
): Promise<void> {
  const logger = new RecordingLogger();
  const { when, ...rest } = options;
  const { broker, port } = await tcpBroker({
    auth: null,
    logger,
    hooks: [faultyHook(mode, new Set(events), when), new AllowHook()],
    ...rest,
  });
  const clients: RawClient[] = [];
  const v5 = async () => {
    const c = await RawClient.tcp(port, 5);
    clients.push(c);
    return c;
  };
  try {
    await body({ broker, port, logger, v5 });
    // The broker still serves: a fresh client connects and gets PINGRESP.
    const probe = await RawClient.tcp(port);
    clients.push(probe);
    if (!events.includes("onAuthenticate") && !events.includes("onConnect")) {
      assert.equal((await probe.connect()).returnCode, 0);
      probe.send({ cmd: "pingreq" });
      await probe.expect("pingresp");
    }
    for (const event of events) {
      if (event !== "stop") assert.ok(logger.failed(event), `"hook failed" is logged for ${event}`);
    }
  } finally {
    for (const c of clients) c.destroy();
    await broker.close();
  }
  assert.deepEqual(escaped, [], "no unhandled rejection or uncaught exception");
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const mode of ["throw", "reject"] as const) {
  describe(`hook faults (${mode}): the broker logs them and goes on`, () => {
    it("init, before listen(): listen() rejects with the error; added after listen(): logged, still serving", async () => {
      const logger = new RecordingLogger();
      await assert.rejects(
        tcpBroker({ logger, hooks: [faultyHook(mode, new Set(["init"]))] }),
        /hook fault in init/,
      );
      assert.ok(logger.failed("init"));
      await withBroker(mode, [], async ({ broker, logger }) => {
        broker.addHook({ ...faultyHook(mode, new Set(["init"])), id: "late" });
        await until(() => logger.failed("init"), 2000, "the init failure log");
      });
    });

    it("stop: close() finishes and logs the failure", async () => {
      const logger = new RecordingLogger();
      const { broker } = await tcpBroker({ logger, hooks: [faultyHook(mode, new Set(["stop"]))] });
      await broker.close();
      assert.ok(logger.lines.some((l) => l.message === "hook stop failed"));
    });

    it("onAuthenticate: the client is refused", async () => {
      await withBroker(mode, ["onAuthenticate"], async ({ v5 }) => {
        const c = await v5();
        assert.equal((await c.connect()).reasonCode, 0x87);
      });
    });

    it("onAclCheck: the publish and the subscription are refused", async () => {
      await withBroker(mode, ["onAclCheck"], async ({ v5 }) => {
        const c = await v5();
        await c.connect();
        assert.deepEqual((await c.subscribe("t", 1)).granted, [0x87]);
        c.publish("t", "x", { qos: 1, messageId: 2 });
        assert.equal((await c.expect("puback")).reasonCode, 0x87);
      });
    });

    it("onEnhancedAuth: the authentication fails", async () => {
      await withBroker(mode, ["onEnhancedAuth"], async ({ v5 }) => {
        const c = await v5();
        const ack = await c.connect({ properties: { authenticationMethod: "faulty" } });
        assert.equal(ack.reasonCode, 0x87);
      });
    });

    it("onConnect: the client is refused with server unavailable", async () => {
      await withBroker(mode, ["onConnect"], async ({ v5 }) => {
        const c = await v5();
        assert.equal((await c.connect()).reasonCode, 0x88);
      });
    });

    it("onSubscribe: every filter of the SUBSCRIBE is refused", async () => {
      await withBroker(mode, ["onSubscribe"], async ({ v5 }) => {
        const c = await v5();
        await c.connect();
        assert.deepEqual((await c.subscribe([["a", 1], ["b", 0]])).granted, [0x80, 0x80]);
      });
    });

    it("onUnsubscribe: nothing is removed and a v5 UNSUBACK says so; a 3.1.1 connection is closed", async () => {
      await withBroker(mode, ["onUnsubscribe"], async ({ v5, port }) => {
        const c = await v5();
        await c.connect();
        await c.subscribe("a", 0);
        c.send({ cmd: "unsubscribe", messageId: 3, unsubscriptions: ["a"] });
        assert.deepEqual((await c.expect("unsuback")).granted, [0x80]);
        c.publish("a", "still subscribed");
        assert.equal((await c.expect("publish")).payload.toString(), "still subscribed");
        // A 3.1.1 UNSUBACK cannot refuse: a transient error closes that connection [MQTT-4.8.0-2].
        const v3 = await RawClient.tcp(port);
        await v3.connect();
        v3.send({ cmd: "unsubscribe", messageId: 3, unsubscriptions: ["a"] });
        assert.equal(await v3.waitClosed(), true);
        assert.deepEqual(v3.packets, []);
      });
    });

    it("onPublish: a transient error [MQTT-4.8.0-2]: no PUBACK, not delivered, that connection closed", async () => {
      await withBroker(mode, ["onPublish"], async ({ v5 }) => {
        const sub = await v5();
        await sub.connect();
        await sub.subscribe("t", 0);
        const c = await v5();
        await c.connect();
        c.publish("t", "x", { qos: 1, messageId: 2 });
        assert.equal(await c.waitClosed(), true);
        assert.deepEqual(c.packets.filter((p) => p.cmd === "puback"), []);
        assert.deepEqual(await sub.collect(100), []);
        assert.equal(sub.closed, false);
      });
    });

    it("observers of a client's life: connect, subscribe, publish, retain, unsubscribe, disconnect, errors", async () => {
      const events: Event[] = [
        "onConnected",
        "onSessionCreated",
        "onSubscribed",
        "onPublished",
        "onRetained",
        "onUnsubscribed",
        "onDisconnected",
        "onError",
      ];
      await withBroker(mode, events, async ({ v5, logger }) => {
        const c = await v5();
        assert.equal((await c.connect()).reasonCode, 0);
        await c.subscribe("t", 1);
        c.publish("t", "kept", { qos: 1, retain: true, messageId: 2 });
        const got = [await c.next(), await c.next()];
        assert.deepEqual(got.map((p) => p.cmd).sort(), ["puback", "publish"]);
        assert.equal(got.find((p) => p.cmd === "publish").payload.toString(), "kept");
        c.send({ cmd: "unsubscribe", messageId: 3, unsubscriptions: ["t"] });
        assert.deepEqual((await c.expect("unsuback")).granted, [0]);
        c.sendBytes([0x36, 0x00]); // a PUBLISH with QoS 3: malformed, the client is closed
        await c.waitClosed(2000);
        await until(() => logger.failed("onDisconnected") && logger.failed("onError"), 2000, "the logs");
      });
    });

    it("timers: keep-alive expiry runs onDisconnected and the will (onAclCheck, onPublish, onWillSent)", async () => {
      for (const faulty of [["onDisconnected", "onWillSent"], ["onPublish"], ["onAclCheck"]] as Event[][]) {
        await withBroker(mode, faulty, async ({ v5, logger }) => {
          const sub = await v5();
          await sub.connect();
          if (!faulty.includes("onAclCheck")) await sub.subscribe("will/#", 0);
          const c = await v5();
          await c.connect({
            keepalive: 1,
            will: { topic: "will/x", payload: "gone", qos: 0, retain: false },
          });
          await until(
            () => faulty.every((e) => logger.failed(e)),
            4000,
            `${faulty} from the keep-alive sweep`,
          );
          assert.equal(c.closed || (await c.waitClosed(1000)), true, "the silent client was closed");
        });
      }
    });

    it("timers: a delayed will and a session expiry, run by the sweep", async () => {
      await withBroker(mode, ["onWillSent", "onSessionExpired"], async ({ v5, logger }) => {
        const sub = await v5();
        await sub.connect();
        await sub.subscribe("will/#", 0);
        const c = await v5();
        await c.connect({
          clientId: "delayed",
          clean: true,
          properties: { sessionExpiryInterval: 1 },
          will: {
            topic: "will/d",
            payload: "late",
            qos: 0,
            retain: false,
            properties: { willDelayInterval: 1 },
          },
        });
        c.destroy();
        assert.equal((await sub.expect("publish", 4000)).payload.toString(), "late");
        await until(() => logger.failed("onWillSent") && logger.failed("onSessionExpired"), 4000, "the logs");
      });
    });

    it("timers: $SYS publication with faulting ACL read checks and observers", async () => {
      await withBroker(mode, ["onPublished", "onRetained"], async ({ v5, logger }) => {
        const sub = await v5();
        await sub.connect();
        await sub.subscribe("$SYS/broker/uptime", 0);
        await until(() => logger.failed("onPublished") && logger.failed("onRetained"), 4000, "the logs");
        await sleep(1100); // a second round from the $SYS timer
      }, { sysInterval: 1 });
      // The read check of each $SYS delivery faults (the subscription's own check passes): nothing is delivered.
      const deliveryOnly = (event: Event, args: unknown[]) => event === "onAclCheck" && args[1] !== "$SYS/#";
      await withBroker(mode, ["onAclCheck"], async ({ v5, logger }) => {
        const sub = await v5();
        await sub.connect();
        assert.deepEqual((await sub.subscribe("$SYS/#", 0)).granted, [0]);
        await until(() => logger.failed("onAclCheck"), 4000, "the read check's fault");
        await sleep(1100); // a second round from the $SYS timer
        assert.deepEqual((await sub.collect(10)).filter((p) => p.cmd === "publish"), []);
      }, { sysInterval: 1, when: deliveryOnly });
    });

    it("onMessageDropped: an offline session's QoS 0 message is dropped, the observer's fault logged", async () => {
      await withBroker(mode, ["onMessageDropped"], async ({ v5, logger }) => {
        const away = await v5();
        await away.connect({ clientId: "away", clean: false, properties: { sessionExpiryInterval: 60 } });
        await away.subscribe("d", 0);
        away.destroy();
        await away.waitClosed();
        await sleep(50);
        const c = await v5();
        await c.connect();
        c.publish("d", "nobody home");
        await until(() => logger.failed("onMessageDropped"), 2000, "the drop's log");
      });
    });
  });
}
