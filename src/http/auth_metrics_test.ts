import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { writeAuthMetrics } from "./auth_metrics.ts";
import { MetricsWriter } from "./prometheus.ts";
import { BackendAuthHook } from "../hooks/auth/backends/backend_hook.ts";
import { AuthChainHook } from "../hooks/auth/backends/auth_chain.ts";
import { ListenerAuthHook } from "../hooks/auth/listener_auth_hook.ts";
import { AllowHook } from "../hooks/auth/allow_hook.ts";
import type { AuthBackend } from "../hooks/auth/backends/backend.ts";
import type { ConnectPacket } from "../packets/types.ts";

const backend = (kind: string, fail: boolean): AuthBackend => ({
  kind,
  authenticate: () => (fail ? Promise.reject(new Error("down")) : Promise.resolve({ result: "allow" })),
});

describe("auth backend metrics", () => {
  it("finds backends inside chains and per-listener auth, and writes calls, errors, cache and latency", async () => {
    const http = new BackendAuthHook(backend("http", false), { id: "auth-http" });
    const redis = new BackendAuthHook(backend("redis", true), { id: "auth-redis" });
    const client = { id: "c", remoteAddress: "x", listener: "tcp", protocolVersion: 4 as const };
    const packet = {
      username: "u",
      password: new Uint8Array([1]),
      protocolVersion: 4,
    } as unknown as ConnectPacket;
    await http.onAuthenticate(client, packet);
    await http.onAuthenticate(client, packet);
    await assert.rejects(Promise.resolve(redis.onAuthenticate(client, packet)), /auth-redis unavailable/);
    const hook = new ListenerAuthHook({
      listeners: { ws: new AuthChainHook([redis, http]) },
      fallback: new AllowHook(),
    });
    const w = new MetricsWriter();
    writeAuthMetrics(w, [hook]);
    const text = w.toString();
    assert.match(text, /comqtt_auth_backend_calls_total\{backend="auth-redis",kind="redis",op="auth"\} 1/);
    assert.match(text, /comqtt_auth_backend_errors_total\{backend="auth-redis",kind="redis",op="auth"\} 1/);
    assert.match(text, /comqtt_auth_backend_calls_total\{backend="auth-http",kind="http",op="auth"\} 1/);
    assert.match(text, /comqtt_auth_cache_hits_total\{backend="auth-http",kind="http"\} 1/);
    assert.match(text, /comqtt_auth_backend_latency_seconds_count\{backend="auth-http",kind="http"\} 1/);
    const none = new MetricsWriter();
    writeAuthMetrics(none, [new AllowHook()]);
    assert.equal(none.toString().includes("comqtt_auth"), false, "no backend, no families");
  });
});
