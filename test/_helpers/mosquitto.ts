/**
 * A real Mosquitto broker for tests: started from /usr/sbin/mosquitto with a config in a temp dir on a free
 * 127.0.0.1 port, stopped (and restarted on the same port, with its persistence file) by pid.
 * @module
 */

import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Run, signalProcess, startProcess } from "./cli_process.ts";

export const MOSQUITTO = "/usr/sbin/mosquitto";

/** A free TCP port on 127.0.0.1 (bound, then released). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Resolve once something accepts TCP connections on `port`, or reject after `ms`. */
export async function waitForPort(port: number, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = new Socket();
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => {
        socket.destroy();
        resolve(false);
      });
      socket.connect(port, "127.0.0.1");
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`nothing listens on 127.0.0.1:${port} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Options of {@link startMosquitto}. */
export interface MosquittoOptions {
  /** Keep sessions and queued messages in a file across restarts. Default true. */
  persistence?: boolean;
  /** Extra config lines (bridges, TLS listeners). */
  extra?: string[];
  /** Use this port (a restart keeps the port). */
  port?: number;
  /** Make the listener TLS: PEM file paths; `requireCertificate` asks clients for one signed by `ca`. */
  tls?: { ca: string; cert: string; key: string; requireCertificate: boolean };
}

/** A running (or stopped) Mosquitto. */
export interface Mosquitto {
  port: number;
  dir: string;
  run: Run;
  /** Stop it: SIGTERM saves its database first, SIGKILL does not. Resolves once it has exited. */
  stop(signal?: "SIGTERM" | "SIGKILL"): Promise<void>;
  /** Start it again on the same port with the same config and database. */
  restart(): Promise<void>;
  /** Stop it and remove its temp dir. */
  cleanup(): Promise<void>;
}

/** Start Mosquitto; resolves once it accepts connections. */
export async function startMosquitto(options: MosquittoOptions = {}): Promise<Mosquitto> {
  const dir = await mkdtemp(join(tmpdir(), "comqtt-mosq-"));
  const port = options.port ?? await freePort();
  const lines = [
    `listener ${port} 127.0.0.1`,
    ...(options.tls === undefined ? [] : [
      `cafile ${options.tls.ca}`,
      `certfile ${options.tls.cert}`,
      `keyfile ${options.tls.key}`,
      `require_certificate ${options.tls.requireCertificate}`,
    ]),
    "allow_anonymous true",
    // Run as root (CI containers): keep root instead of switching to a user that cannot write the temp dir.
    "user root",
    "log_dest stdout",
    "log_type error",
    "log_type warning",
    "log_type notice",
    "max_queued_messages 100000",
    ...(options.persistence === false
      ? []
      : ["persistence true", `persistence_location ${dir}/`, "autosave_interval 1"]),
    ...(options.extra ?? []),
  ];
  const conf = join(dir, "mosquitto.conf");
  await writeFile(conf, lines.join("\n") + "\n");
  const launch = async (): Promise<Run> => {
    const run = startProcess(MOSQUITTO, ["-c", conf], { cwd: dir });
    await Promise.race([
      waitForPort(port),
      run.exited.then(() => {
        throw new Error(`mosquitto exited at start:\n${run.output()}`);
      }),
    ]);
    return run;
  };
  const m: Mosquitto = {
    port,
    dir,
    run: await launch(),
    async stop(signal = "SIGTERM") {
      if (m.run.child.exitCode !== null || m.run.child.signalCode !== null) return;
      signalProcess(m.run, signal);
      await m.run.exited;
    },
    async restart() {
      await m.stop();
      m.run = await launch();
    },
    async cleanup() {
      await m.stop("SIGKILL");
      await rm(dir, { recursive: true, force: true });
    },
  };
  return m;
}
