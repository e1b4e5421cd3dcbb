/**
 * What the database helpers share: a free port, a temp dir, a child process stopped by its pid (also at exit),
 * and waiting until a port accepts connections.
 * @module
 */

import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A free 127.0.0.1 TCP port (bound and released at once). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/** A new temp dir with `prefix` (under `base`, default the OS temp dir); `remove()` deletes it. */
export function tempDir(prefix: string, base = tmpdir()): { path: string; remove(): void } {
  const path = mkdtempSync(join(base, prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Resolves once `port` on 127.0.0.1 accepts a connection; rejects after `ms` or when `alive()` turns false. */
export async function waitForPort(
  port: number,
  ms: number,
  alive: () => boolean,
  what: string,
): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!alive()) throw new Error(`${what} exited before it listened on port ${port}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} did not listen on port ${port} within ${ms} ms`);
}

/** A started server process: its output so far, and a stop that signals its pid and waits (bounded) for the exit. */
export interface ServerProcess {
  readonly child: ChildProcess;
  output(): string;
  alive(): boolean;
  stop(signal?: "SIGTERM" | "SIGKILL" | "SIGINT"): Promise<void>;
}

/** Spawn `command` with its output collected. */
export function spawnServer(command: string, args: string[], env?: Record<string, string>): ServerProcess {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], env: env ?? undefined });
  let text = "";
  let exited = false;
  child.stdout!.on("data", (c) => (text += c.toString()));
  child.stderr!.on("data", (c) => (text += c.toString()));
  const done = new Promise<void>((resolve) =>
    child.once("exit", () => {
      exited = true;
      resolve();
    })
  );
  child.once("error", () => (exited = true));
  return {
    child,
    output: () => text,
    alive: () => !exited,
    async stop(signal: "SIGTERM" | "SIGKILL" | "SIGINT" = "SIGTERM") {
      if (exited) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await done;
      clearTimeout(timer);
    },
  };
}
