/**
 * nats-server (Debian's, with JetStream) for tests: one server or a 3-server NATS cluster, each on free
 * 127.0.0.1 ports with its store in a temp dir, stopped by pid.
 * @module
 */

import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Run, signalProcess, startProcess } from "./cli_process.ts";

export const NATS_SERVER = "/usr/sbin/nats-server";

/** One running nats-server. */
export interface NatsServer {
  readonly url: string;
  readonly port: number;
  readonly run: Run;
  /** kill -9 it. */
  kill(): Promise<void>;
  /** Start it again on the same ports and store. */
  restart(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (the OS picks one, we release it at once). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

/** A set of servers and the temp dir they store into; `stop()` kills every one. */
export interface NatsCluster {
  readonly servers: NatsServer[];
  readonly urls: string[];
  stop(): Promise<void>;
}

/** Start `count` nats-servers with JetStream (clustered when count > 1). */
export async function startNats(count = 1): Promise<NatsCluster> {
  const dir = await mkdtemp(join(tmpdir(), "comqtt-nats-"));
  const ports = await Promise.all(Array.from({ length: count }, () => freePort()));
  const routePorts = count > 1 ? await Promise.all(ports.map(() => freePort())) : [];
  const servers: NatsServer[] = [];
  for (let i = 0; i < count; i++) {
    const args = ["-a", "127.0.0.1", "-p", String(ports[i]), "-js", "-sd", join(dir, `s${i}`), "-n", `s${i}`];
    if (count > 1) {
      args.push(
        "--cluster_name",
        "test",
        "--cluster",
        `nats://127.0.0.1:${routePorts[i]}`,
        "--routes",
        routePorts.filter((_, j) => j !== i).map((p) => `nats://127.0.0.1:${p}`).join(","),
      );
    }
    let run = startProcess(NATS_SERVER, args);
    const server: NatsServer = {
      url: `nats://127.0.0.1:${ports[i]}`,
      port: ports[i]!,
      get run() {
        return run;
      },
      async kill() {
        signalProcess(run, "SIGKILL");
        await run.exited;
      },
      async restart() {
        run = startProcess(NATS_SERVER, args);
        await run.waitFor(/Server is ready/, 10_000);
      },
    };
    servers.push(server);
  }
  await Promise.all(servers.map((s) => s.run.waitFor(/Server is ready/, 10_000)));
  if (count > 1) {
    // JetStream needs a meta leader before buckets can be made.
    await Promise.race(
      servers.map((s) =>
        s.run.waitFor(
          /JetStream cluster new metadata leader|Self is new JetStream cluster metadata leader/,
          15_000,
        )
      ),
    );
  }
  return {
    servers,
    urls: servers.map((s) => s.url),
    async stop() {
      for (const s of servers) {
        signalProcess(s.run, "SIGKILL");
        await s.run.exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
