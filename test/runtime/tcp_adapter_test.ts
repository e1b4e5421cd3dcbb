/**
 * Every TCP adapter on real sockets: the node:net adapter (which runs on all three runtimes) and the running
 * runtime's native adapter (Deno.listen or Bun.listen; on Node the node:net adapter is the native one).
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { createTcpListener, runtimeName, runtimeVersion } from "../../adapters/mod.ts";
import { createTcpListener as createNodeTcpListener } from "../../adapters/node/tcp.ts";
import { type CreateTcpListener, tcpScenarios } from "./_tcp_scenarios.ts";

async function nativeAdapter(): Promise<CreateTcpListener> {
  switch (runtimeName()) {
    case "deno":
      return (await import("../../adapters/deno/tcp.ts")).createTcpListener;
    case "bun":
      return (await import("../../adapters/bun/tcp.ts")).createTcpListener;
    default:
      return createNodeTcpListener;
  }
}

/** The runtime as node:process reports it (Deno and Bun add their own entry to process.versions). */
function reportedRuntime(): "deno" | "bun" | "node" {
  const versions = process.versions as Record<string, string | undefined>;
  if (versions.deno !== undefined) return "deno";
  if (versions.bun !== undefined) return "bun";
  return "node";
}

describe("adapters/mod.ts", () => {
  it("names the running runtime and its version", () => {
    const name = reportedRuntime();
    assert.equal(runtimeName(), name);
    assert.equal(runtimeVersion(), (process.versions as Record<string, string>)[name]);
    assert.match(runtimeVersion(), /^\d+\.\d+\.\d+/);
  });

  it("creates the running runtime's native adapter", async () => {
    const picked = await createTcpListener({ id: "picked", host: "127.0.0.1", port: 0 });
    const native = (await nativeAdapter())({ host: "127.0.0.1", port: 0 });
    assert.equal(picked.constructor, native.constructor);
    assert.equal(picked.id, "picked");
    assert.equal(picked.address, "127.0.0.1:0");
  });
});

tcpScenarios("node:net adapter", createNodeTcpListener);
if (runtimeName() !== "node") tcpScenarios(`${runtimeName()} native adapter`, await nativeAdapter());
