/**
 * Bind a node:net / node:tls / node:http server, the one way every Node listener does it.
 * @module
 */

import type { Server } from "node:net";
import { listenError } from "../_tcp_common.ts";
import type { Binding } from "../_listener.ts";

/**
 * Listen on host:port. Resolves with the bound address (the real port when 0 was asked for) and a `close` that
 * stops accepting (its connections are the broker's to close); rejects with
 * {@link listenError} and closes the server when binding fails. Once bound, accept-time errors (EMFILE...)
 * are ignored so that they never crash the process: the listener keeps going.
 */
export function bindServer(
  server: Server,
  host: string,
  port: number,
  reusePort = false,
): Promise<Binding> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => {
      server.close();
      reject(listenError(host, port, error));
    };
    server.once("error", onError);
    // reusePort only when asked: Node before 22.12 would refuse the option.
    server.listen(reusePort ? { host, port, reusePort } : { host, port }, () => {
      server.off("error", onError);
      server.on("error", () => {});
      const bound = server.address();
      resolve({
        ...(bound !== null && typeof bound === "object"
          ? { host: bound.address, port: bound.port }
          : { host, port }),
        // server.close()'s callback would wait for every connection: only stop accepting.
        close: () => void server.close(),
      });
    });
  });
}
