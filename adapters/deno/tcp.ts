/**
 * TCP listener on `Deno.listen`; each connection is the shared {@link SocketConnection} driven by a
 * {@link DenoDriver} (./_driver.ts: a read loop and a serialized write loop).
 * @module
 */

import type { Accept, AcceptInfo, Listener } from "../../src/transport/connection.ts";
import { socketListener } from "../_listener.ts";
import { SocketConnection } from "../_socket_connection.ts";
import { type DenoConn, DenoDriver } from "./_driver.ts";
import { hostPort, listenError, resolveTcpOptions, type TcpListenerOptions } from "../_tcp_common.ts";
import { type DenoServerSocket, serveEach } from "./_accept.ts";

export type { TcpListenerOptions } from "../_tcp_common.ts";
export type { DenoConn } from "./_driver.ts";

/**
 * Create a TCP listener on `Deno.listen`. Nothing is bound until `listen()`.
 *
 * @example
 * ```ts
 * const listener = createTcpListener({ host: "127.0.0.1", port: 0 });
 * await listener.listen((connection) => ({ data: (b) => connection.write(b.slice()), drain() {}, closed() {} }));
 * await listener.close();
 * ```
 */
export function createTcpListener(options: TcpListenerOptions = {}): Listener {
  const o = resolveTcpOptions(options);
  const deno = (globalThis as unknown as {
    Deno: {
      listen(
        o: { hostname: string; port: number; transport: "tcp"; reusePort?: boolean },
      ): DenoServerSocket<DenoConn>;
    };
  }).Deno;
  return socketListener({ ...o, protocol: "tcp" }, options, (accept) => {
    let server: DenoServerSocket<DenoConn>;
    try {
      server = deno.listen({
        hostname: o.host,
        port: o.port,
        transport: "tcp",
        ...(o.reusePort ? { reusePort: true } : {}),
      });
    } catch (error) {
      throw listenError(o.host, o.port, error);
    }
    return serveEach(server, (conn) => startConnection(conn, o.highWaterMark, accept, { listener: o.id }));
  });
}

/** Wrap an accepted (for TLS: handshaken) Deno connection and hand it to the broker. */
export function startConnection(
  conn: DenoConn,
  highWaterMark: number,
  accept: Accept,
  info: AcceptInfo,
  remote = hostPort(conn.remoteAddr.hostname, conn.remoteAddr.port),
): void {
  try {
    conn.setNoDelay?.(true);
  } catch {
    // The peer may already be gone (or it is a Unix socket); the read loop will notice.
  }
  const connection = new SocketConnection(remote, highWaterMark);
  const driver = new DenoDriver(conn, connection);
  if (connection.drive(driver).open(accept, info)) void driver.readLoop();
}
