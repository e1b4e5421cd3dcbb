/**
 * CONNECTs per second through the auth backends: the users file (PBKDF2, its success cache off and on) next to
 * the HTTP backend with a cold decision cache (every CONNECT asks the service) and a warm one (none does).
 *
 *   node bench/auth_bench.ts [--seconds 3] [--concurrency 16]   |  deno run -A bench/auth_bench.ts  |  bun ...
 *
 * One process: the broker (on the running runtime's TCP adapter), an HTTP auth service on node:http, and the
 * connect loops (node:net, hand-built CONNECT bytes, DISCONNECT after the CONNACK). So the figures include the
 * service's and the client's CPU on the same cores; they compare the paths, they are not a capacity figure.
 * Bounded: each case runs `--seconds` after a short warm-up.
 * @module
 */

import { Buffer } from "node:buffer";
import http from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import { generate } from "mqtt-packet";
import { Broker } from "../src/broker.ts";
import type { Hook } from "../src/hooks/hook.ts";
import { createTcpListener } from "../adapters/mod.ts";
import { FileAuthHook } from "../src/hooks/auth/file_auth_hook.ts";
import { hashPassword } from "../src/hooks/auth/password.ts";
import { BackendAuthHook } from "../src/hooks/auth/backends/backend_hook.ts";
import { HttpBackend } from "../src/hooks/auth/backends/http_backend.ts";

const { values } = parseArgs({
  options: { seconds: { type: "string", default: "3" }, concurrency: { type: "string", default: "16" } },
});
const SECONDS = Math.min(Number(values.seconds), 20);
const CONCURRENCY = Math.min(Number(values.concurrency), 256);
const runtime = "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : "node";

function connectBytes(clientId: string): Buffer {
  return generate({
    cmd: "connect",
    protocolId: "MQTT",
    protocolVersion: 4,
    clean: true,
    clientId,
    keepalive: 0,
    username: "alice",
    password: Buffer.from("alice-pw"),
  });
}
const DISCONNECT = Buffer.from([0xe0, 0]);

/** One CONNECT → CONNACK → DISCONNECT; resolves with the return code. */
function once(port: number, bytes: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let got = Buffer.alloc(0);
    socket.setNoDelay(true);
    socket.on("connect", () => socket.write(bytes));
    socket.on("data", (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      if (got.length >= 4) {
        socket.end(DISCONNECT);
        resolve(got[3]!);
      }
    });
    socket.on("error", reject);
    socket.setTimeout(10_000, () => {
      socket.destroy();
      reject(new Error("no CONNACK within 10 s"));
    });
  });
}

/** Run `CONCURRENCY` loops for `seconds`; `idFor(loop, n)` names each CONNECT's client id. */
async function measure(
  port: number,
  seconds: number,
  idFor: (loop: number, n: number) => string,
): Promise<number> {
  let count = 0;
  let failures = 0;
  const end = performance.now() + seconds * 1000;
  const loops = Array.from({ length: CONCURRENCY }, async (_, loop) => {
    for (let n = 0; performance.now() < end; n++) {
      const code = await once(port, connectBytes(idFor(loop, n)));
      if (code === 0) count++;
      else failures++;
    }
  });
  const started = performance.now();
  await Promise.all(loops);
  if (failures > 0) throw new Error(`${failures} CONNECTs were refused`);
  return count / ((performance.now() - started) / 1000);
}

async function withBroker<T>(hook: Hook, run: (port: number) => Promise<T>): Promise<T> {
  const broker = new Broker({ hooks: [hook], sysInterval: 0 });
  const listener = await createTcpListener({ id: "tcp", host: "127.0.0.1", port: 0 });
  await broker.addListener(listener);
  await broker.listen();
  try {
    return await run(listener.port);
  } finally {
    await broker.close();
  }
}

let serviceCalls = 0;
const service = http.createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    serviceCalls++;
    res.writeHead(200, { "content-type": "application/json" }).end(`{"result":"allow"}`);
  });
});
await new Promise<void>((resolve) => service.listen(0, "127.0.0.1", () => resolve()));
const url = `http://127.0.0.1:${(service.address() as AddressInfo).port}/auth`;

const rows: Array<[string, number, string]> = [];
const warm = SECONDS / 3;
const hash = await hashPassword("alice-pw");
const users = { users: { alice: { password: hash } } };

let unique = 0;
const fresh = () => `b${++unique}`;

rows.push([
  "file (PBKDF2 310k, success cache off)",
  await withBroker(new FileAuthHook(users, { cacheSeconds: 0 }), (port) => measure(port, SECONDS, fresh)),
  "every CONNECT derives the key",
]);
rows.push([
  "file (PBKDF2 310k, success cache on)",
  await withBroker(new FileAuthHook(users), async (port) => {
    await measure(port, warm, fresh);
    return await measure(port, SECONDS, fresh);
  }),
  "the default",
]);
rows.push([
  "file (success cache on), same client ids",
  await withBroker(new FileAuthHook(users), async (port) => {
    await measure(port, warm, (loop) => `f${loop}`);
    return await measure(port, SECONDS, (loop) => `f${loop}`);
  }),
  "as the warm http case reconnects",
]);
rows.push([
  "http, cold cache",
  await withBroker(new BackendAuthHook(new HttpBackend({ url })), async (port) => {
    const before = serviceCalls;
    const rate = await measure(port, SECONDS, fresh);
    rows.push(["", 0, `(service calls: ${serviceCalls - before})`]);
    return rate;
  }),
  "a new client id each time: one POST per CONNECT",
]);
rows.push([
  "http, warm cache",
  await withBroker(new BackendAuthHook(new HttpBackend({ url })), async (port) => {
    await measure(port, warm, (loop) => `w${loop}`);
    const before = serviceCalls;
    const rate = await measure(port, SECONDS, (loop) => `w${loop}`);
    rows.push(["", 0, `(service calls while measuring: ${serviceCalls - before})`]);
    return rate;
  }),
  "the same clients reconnecting",
]);
service.close();

console.log(`auth CONNECTs/s on ${runtime}, ${CONCURRENCY} concurrent connect loops, ${SECONDS} s per case`);
for (const [name, rate, note] of rows) {
  if (name === "") console.log(`${"".padEnd(40)} ${"".padStart(9)}  ${note}`);
  else console.log(`${name.padEnd(40)} ${rate.toFixed(0).padStart(9)}  ${note}`);
}
