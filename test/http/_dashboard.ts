/**
 * A broker on an ephemeral TCP port with its dashboard served by the running runtime's HTTP adapter on another,
 * both on 127.0.0.1; MQTT.js clients for it; bounded waits. Every test stops what it started with `close()`.
 * @module
 */

import mqtt from "mqtt";
import type { Broker } from "../../src/broker.ts";
import type { HttpAuthConfig } from "../../src/config/config.ts";
import { createHttpApp } from "../../src/http/http_app.ts";
import type { HttpApp } from "../../src/http/http_app.ts";
import { createHttpServer, runtimeName, runtimeVersion } from "../../adapters/mod.ts";
import type { HttpServer } from "../../adapters/mod.ts";
import { tcpBroker } from "../_helpers/broker.ts";

/** An MQTT.js client. */
export type MqttClient = Awaited<ReturnType<typeof mqtt.connectAsync>>;

/** A running broker with its dashboard. */
export interface Dashboard {
  broker: Broker;
  http: HttpApp;
  server: HttpServer;
  /** `http://127.0.0.1:PORT` of the dashboard. */
  base: string;
  /** `mqtt://127.0.0.1:PORT` of the broker. */
  mqttUrl: string;
  /** Connect an MQTT.js client (closed by `close()`). */
  client(options?: Record<string, unknown>): Promise<MqttClient>;
  /** `fetch` relative to `base`. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** Stop clients, the HTTP server and the broker. */
  close(): Promise<void>;
}

/** Options of {@link startDashboard}. */
export interface DashboardOptions {
  auth?: HttpAuthConfig;
  config?: unknown;
  sampleIntervalMs?: number;
  loopbackHostOnly?: boolean;
  maxEventStreams?: number;
}

/** Start a broker (anonymous clients allowed) and its dashboard. */
export async function startDashboard(options: DashboardOptions = {}): Promise<Dashboard> {
  const { broker, port } = await tcpBroker();
  const http = createHttpApp({
    broker,
    auth: options.auth,
    config: options.config,
    loopbackHostOnly: options.loopbackHostOnly,
    maxEventStreams: options.maxEventStreams,
    sampleIntervalMs: options.sampleIntervalMs ?? 100,
    runtime: { name: runtimeName(), version: runtimeVersion() },
  });
  const server = await createHttpServer(http.app, { host: "127.0.0.1", port: 0 });
  await server.listen();
  http.ready = true;
  const base = `http://127.0.0.1:${server.port}`;
  const mqttUrl = `mqtt://127.0.0.1:${port}`;
  const clients: MqttClient[] = [];
  return {
    broker,
    http,
    server,
    base,
    mqttUrl,
    async client(clientOptions = {}) {
      const c = await mqtt.connectAsync(mqttUrl, {
        reconnectPeriod: 0,
        connectTimeout: 3000,
        ...clientOptions,
      });
      clients.push(c);
      return c;
    },
    fetch: (path, init) => fetch(base + path, init),
    async close() {
      for (const c of clients) await c.endAsync(true).catch(() => {});
      http.close();
      await server.close();
      await broker.close();
    },
  };
}

/** JSON of a response, with its status checked first (the body is in the failure message). */
export async function json(response: Response | Promise<Response>, status = 200): Promise<any> {
  const r = await response;
  const text = await r.text();
  if (r.status !== status) throw new Error(`Expected HTTP ${status}, got ${r.status}: ${text}`);
  return JSON.parse(text);
}

/** POST/DELETE with a JSON body. */
export function send(method: string, body?: unknown, headers: Record<string, string> = {}): RequestInit {
  return body === undefined ? { method, headers } : {
    method,
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  };
}

/** Resolve with the next message `c` receives, or reject after `ms`. */
export function nextMessage(
  c: MqttClient,
  ms = 3000,
): Promise<{ topic: string; payload: string; packet: any }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`No message within ${ms} ms`)), ms);
    c.once("message", (topic: string, payload: Uint8Array, packet: unknown) => {
      clearTimeout(timer);
      resolve({ topic, payload: new TextDecoder().decode(payload), packet });
    });
  });
}

/** Poll `check` until it returns a value other than undefined, or fail after `ms`. */
export async function eventually<T>(
  check: () => T | undefined | Promise<T | undefined>,
  ms = 3000,
  what = "condition",
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Reads Server-Sent Events from a response, one at a time, each read bounded in time. */
export class EventReader {
  #reader: ReadableStreamDefaultReader<string>;
  #buffer = "";

  constructor(response: Response) {
    this.#reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  }

  /** The next event (`undefined` when the stream ended), or reject after `ms`. */
  async next(ms = 3000): Promise<{ event: string; data: any } | undefined> {
    const end = Date.now() + ms;
    for (;;) {
      const cut = this.#buffer.indexOf("\n\n");
      if (cut >= 0) {
        const block = this.#buffer.slice(0, cut);
        this.#buffer = this.#buffer.slice(cut + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event !== undefined && data !== undefined) return { event, data: JSON.parse(data) };
        continue;
      }
      const left = end - Date.now();
      if (left <= 0) throw new Error(`No event within ${ms} ms`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`No event within ${ms} ms`)), left);
      });
      try {
        const { done, value } = await Promise.race([this.#reader.read(), timeout]);
        if (done) return undefined;
        this.#buffer += value;
      } finally {
        clearTimeout(timer);
      }
    }
  }

  /** Read events until one named `event` passes `accept`. */
  async until(event: string, accept: (data: any) => boolean = () => true, ms = 3000): Promise<any> {
    const end = Date.now() + ms;
    for (;;) {
      const e = await this.next(Math.max(1, end - Date.now()));
      if (e === undefined) throw new Error(`The stream ended before a matching "${event}" event`);
      if (e.event === event && accept(e.data)) return e.data;
    }
  }

  /** Stop reading (cancels the response body). */
  async cancel(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
  }
}
