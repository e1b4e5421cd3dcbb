/**
 * MQTT over a Unix domain socket on `Bun.listen({ unix })`, with the same connection as TCP.
 * @module
 */

import type { Listener } from "../../src/transport/connection.ts";
import { socketListener } from "../_listener.ts";
import {
  applyMode,
  claimSocketPath,
  removeSocketFile,
  resolveUnixOptions,
  type UnixListenerOptions,
} from "../_unix_common.ts";
import { bunListen, type BunSocket, connect, socketHandlers } from "./tcp.ts";

export type { UnixListenerOptions } from "../_unix_common.ts";

/**
 * Create a Unix socket listener on Bun.listen. Nothing is bound until `listen()`.
 *
 * @example
 * ```ts
 * const listener = createUnixListener({ path: "/run/comqtt.sock", mode: 0o660 });
 * ```
 */
export function createUnixListener(options: UnixListenerOptions): Listener {
  const o = resolveUnixOptions(options);
  const identity = { id: o.id, protocol: "unix", host: o.path, port: 0, address: o.path };
  const remote = `unix:${o.path}`;
  return socketListener(identity, options, async (accept) => {
    await claimSocketPath(o.path);
    const binding = bunListen<BunSocket>({
      unix: o.path,
      allowHalfOpen: true,
      socket: socketHandlers({
        open: (socket) => void connect(socket, o.highWaterMark, remote).open(accept, { listener: o.id }),
      }),
    });
    await applyMode(o.path, o.mode);
    return {
      host: o.path,
      port: 0,
      close: async () => {
        await binding.close();
        await removeSocketFile(o.path);
      },
    };
  });
}
