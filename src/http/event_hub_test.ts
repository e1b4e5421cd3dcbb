import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { EventHub, formatEvent } from "./event_hub.ts";

async function readAll(response: Response): Promise<string> {
  return await response.text();
}

describe("EventHub", () => {
  it("formats events as SSE and sends each broadcast to every open stream", async () => {
    assert.equal(formatEvent("tick", { a: "x\ny" }), 'event: tick\ndata: {"a":"x\\ny"}\n\n');
    const hub = new EventHub();
    const first = hub.response([formatEvent("hello", 1)]);
    const second = hub.response();
    assert.equal(first.headers.get("content-type"), "text/event-stream; charset=utf-8");
    assert.equal(hub.size, 2);
    hub.broadcast("tick", { n: 1 });
    hub.closeAll();
    assert.equal(hub.size, 0);
    assert.equal(
      await readAll(first),
      'retry: 2000\n\nevent: hello\ndata: 1\n\nevent: tick\ndata: {"n":1}\n\n',
    );
    assert.equal(await readAll(second), 'retry: 2000\n\nevent: tick\ndata: {"n":1}\n\n');
    const late = hub.response([formatEvent("hello", 2)]);
    assert.equal(
      await readAll(late),
      "retry: 2000\n\nevent: hello\ndata: 2\n\n",
      "after closeAll a stream ends at once",
    );
  });

  it("forgets a stream the client cancelled, and ends one that stopped reading", async () => {
    const hub = new EventHub();
    const gone = hub.response();
    await gone.body!.cancel();
    assert.equal(hub.size, 0);
    const stalled = hub.response();
    const big = "x".repeat(300_000);
    for (let i = 0; i < 5 && hub.size > 0; i++) hub.broadcast("tick", big);
    assert.equal(hub.size, 0, "more than 1 MiB unread ends the stream");
    const text = await stalled.text();
    assert.ok(text.length > 1_000_000 && text.length < 1_300_000, String(text.length));
  });
});
