/**
 * Password checks cannot be used to burn the CPU: 500 CONNECTs with wrong passwords within 5 s (from another
 * address, 127.0.0.2) do not stop a valid user from getting CONNACK within 1 s, with the users file's real PBKDF2
 * cost. The broker runs in a process of its own so its stalls show. Real TCP sockets through the running
 * runtime's adapter.
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import net from "node:net";
import mqtt from "mqtt-packet";
import { type ChildBroker, startChildBroker } from "./_child.ts";

const ATTACKS = 500;
const ATTACK_MS = 5_000;

/** Open a socket from `localAddress`, send CONNECT, resolve with the CONNACK's code (or "closed"). */
function tryConnect(
  port: number,
  localAddress: string,
  username: string,
  password: string,
  sockets: Set<net.Socket>,
): Promise<number | "closed"> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port, localAddress });
    sockets.add(socket);
    const parser = mqtt.parser({ protocolVersion: 4 });
    parser.on("packet", (p: { cmd: string; returnCode?: number }) => {
      if (p.cmd === "connack") resolve(p.returnCode!);
      socket.destroy();
    });
    socket.on("data", (b: Buffer) => parser.parse(b));
    socket.on("error", () => {});
    socket.on("close", () => {
      sockets.delete(socket);
      resolve("closed");
    });
    socket.on("connect", () => {
      socket.write(mqtt.generate({
        cmd: "connect",
        protocolId: "MQTT",
        protocolVersion: 4,
        clean: true,
        clientId: "",
        keepalive: 0,
        username,
        password: Buffer.from(password),
      }));
    });
  });
}

describe("a flood of wrong passwords", () => {
  let child: ChildBroker;
  const sockets = new Set<net.Socket>();
  before(async () => {
    child = await startChildBroker({ users: { valid: "right-password", other: "other-password" } });
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await child.stop();
  });

  it("500 wrong CONNECTs in 5 s; the valid user gets CONNACK within 1 s every time", async () => {
    const attacks: Promise<number | "closed">[] = [];
    const start = Date.now();
    const attacker = (async () => {
      for (let i = 0; i < ATTACKS; i++) {
        // Half guess the valid user's password, half try names that do not exist.
        const name = i % 2 === 0 ? "valid" : `nobody-${i}`;
        attacks.push(tryConnect(child.port, "127.0.0.2", name, `guess-${i}`, sockets));
        const due = start + ((i + 1) * ATTACK_MS) / ATTACKS;
        const wait = due - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
    })();
    const timings: number[] = [];
    await new Promise((r) => setTimeout(r, 300));
    while (Date.now() - start < ATTACK_MS) {
      const t0 = performance.now();
      const code = await tryConnect(child.port, "127.0.0.1", "valid", "right-password", sockets);
      const ms = performance.now() - t0;
      timings.push(ms);
      assert.equal(code, 0, `the valid user was refused (${code}) after ${ms.toFixed(0)} ms`);
      await new Promise((r) => setTimeout(r, 250));
    }
    await attacker;
    const worst = Math.max(...timings);
    if ((globalThis as { process?: { env: Record<string, string> } }).process?.env.SHOW_TIMES) {
      console.log(`valid CONNACKs: ${timings.length}, slowest ${worst.toFixed(0)} ms`);
    }
    assert.ok(timings.length >= 10, `valid logins tried: ${timings.length}`);
    assert.ok(worst < 1000, `slowest valid CONNACK ${worst.toFixed(0)} ms, expected under 1000 ms`);
    // None of the wrong ones got in.
    for (const s of sockets) s.destroy();
    const results = await Promise.all(attacks);
    assert.equal(results.filter((r) => r === 0).length, 0);
  });
});
