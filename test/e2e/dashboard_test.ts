/**
 * The dashboard in a real browser: headless Chromium opens the page served by this runtime's HTTP adapter, sees
 * a client connect and its message rate move, searches, disconnects a client, and publishes a message that an
 * MQTT.js subscriber receives. It leaves screenshots for a person to look at:
 * test-results/dashboard.png (desktop overview), test-results/dashboard-phone.png (the same at 390×844) and
 * test-results/dashboard-phone-clients.png (the clients list on a phone).
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import type { Dashboard, MqttClient } from "../http/_dashboard.ts";
import { eventually, startDashboard } from "../http/_dashboard.ts";
import type { Browser } from "./_browser.ts";
import { launchChromium } from "./_browser.ts";

// Callbacks given to page.evaluate run in the page; typed loosely here because Deno checks this file without
// the DOM library. (Strings would need eval in the page, which the dashboard's CSP rightly forbids.)
declare const document: any;
declare const window: any;

const RESULTS = fileURLToPath(new URL("../../test-results/", import.meta.url));
const WAIT_MS = 10_000;

describe("dashboard in Chromium", () => {
  let d: Dashboard;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  let sensor: MqttClient;
  let watcher: MqttClient;
  let pumping: ReturnType<typeof setInterval> | undefined;

  before(async () => {
    d = await startDashboard({ sampleIntervalMs: 250, loopbackHostOnly: true });
    browser = await launchChromium();
    page = await browser.context.newPage();
    page.setDefaultTimeout(WAIT_MS);
    page.on("pageerror", (err) => pageErrors.push(err.message));
    page.on("console", (m) => {
      if (m.type() === "error") pageErrors.push(m.text());
    });
    await mkdir(RESULTS, { recursive: true });
  });

  after(async () => {
    clearInterval(pumping);
    await browser?.close();
    await d?.close();
  });

  /** The number a stat card shows. */
  async function stat(id: string): Promise<number> {
    return Number.parseFloat((await page.textContent(`#${id}`)) ?? "NaN");
  }

  it("opens the page and goes live over the event stream", async () => {
    await page.goto(`${d.base}/`);
    await page.waitForSelector('#live-status[data-state="live"]');
    assert.equal(await page.title(), "comqtt-ts dashboard");
    assert.equal(await stat("stat-clients"), 0);
    assert.match((await page.textContent("#broker-runtime")) ?? "", /^(deno|bun|node) /);
    assert.match((await page.textContent("#listeners-table tbody")) ?? "", /127\.0\.0\.1:\d+/);
  });

  it("sees clients connect and the message rate move, then saves a screenshot", async () => {
    sensor = await d.client({ clientId: "e2e-sensor", username: "sensor-user", protocolVersion: 5 });
    watcher = await d.client({ clientId: "e2e-watcher", username: "ops" });
    await watcher.subscribeAsync("e2e/#", { qos: 1 });
    await page.waitForFunction(() => document.getElementById("stat-clients").textContent === "2");
    let n = 0;
    pumping = setInterval(() => void sensor.publish("e2e/temp", String(20 + (n++ % 5)), { qos: 0 }), 20);
    await page.waitForFunction(() =>
      Number.parseFloat(document.getElementById("stat-msg-in").textContent) > 0
    );
    assert.ok(await stat("stat-msg-out") > 0, "the watcher receives what the sensor publishes");
    // A few more samples so the chart shows a line, not a dot.
    await page.waitForTimeout(1500);
    const drawn = await page.evaluate(() => {
      const canvas = document.getElementById("chart-messages");
      const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
      let painted = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++;
      return painted;
    });
    assert.ok(drawn > 1000, `the message chart is drawn (${drawn} painted pixels)`);
    await page.screenshot({ path: `${RESULTS}dashboard.png`, fullPage: true });

    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(300); // the charts redraw after a resize (debounced)
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `no sideways scrolling on a phone (${overflow}px too wide)`);
    await page.screenshot({ path: `${RESULTS}dashboard-phone.png`, fullPage: true });
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it("lists the clients with a moving per-client rate, and searches them", async () => {
    await page.click('a[data-tab="clients"]');
    const sensorRow = page.locator('#clients-table tr[data-client-id="e2e-sensor"]');
    await sensorRow.waitFor();
    await page.waitForFunction(() => {
      const cell = document.querySelector('#clients-table tr[data-client-id="e2e-sensor"] td.rate');
      return cell !== null && Number.parseFloat(cell.textContent) > 0;
    });
    assert.equal(await sensorRow.locator("td").nth(1).textContent(), "sensor-user");
    assert.equal(await sensorRow.locator("td").nth(3).textContent(), "5.0");
    assert.equal(await page.locator("#clients-table tbody tr").count(), 2);

    await page.fill("#clients-search", "WATCH");
    await page.waitForFunction(() => document.querySelectorAll("#clients-table tbody tr").length === 1);
    assert.equal(await page.locator("#clients-table tbody tr").getAttribute("data-client-id"), "e2e-watcher");
    await page.fill("#clients-search", "ops");
    await page.waitForSelector('#clients-table tr[data-client-id="e2e-watcher"]');
    await page.fill("#clients-search", "nobody-by-that-name");
    await page.waitForSelector("#clients-empty:not([hidden])");
    await page.fill("#clients-search", "");
    await page.waitForFunction(() => document.querySelectorAll("#clients-table tbody tr").length === 2);
  });

  it("disconnects a client from its row (the button asks for a second click)", async () => {
    const victim = await d.client({ clientId: "e2e-victim", protocolVersion: 5 });
    const closed = new Promise<void>((resolve) => victim.once("close", () => resolve()));
    const row = page.locator('#clients-table tr[data-client-id="e2e-victim"]');
    await row.waitFor();
    const button = row.locator("button.disconnect");
    await button.click();
    assert.equal(await button.textContent(), "Confirm");
    assert.ok(d.broker.getClient("e2e-victim"), "one click disconnects nobody");
    await button.click();
    await closed;
    await row.waitFor({ state: "detached" });
    await page.waitForSelector(".toast >> text=Disconnected e2e-victim");
    await eventually(() => (d.broker.getClient("e2e-victim") === undefined ? true : undefined));
  });

  it("publishes a message that a subscriber receives", async () => {
    clearInterval(pumping);
    pumping = undefined;
    await page.click('a[data-tab="publish"]');
    await page.fill("#publish-topic", "e2e/from-dashboard");
    await page.fill("#publish-payload", "hello from the browser");
    await page.selectOption("#publish-qos", "1");
    // Skip the sensor's messages still in flight.
    const got = new Promise<{ topic: string; payload: string; qos: number }>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error("The subscriber got nothing from the dashboard")),
        WAIT_MS,
      );
      const onMessage = (topic: string, payload: Uint8Array, packet: { qos: number }) => {
        if (topic !== "e2e/from-dashboard") return;
        clearTimeout(timer);
        watcher.off("message", onMessage);
        resolve({ topic, payload: new TextDecoder().decode(payload), qos: packet.qos });
      };
      watcher.on("message", onMessage);
    });
    await page.click("#publish-button");
    await page.waitForSelector("#publish-result.ok");
    assert.match((await page.textContent("#publish-result")) ?? "", /Published 22 B to e2e\/from-dashboard/);
    assert.deepEqual(await got, { topic: "e2e/from-dashboard", payload: "hello from the browser", qos: 1 });
  });

  it("shows and deletes retained messages through the topic-filter box", async () => {
    await sensor.publishAsync("e2e/retained/a", "kept", { retain: true, qos: 1 });
    await sensor.publishAsync("other/retained", "elsewhere", { retain: true, qos: 1 });
    await page.click('a[data-tab="retained"]');
    await page.fill("#retained-filter", "e2e/#");
    await page.press("#retained-filter", "Enter");
    // The tab first showed "#"; wait for the filtered list.
    await page.waitForFunction(() =>
      document.getElementById("retained-meta").textContent.endsWith(" match e2e/#")
    );
    const row = page.locator('#retained-table tr[data-topic="e2e/retained/a"]');
    await row.waitFor();
    assert.equal(await page.locator('#retained-table tr[data-topic="other/retained"]').count(), 0);
    assert.equal(await row.locator("td.payload").textContent(), "kept");
    await row.locator("button.delete").click();
    await row.locator("button.delete").click();
    await row.waitFor({ state: "detached" });
    assert.equal(d.broker.getRetained("e2e/retained/a"), undefined);
    assert.ok(d.broker.getRetained("other/retained"));
  });

  it("lists clients as cards on a phone, and the page raised no error", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.click('a[data-tab="clients"]');
    await page.waitForSelector('#clients-table tr[data-client-id="e2e-sensor"]');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the clients list fits a phone (${overflow}px too wide)`);
    assert.equal(await page.isVisible("#clients-table thead"), false, "no table header: each row is a card");
    await page.evaluate(() => document.querySelectorAll(".toast").forEach((t: any) => t.remove()));
    await page.screenshot({ path: `${RESULTS}dashboard-phone-clients.png`, fullPage: true });
    assert.deepEqual(pageErrors, []);
  });
});
