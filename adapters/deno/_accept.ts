/**
 * The accept loop shared by the Deno TCP and TLS listeners.
 * @module
 */

/** A Deno TCP or TLS server socket. */
export interface DenoServerSocket<C> {
  readonly addr: { hostname: string; port: number };
  accept(): Promise<C>;
  close(): void;
}

/** Pause before accepting again after a transient accept error (EMFILE...), so the loop does not spin. */
const ACCEPT_RETRY_MS = 50;

/** Close a Deno connection or listener, ignoring that it may already be closed. */
export function closeQuietly(resource: { close(): void }): void {
  try {
    resource.close();
  } catch {
    // Already closed.
  }
}

/**
 * Accept connections while `current()` holds, handing each to `onConn`; a connection accepted after the listener
 * stopped being current is closed. Ends when the listener is closed.
 */
async function acceptEach<C extends { close(): void }>(
  listener: { accept(): Promise<C> },
  current: () => boolean,
  onConn: (conn: C) => void,
): Promise<void> {
  while (current()) {
    let conn: C;
    try {
      conn = await listener.accept();
    } catch (error) {
      if (!current() || (error as Error).name === "BadResource") return;
      await new Promise((resolve) => setTimeout(resolve, ACCEPT_RETRY_MS));
      continue;
    }
    if (!current()) {
      closeQuietly(conn);
      return;
    }
    onConn(conn);
  }
}

/** Accept from `server` until its binding is closed, handing each connection to `onConn`. */
export function serveEach<C extends { close(): void }>(
  server: DenoServerSocket<C>,
  onConn: (conn: C) => void,
): { host: string; port: number; close(): void } {
  let open = true;
  void acceptEach(server, () => open, onConn);
  return {
    host: server.addr.hostname,
    port: server.addr.port,
    close() {
      open = false;
      closeQuietly(server);
    },
  };
}
