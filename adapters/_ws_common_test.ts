import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { checkUpgrade, chooseSubprotocol, resolveWsOptions } from "./_ws_common.ts";

describe("chooseSubprotocol", () => {
  it('prefers "mqtt" [MQTT-6.0.0-4], takes "mqttv3.1", and nothing else', () => {
    assert.equal(chooseSubprotocol("mqttv3.1, mqtt"), "mqtt");
    assert.equal(chooseSubprotocol("mqttv3.1,mqtt"), "mqtt");
    assert.equal(chooseSubprotocol("mqttv3.1"), "mqttv3.1");
    assert.equal(chooseSubprotocol("chat, MQTT"), undefined);
    assert.equal(chooseSubprotocol(""), undefined);
    assert.equal(chooseSubprotocol(null), undefined);
  });
});

describe("checkUpgrade", () => {
  const upgrade = { method: "GET", url: "/mqtt?x=1", upgrade: "websocket", protocol: "mqtt" };
  it("accepts an upgrade on the path, also given as a full URL", () => {
    assert.deepEqual(checkUpgrade(upgrade, "/mqtt"), { protocol: "mqtt" });
    assert.deepEqual(checkUpgrade({ ...upgrade, url: "http://h:1/mqtt" }, "/mqtt"), { protocol: "mqtt" });
  });
  it("refuses another path (404), plain HTTP (426) and a missing subprotocol (400)", () => {
    assert.equal((checkUpgrade({ ...upgrade, url: "/other" }, "/mqtt") as { status: number }).status, 404);
    assert.equal((checkUpgrade({ ...upgrade, upgrade: null }, "/mqtt") as { status: number }).status, 426);
    assert.equal((checkUpgrade({ ...upgrade, method: "POST" }, "/mqtt") as { status: number }).status, 426);
    assert.deepEqual(checkUpgrade({ ...upgrade, protocol: "chat" }, "/mqtt"), {
      status: 400,
      message: 'Bad request: offer the WebSocket subprotocol "mqtt" (or "mqttv3.1"), received "chat"\n',
    });
  });
});

describe("resolveWsOptions", () => {
  it("fills in the defaults", () => {
    const { logger: _logger, ...rest } = resolveWsOptions();
    assert.deepEqual(rest, {
      id: "ws",
      host: "0.0.0.0",
      port: 1882,
      path: "/mqtt",
      highWaterMark: 1024 * 1024,
      maxMessageSize: 16 * 1024 * 1024,
      maxConnections: 0,
    });
  });
  it("names the listener and the option", () => {
    assert.throws(() => resolveWsOptions({ maxMessageSize: 1 }), {
      name: "RangeError",
      message:
        'Cannot create WebSocket listener "ws": maxMessageSize must be a whole number >= 2, received 1',
    });
    assert.throws(() => resolveWsOptions({ id: "" }), TypeError);
  });
});
