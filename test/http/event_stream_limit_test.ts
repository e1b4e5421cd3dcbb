/**
 * Live dashboard connections (Server-Sent Events) are capped by `http.maxEventStreams`: past it a new one gets
 * 503 with Retry-After instead of holding another connection and its backlog; once a page goes away, a new one
 * is taken again. Served by the running runtime's HTTP adapter on 127.0.0.1.
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { type Dashboard, EventReader, startDashboard } from "./_dashboard.ts";

describe("dashboard: live event streams are capped", () => {
  let d: Dashboard;
  const readers: EventReader[] = [];
  before(async () => {
    d = await startDashboard({ maxEventStreams: 2 });
  });
  after(async () => {
    for (const r of readers) await r.cancel().catch(() => {});
    await d.close();
  });

  it("takes maxEventStreams pages, refuses the next with 503, and takes one again after a page left", async () => {
    for (let i = 0; i < 2; i++) {
      const r = new EventReader(await d.fetch("/api/v1/events"));
      readers.push(r);
      assert.equal((await r.until("hello")).counters.clientsConnected, 0);
    }
    const refused = await d.fetch("/api/v1/events");
    assert.equal(refused.status, 503);
    assert.ok(Number(refused.headers.get("retry-after")) > 0);
    assert.match(await refused.text(), /http\.maxEventStreams is 2/);

    await readers.shift()!.cancel();
    // The server learns that the page went away when the stream is cancelled; then a new page gets in.
    const end = Date.now() + 5000;
    let status = 0;
    while (Date.now() < end) {
      const r = await d.fetch("/api/v1/events");
      status = r.status;
      if (status === 200) {
        const reader = new EventReader(r);
        readers.push(reader);
        await reader.until("hello");
        break;
      }
      await r.body?.cancel();
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(status, 200, "a page is taken again once one went away");
  });
});
