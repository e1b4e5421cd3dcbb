/**
 * TCP echo probe: the running runtime's native adapter against the node:net adapter, ~3 s in all.
 *
 *   deno run -A bench/tcp_echo_bench.ts      bun bench/tcp_echo_bench.ts      node bench/tcp_echo_bench.ts
 *
 * The server (an echo handler that copies each chunk, as the broker does) runs in this process on 127.0.0.1:0.
 * The load comes from a Node child process running this file with `--client` (this Node; elsewhere `node` on
 * PATH, which must be >= 22.18, or $COMQTT_BENCH_NODE), so every adapter faces the same client.
 * Modes, each `--ms` long (default 350):
 * - pingpong: 16 connections, one 64 B message in flight each (per-message cost; round trips/s);
 * - pipelined: 4 connections streaming 64 B messages, 256 KB in flight each (many small writes per turn; MB/s);
 * - bulk: 1 connection, 16 KB chunks, 1 MB in flight (MB/s);
 * - push: the server writes 64 B messages to 1 reading connection as long as `write()` returns true and goes on
 *   at `drain()`, as the broker does for a subscriber (MB/s).
 * `--hwm BYTES` sets the adapters' highWaterMark (the push column depends on it). Server and client share the
 * machine's cores: compare the adapters with each other, not with other machines.
 * @module
 */

import { spawn } from "node:child_process";
import { connect, type Socket } from "node:net";
import process from "node:process";
import { parseArgs } from "node:util";
import type { Connection, Listener } from "../src/transport/connection.ts";
import { runtimeName, runtimeVersion, type TcpListenerOptions } from "../adapters/mod.ts";
import { createTcpListener as createNodeTcpListener } from "../adapters/node/tcp.ts";

type Mode = "pingpong" | "pipelined" | "bulk" | "push";
const MODES: Mode[] = ["pingpong", "pipelined", "bulk", "push"];
type Result = Record<Mode, number>;

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    client: { type: "boolean", default: false },
    port: { type: "string", default: "0" },
    ms: { type: "string", default: "350" },
    hwm: { type: "string" },
  },
});
const ms = Number(values.ms);

if (values.client) {
  const result = {} as Result;
  for (const mode of MODES) result[mode] = await runClient(mode, Number(values.port), ms);
  process.stdout.write(JSON.stringify(result) + "\n");
} else {
  await runServer();
}

async function runServer(): Promise<void> {
  const adapters: Array<[string, (options: TcpListenerOptions) => Listener]> = [];
  const name = runtimeName();
  if (name === "deno") {
    adapters.push(["Deno.listen", (await import("../adapters/deno/tcp.ts")).createTcpListener]);
  }
  if (name === "bun") {
    adapters.push(["Bun.listen", (await import("../adapters/bun/tcp.ts")).createTcpListener]);
  }
  adapters.push(["node:net", createNodeTcpListener]);

  console.log(`${name} ${runtimeVersion()}, client: Node child process, ${ms} ms per mode`);
  console.log("adapter       pingpong rt/s   pipelined MB/s   bulk MB/s   push MB/s");
  for (const [label, create] of adapters) {
    const options: TcpListenerOptions = { host: "127.0.0.1", port: 0 };
    if (values.hwm !== undefined) options.highWaterMark = Number(values.hwm);
    const listener = create(options);
    const open = new Set<Connection>();
    await listener.listen((connection) => {
      open.add(connection);
      let first = true;
      let pushing = false;
      const message = new Uint8Array(64).fill(0x62);
      const push = (): void => {
        while (pushing && connection.write(message));
      };
      return {
        data(bytes) {
          // A client that opens with "P" asks to be pushed to; everything else is echoed.
          if (first && bytes[0] === 0x50) {
            pushing = true;
            push();
          } else if (!pushing) connection.write(bytes.slice());
          first = false;
        },
        drain: push,
        closed() {
          pushing = false;
          open.delete(connection);
        },
      };
    });
    const result = await spawnClient(listener.port);
    await listener.close();
    for (const connection of open) connection.destroy();
    console.log(
      `${label.padEnd(13)} ${fmt(result.pingpong, 0).padStart(13)}   ${
        fmt(result.pipelined, 1).padStart(14)
      }   ${fmt(result.bulk, 1).padStart(9)}   ${fmt(result.push, 1).padStart(9)}`,
    );
  }
}

function fmt(n: number, digits: number): string {
  return n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

function spawnClient(port: number): Promise<Result> {
  // On Node, the running binary (it can run .ts); elsewhere `node` on PATH, which must be Node >= 22.18.
  const node = process.env.COMQTT_BENCH_NODE ?? (runtimeName() === "node" ? process.execPath : "node");
  const file = new URL(import.meta.url).pathname;
  const args = [file, "--client", "--port", String(port), "--ms", String(ms)];
  return new Promise((resolve, reject) => {
    const child = spawn(node, args, { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout!.on("data", (chunk: Uint8Array) => (out += new TextDecoder().decode(chunk)));
    // Bounded: a stuck client is killed (by its own pid) well after the expected run time.
    const timer = setTimeout(() => child.kill(), MODES.length * ms + 10_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(JSON.parse(out) as Result);
      else reject(new Error(`Cannot run the bench client "${node}": exit code ${code}`));
    });
  });
}

/** Load `mode` onto 127.0.0.1:port for `duration` ms; round trips/s for pingpong, received MB/s otherwise. */
async function runClient(mode: Mode, port: number, duration: number): Promise<number> {
  const shape = {
    pingpong: { connections: 16, size: 64, window: 64, batch: 1 },
    pipelined: { connections: 4, size: 64, window: 256 * 1024, batch: 64 },
    bulk: { connections: 1, size: 16 * 1024, window: 1024 * 1024, batch: 1 },
    push: { connections: 1, size: 1, window: 0, batch: 1 },
  }[mode];
  const message = new Uint8Array(shape.size).fill(0x61);
  const batch = new Uint8Array(shape.size * shape.batch).fill(0x61);
  const sockets: Socket[] = [];
  let received = 0;
  let running = true;
  await Promise.all(Array.from({ length: shape.connections }, () =>
    new Promise<void>((resolve, reject) => {
      const socket = connect({ host: "127.0.0.1", port, noDelay: true }, resolve);
      socket.on("error", reject);
      sockets.push(socket);
      let inFlight = 0;
      const fill = (): void => {
        while (running && inFlight + batch.byteLength <= shape.window) {
          socket.write(shape.batch === 1 ? message : batch);
          inFlight += batch.byteLength;
        }
      };
      socket.on("data", (chunk: Uint8Array) => {
        received += chunk.byteLength;
        if (mode === "push") return;
        inFlight -= chunk.byteLength;
        fill();
      });
      socket.once("connect", () => (mode === "push" ? socket.write("P") : fill()));
    })));
  const started = performance.now();
  const before = received;
  await new Promise((resolve) => setTimeout(resolve, duration));
  running = false;
  const seconds = (performance.now() - started) / 1000;
  const bytes = received - before;
  for (const socket of sockets) socket.destroy();
  return mode === "pingpong" ? bytes / shape.size / seconds : bytes / 1e6 / seconds;
}
