/**
 * `workers: 2` through the real CLI for tests: start it on a free port in a temp dir, and MQTT.js clients that
 * learn which worker they landed on (from the retained `$SYS/broker/cluster/node` of their worker).
 * @module
 */

import mqtt from "mqtt";
import { after, before } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { finishProcess, killLeftovers, type Run, signalProcess, startCli } from "../_helpers/cli_process.ts";

export type MqttClient = Awaited<ReturnType<typeof mqtt.connectAsync>>;

/** The CLI running `workers: N`. */
export interface Workers {
  run: Run;
  port: number;
  url: string;
  stop(): Promise<{ code: number | null; output: string }>;
}

/** Start the CLI with `workers` workers on 127.0.0.1:`port` (0: any free one); `extra` is more YAML. */
export async function startWorkers(workers = 2, extra = "", askPort = 0): Promise<Workers> {
  const dir = await mkdtemp(join(tmpdir(), "comqtt-workers-"));
  const file = join(dir, "workers.yaml");
  await writeFile(
    file,
    [
      `workers: ${workers}`,
      `listeners: [{ type: tcp, address: "127.0.0.1:${askPort}" }]`,
      "auth: { type: allow }",
      "sys: { interval: 1 }",
      extra,
    ].join("\n"),
  );
  const run = startCli(["--config", file]);
  try {
    await run.waitFor(new RegExp(`${workers} workers running`));
  } catch (err) {
    signalProcess(run, "SIGKILL");
    throw err;
  }
  const port = Number(run.output().match(/listening .*address=127\.0\.0\.1:(\d+)/)![1]);
  return {
    run,
    port,
    url: `mqtt://127.0.0.1:${port}`,
    async stop() {
      signalProcess(run, "SIGTERM");
      try {
        return await finishProcess(run, 15_000);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

/** A client with what it received and the worker it is on. */
export interface Probe {
  client: MqttClient;
  id: string;
  worker: string;
  /** Session Present of the CONNACK. */
  sessionPresent: boolean;
  received: Array<{ topic: string; payload: string; qos: number }>;
}

const decoder = new TextDecoder();

/** Connect a client and find out which worker took it (waits for that worker's $SYS, at most 5 s). */
export async function probe(url: string, id: string, options: mqtt.IClientOptions = {}): Promise<Probe> {
  // The handler before CONNACK: a resumed session's queued messages may come in the same read.
  const client = mqtt.connect(url, { clientId: id, reconnectPeriod: 0, ...options });
  const p: Probe = { client, id, worker: "", sessionPresent: false, received: [] };
  let found!: () => void;
  const known = new Promise<void>((r) => (found = r));
  client.on("message", (topic, payload, packet) => {
    if (topic === "$SYS/broker/cluster/node") {
      p.worker = decoder.decode(payload);
      found();
      return;
    }
    p.received.push({ topic, payload: decoder.decode(payload), qos: packet.qos });
  });
  await new Promise<void>((resolve, reject) => {
    client.once("connect", (connack) => {
      p.sessionPresent = connack.sessionPresent;
      resolve();
    });
    client.once("error", reject);
  });
  await client.subscribeAsync("$SYS/broker/cluster/node");
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([known, new Promise<void>((r) => (timer = setTimeout(r, 5000)))]);
  clearTimeout(timer);
  await client.unsubscribeAsync("$SYS/broker/cluster/node");
  if (p.worker === "") throw new Error(`client ${id}: no $SYS/broker/cluster/node within 5 s`);
  return p;
}

/** Client options, the same for every probe or per client id. */
export type ProbeOptions = mqtt.IClientOptions | ((id: string) => mqtt.IClientOptions);

const optionsFor = (options: ProbeOptions, id: string) =>
  typeof options === "function" ? options(id) : options;

/** Connect `n` probes named `{prefix}{i}`. */
export async function probes(url: string, prefix: string, n: number, options: ProbeOptions = {}) {
  return await Promise.all(
    Array.from({ length: n }, (_, i) => probe(url, `${prefix}${i}`, optionsFor(options, `${prefix}${i}`))),
  );
}

/**
 * At least `n` probes, with more connected (up to 32 in all) until both workers have at least two: the kernel's
 * spread of a few connections over the workers is uneven (8 connections all on one worker was seen often).
 */
export async function probesOnBoth(url: string, prefix: string, n: number, options: ProbeOptions = {}) {
  const ps = await probes(url, prefix, n, options);
  const on = (w: string) => ps.filter((p) => p.worker === w).length;
  while ((on("worker-0") < 2 || on("worker-1") < 2) && ps.length < 32) {
    const id = `${prefix}${ps.length}`;
    ps.push(await probe(url, id, optionsFor(options, id)));
  }
  return ps;
}

/** The distinct workers `ps` are on. */
export function workersOf(ps: readonly Probe[]): string[] {
  return [...new Set(ps.map((p) => p.worker))].sort();
}

/** Wait until `done()` holds, polling; false after `ms`. */
export async function until(done: () => boolean, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!done()) {
    if (Date.now() > end) return false;
    await sleep(20);
  }
  return true;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** End every client, ignoring ones already gone. */
export async function endAll(ps: readonly Probe[]): Promise<void> {
  await Promise.all(ps.map((p) => p.client.endAsync(true).catch(() => {})));
}

/**
 * For a describe: the CLI with two workers starts before its tests; after them, the clients pushed to `clients`
 * end and the CLI stops, which must exit 0.
 */
export function withWorkers(): { readonly w: Workers; readonly clients: Probe[] } {
  let w: Workers | undefined;
  const clients: Probe[] = [];
  before(async () => {
    w = await startWorkers(2);
  });
  after(async () => {
    await endAll(clients);
    const { code } = await w!.stop();
    killLeftovers();
    assert.equal(code, 0);
  });
  return {
    get w() {
      return w!;
    },
    clients,
  };
}
