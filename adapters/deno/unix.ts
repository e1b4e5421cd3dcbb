/**
 * MQTT over a Unix domain socket on `Deno.listen({ transport: "unix" })`, with the same connection as TCP.
 * @module
 */

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
import { type DenoConn, startConnection } from "./tcp.ts";
import { type DenoServerSocket, serveEach } from "./_accept.ts";

export type { UnixListenerOptions } from "../_unix_common.ts";

interface DenoApi {
  listen(options: { transport: "unix"; path: string }): DenoServerSocket<DenoConn>;
}

/**
 * Create a Unix socket listener on Deno.listen. Nothing is bound until `listen()`.
 *
 * @example
 * ```ts
 * const listener = createUnixListener({ path: "/run/comqtt.sock", mode: 0o660 });
 * ```
 */
export function createUnixListener(options: UnixListenerOptions): Listener {
  const o = resolveUnixOptions(options);
  const deno = (globalThis as unknown as { Deno: DenoApi }).Deno;
  const identity = { id: o.id, protocol: "unix", host: o.path, port: 0, address: o.path };
  return socketListener(identity, options, async (accept) => {
    await claimSocketPath(o.path);
    let server: DenoServerSocket<DenoConn>;
    try {
      server = deno.listen({ transport: "unix", path: o.path });
    } catch (error) {
      throw listenError(o.path, 0, error);
    }
    await applyMode(o.path, o.mode);
    const remote = `unix:${o.path}`;
    const binding = serveEach(
      server,
      (conn) => startConnection(conn, o.highWaterMark, accept, { listener: o.id }, remote),
    );
    return {
      host: o.path,
      port: 0,
      close: () => {
        binding.close();
        return removeSocketFile(o.path);
      },
    };
  });
}
