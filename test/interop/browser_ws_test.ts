/**
 * A real browser over WebSocket: headless Chromium (Debian's `chromium`), driven by playwright-core, opens
 * examples/browser.html served by this test from 127.0.0.1 (with MQTT.js's browser bundle from node_modules, no
 * CDN), connects to the broker's WebSocket listener, subscribes, receives, and publishes back.
 *
 * playwright-core runs under Node, Deno and Bun alike (checked with Deno 2.9.6 and Bun 1.4.5). Without Chromium
 * this file fails and says how to install it: it never skips.
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import process from "node:process";
import mqtt from "mqtt";
import { chromium } from "playwright-core";
import { createWsListener } from "../../adapters/mod.ts";
import type { Broker } from "../../src/broker.ts";
import type { ClientInfo } from "../../src/hooks/hook.ts";
import { testBroker, until } from "../_helpers/broker.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const CHROMIUM_FLAGS = [
  "--no-sandbox", // the sandbox needs user namespaces; tests run as root in CI
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const LAUNCH_MS = 30_000;
const PAGE_MS = 10_000;

/** Debian's chromium, or CHROMIUM_PATH. */
function chromiumPath(): string {
  const candidates = [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser"];
  const found = candidates.find((p): p is string => p !== undefined && p !== "" && existsSync(p));
  if (found === undefined) {
    throw new Error(
      "Cannot run the browser test: Chromium is not installed (apt-get install -y chromium, as .ci/run does), " +
        "or set CHROMIUM_PATH",
    );
  }
  return found;
}

/** Serves the example page and MQTT.js's browser bundle, nothing else. */
async function pageServer(): Promise<{ server: Server; port: number }> {
  const files: Record<string, { type: string; body: string }> = {
    "/browser.html": {
      type: "text/html; charset=utf-8",
      body: await readFile(join(ROOT, "examples", "browser.html"), "utf8"),
    },
    "/mqtt.min.js": {
      type: "text/javascript; charset=utf-8",
      body: await readFile(join(ROOT, "node_modules", "mqtt", "dist", "mqtt.min.js"), "utf8"),
    },
  };
  const server = createServer((req, res) => {
    const file = files[(req.url ?? "/").split("?")[0]];
    if (file === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": file.type, "cache-control": "no-store" }).end(file.body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  return { server, port: (server.address() as { port: number }).port };
}

describe("interop: a browser (headless Chromium) over WebSocket", () => {
  let broker: Broker;
  let wsPort: number;
  let http: { server: Server; port: number } | undefined;
  let profile: string | undefined;
  let context: Awaited<ReturnType<typeof chromium.launchPersistentContext>> | undefined;
  const connected: ClientInfo[] = [];

  before(async () => {
    const executablePath = chromiumPath();
    broker = testBroker({
      hooks: [{ id: "recorder", onConnected: (info) => void connected.push({ ...info }) }],
    });
    const ws = await createWsListener({ id: "ws", host: "127.0.0.1", port: 0 });
    await broker.addListener(ws);
    await broker.listen();
    wsPort = ws.port;
    http = await pageServer();
    profile = await mkdtemp(join(tmpdir(), "comqtt-chromium-"));
    context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      args: CHROMIUM_FLAGS,
      timeout: LAUNCH_MS,
    });
  });

  after(async () => {
    await context?.close().catch(() => {});
    await new Promise<void>((resolve) => (http ? http.server.close(() => resolve()) : resolve()));
    await broker?.close();
    if (profile) await rm(profile, { recursive: true, force: true });
  });

  it("the example page subscribes over ws://, receives a message, and publishes back", async () => {
    const page = await context!.newPage();
    page.setDefaultTimeout(PAGE_MS);
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    const broker_url = `ws://127.0.0.1:${wsPort}/mqtt`;
    const query = new URLSearchParams({
      broker: broker_url,
      topic: "browser/in",
      echo: "browser/out",
      connect: "1",
    });
    await page.goto(`http://127.0.0.1:${http!.port}/browser.html?${query}`, { timeout: PAGE_MS });
    await page.waitForSelector('#status[data-state="subscribed"]', { timeout: PAGE_MS });

    const listener = await mqtt.connectAsync(`ws://127.0.0.1:${wsPort}/mqtt`, {
      reconnectPeriod: 0,
      connectTimeout: 3000,
    });
    try {
      await listener.subscribeAsync("browser/out", { qos: 1 });
      const echoes: string[] = [];
      listener.on(
        "message",
        (_topic: string, payload: Uint8Array) => echoes.push(new TextDecoder().decode(payload)),
      );
      await broker.publish("browser/in", "hello browser", { qos: 1 });
      await page.waitForSelector("#messages li", { timeout: PAGE_MS });
      assert.deepEqual(await page.locator("#messages li").allTextContents(), ["browser/in hello browser"]);
      await until(() => echoes.length > 0, PAGE_MS, "the page's echo");
      assert.deepEqual(echoes, ["echo: hello browser"]);
    } finally {
      await listener.endAsync(true);
    }
    const browserClient = connected.find((c) => c.id.startsWith("mqttjs_"));
    assert.equal(browserClient?.listener, "ws");
    assert.equal(browserClient?.protocolVersion, 5);
    assert.deepEqual(errors, []);
    await page.close();
  });
});
