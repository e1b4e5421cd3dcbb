/**
 * MQTT over a Unix domain socket on `node:net` (also the fallback under Deno and Bun).
 * @module
 */

import { createServer } from "node:net";
import type { Listener } from "../../src/transport/connection.ts";
import { socketListener } from "../_listener.ts";
import { listenError } from "../_tcp_common.ts";
import {
  applyMode,
  claimSocketPath,
  removeSocketFile,
  resolveUnixOptions,
  type UnixListenerOptions,
} from "../_unix_common.ts";
import { startSocket } from "./tcp.ts";

export type { UnixListenerOptions } from "../_unix_common.ts";

/**
 * Create a Unix socket listener on node:net. Nothing is bound until `listen()`.
 *
 * @example
 * ```ts
 * const listener = createUnixListener({ path: "/run/comqtt.sock", mode: 0o660 });
 * ```
 */
export function createUnixListener(options: UnixListenerOptions): Listener {
  const o = resolveUnixOptions(options);
  const identity = { id: o.id, protocol: "unix", host: o.path, port: 0, address: o.path };
  return socketListener(identity, options, async (accept) => {
    await claimSocketPath(o.path);
    const server = createServer({ allowHalfOpen: true }, (socket) => {
      startSocket(socket, o.highWaterMark, accept, { listener: o.id }, `unix:${o.path}`);
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", (error) => reject(listenError(o.path, 0, error)));
      server.listen({ path: o.path }, () => resolve());
    });
    server.on("error", () => {}); // accept-time errors (EMFILE...) must not crash the process
    await applyMode(o.path, o.mode);
    return {
      host: o.path,
      port: 0,
      close: () => {
        server.close();
        return removeSocketFile(o.path);
      },
    };
  });
}
