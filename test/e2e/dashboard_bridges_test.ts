/**
 * The dashboard's bridges and rules tables in a real browser (headless Chromium): a bridge to a second broker
 * and a rule, their counters moving live. Leaves test-results/dashboard-bridges.png for a person to look at.
 *
 * Runs on Node only: Chromium is slow to start, and what this adds over test/e2e/dashboard_test.ts (which runs
 * the page on every runtime's HTTP adapter) is the page script, the same bytes everywhere.
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { type Dashboard, startDashboard } from "../http/_dashboard.ts";
import { type Browser, launchChromium } from "./_browser.ts";
import { tcpBroker } from "../_helpers/broker.ts";
import { runsOn } from "../_helpers/runtime.ts";
import type { Broker } from "../../src/broker.ts";
import { compileRule } from "../../src/rules/rule.ts";
import { RuleEngine } from "../../src/rules/rule_engine.ts";
import { bridgeConfig, startBridge } from "../bridge/_bridge_setup.ts";

// Callbacks given to page.evaluate run in the page (no DOM library when Deno checks this file).
// deno-lint-ignore no-explicit-any
declare const document: any;

const RESULTS = fileURLToPath(new URL("../../test-results/", import.meta.url));

if (runsOn("node")) {
  describe("dashboard in Chromium: bridges and rules", () => {
    let d: Dashboard;
    let remote: { broker: Broker; port: number };
    let browser: Browser;
    let page: Page;
    const pageErrors: string[] = [];

    before(async () => {
      remote = await tcpBroker();
      d = await startDashboard({ sampleIntervalMs: 250, loopbackHostOnly: true });
      await startBridge(
        d.broker,
        bridgeConfig("cloud", `mqtt://127.0.0.1:${remote.port}`, {
          out: [{ from: "sensors/#", to: "site1/sensors/#", qos: 1 }],
        }),
      );
      d.broker.addHook(
        new RuleEngine({
          rules: [
            compileRule({
              id: "hot",
              sql: 'SELECT payload.t AS t FROM "sensors/#" WHERE payload.t > 30',
              actions: [],
            }),
          ],
          host: d.broker,
        }),
      );
      browser = await launchChromium();
      page = await browser.context.newPage();
      page.setDefaultTimeout(10_000);
      page.on("pageerror", (err) => pageErrors.push(err.message));
      page.on("console", (m) => {
        if (m.type() === "error") pageErrors.push(m.text());
      });
      await mkdir(RESULTS, { recursive: true });
    });

    after(async () => {
      await browser?.close();
      await d?.close();
      await remote?.broker.close();
    });

    it("lists the bridge and the rule, and their counters follow the traffic", async () => {
      await page.goto(`${d.base}/`);
      await page.waitForSelector('#live-status[data-state="live"]');
      await page.waitForFunction(() => !document.getElementById("extensions").hidden);
      assert.match((await page.textContent("#bridges-table tbody")) ?? "", /cloud.*connected/);
      for (const t of [35, 20, 40]) await d.broker.publish("sensors/a", JSON.stringify({ t }), { qos: 1 });
      await page.waitForFunction(() => {
        const row = document.querySelector("#rules-table tbody tr");
        return row !== null && row.textContent.includes("hot") && row.children[1].textContent === "3" &&
          row.children[2].textContent === "2";
      });
      await page.waitForFunction(() =>
        document.querySelector("#bridges-table tbody tr").children[4].textContent.startsWith("3 /")
      );
      await page.screenshot({ path: `${RESULTS}dashboard-bridges.png`, fullPage: true });
      assert.deepEqual(pageErrors, []);
    });
  });
}
