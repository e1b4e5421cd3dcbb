/**
 * The dashboard of a cluster node in headless Chromium: its client table lists the clients of both nodes, each
 * with its node, and offers Disconnect only for this node's own. Runs on Node only: it starts nats-server and a
 * browser, and the page and API code are the same on every runtime (test/cluster/routing_test.ts checks the API).
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { createHttpApp, type HttpApp } from "../../src/http/http_app.ts";
import { createHttpServer, type HttpServer, runtimeName, runtimeVersion } from "../../adapters/mod.ts";
import { runsOn } from "../_helpers/runtime.ts";
import { type NatsCluster, startNats } from "../_helpers/nats.ts";
import { connect, endClients, startNode, type TestNode } from "../cluster/_cluster.ts";
import { type Browser, launchChromium } from "./_browser.ts";

// Callbacks given to page.evaluate run in the page; Deno checks this file without the DOM library.
// deno-lint-ignore no-explicit-any
declare const document: any;

if (runsOn("node")) {
  describe("dashboard of a cluster node in Chromium", () => {
    let nats: NatsCluster | undefined;
    const nodes: TestNode[] = [];
    let http: HttpApp | undefined;
    let server: HttpServer | undefined;
    let browser: Browser | undefined;
    let page: Page;

    before(async () => {
      nats = await startNats(1);
      nodes.push(await startNode("dash-a", nats.urls), await startNode("dash-b", nats.urls));
      http = createHttpApp({
        broker: nodes[0]!.broker,
        sampleIntervalMs: 250,
        runtime: { name: runtimeName(), version: runtimeVersion() },
      });
      server = await createHttpServer(http.app, { host: "127.0.0.1", port: 0 });
      await server.listen();
      http.ready = true;
      browser = await launchChromium();
      page = await browser.context.newPage();
      page.setDefaultTimeout(10_000);
    });

    after(async () => {
      await endClients();
      await browser?.close();
      http?.close();
      await server?.close();
      for (const n of nodes) await n.broker.close().catch(() => {});
      await nats?.stop();
    });

    it("lists both nodes' clients with their node, Disconnect only for its own", async () => {
      await connect(nodes[0]!.url, { clientId: "here-1" });
      await connect(nodes[1]!.url, { clientId: "there-1" });
      await page.goto(`http://127.0.0.1:${server!.port}/`);
      await page.click('a[data-tab="clients"]');
      await page.waitForSelector('#clients-table tr[data-client-id="there-1"]');
      const rows = await page.evaluate(() =>
        [...document.querySelectorAll("#clients-table tbody tr")].map((
          tr: { dataset: { clientId: string } },
        ) => ({
          id: tr.dataset.clientId,
          node: document.querySelector(`tr[data-client-id="${tr.dataset.clientId}"] td[data-label="Node"]`)
            ?.textContent,
          disconnect:
            document.querySelector(`tr[data-client-id="${tr.dataset.clientId}"] td.actions button`) !==
              null,
        }))
      );
      assert.deepEqual(rows, [
        { id: "here-1", node: "dash-a", disconnect: true },
        { id: "there-1", node: "dash-b", disconnect: false },
      ]);
      assert.equal(await page.isVisible("#clients-node"), true, "the Node column is shown");
    });
  });
}
