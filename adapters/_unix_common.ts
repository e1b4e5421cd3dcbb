/**
 * What the three Unix socket listeners share: options, the socket file's life (a stale file left by a crash is
 * replaced, a live one is not) and its permission bits. Uses node:fs and node:net, which all three runtimes have.
 * @module
 */

import { chmod, lstat, unlink } from "node:fs/promises";
import { connect } from "node:net";
import { DEFAULT_HIGH_WATER_MARK } from "./_outbox.ts";
import type { ListenerLimitOptions } from "./_limit.ts";

/** Options of every adapter's `createUnixListener`. */
export interface UnixListenerOptions extends ListenerLimitOptions {
  /** Listener id, unique within a broker. Default `unix`. */
  id?: string;
  /** The socket file to create, e.g. `/run/comqtt.sock`. */
  path: string;
  /** Permission bits of the socket file (who may connect), e.g. `0o660`. Default: as the umask leaves them. */
  mode?: number;
  /** Per-connection write buffer, in bytes, above which `write()` returns false. Default 1 MiB. */
  highWaterMark?: number;
}

/** {@link UnixListenerOptions} with every default filled in. */
export interface ResolvedUnixOptions {
  id: string;
  path: string;
  mode: number | undefined;
  highWaterMark: number;
}

/** Fill in defaults and reject nonsense with a TypeError/RangeError that names the option. */
export function resolveUnixOptions(options: UnixListenerOptions): ResolvedUnixOptions {
  const { id = "unix", path, mode, highWaterMark = DEFAULT_HIGH_WATER_MARK } = options ?? {};
  const what = `Cannot create Unix socket listener "${id}"`;
  if (typeof path !== "string" || path === "" || path.includes("\0")) {
    throw new TypeError(`${what}: path must name a socket file, received ${JSON.stringify(path)}`);
  }
  if (mode !== undefined && (!Number.isInteger(mode) || mode < 0 || mode > 0o777)) {
    throw new RangeError(
      `${what}: mode must be permission bits from 0 to 0o777, received ${JSON.stringify(mode)}`,
    );
  }
  if (!Number.isInteger(highWaterMark) || highWaterMark < 1) {
    throw new RangeError(
      `${what}: highWaterMark must be a whole number >= 1, received ${JSON.stringify(highWaterMark)}`,
    );
  }
  return { id, path, mode, highWaterMark };
}

/**
 * Make way for a new socket at `path`: nothing there is fine; a socket nobody listens on (left by a crash) is
 * removed; a socket that answers, or a file that is not a socket, stops the start with a clear error.
 */
export async function claimSocketPath(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = (await lstat(path)).isSocket();
  } catch (error) {
    if ((error as { code?: string }).code === "ENOENT") return;
    throw new Error(`Cannot listen on ${path}: ${(error as Error).message}`, { cause: error });
  }
  if (!isSocket) throw new Error(`Cannot listen on ${path}: the file exists and is not a socket`);
  if (await answers(path)) {
    throw new Error(`Cannot listen on ${path}: address already in use (a live socket)`);
  }
  await unlink(path);
}

/** Set the socket file's permission bits once it is bound. */
export async function applyMode(path: string, mode: number | undefined): Promise<void> {
  if (mode !== undefined) await chmod(path, mode);
}

/** Remove our socket file when the listener closes (runtimes differ in whether they do it themselves). */
export async function removeSocketFile(path: string): Promise<void> {
  await unlink(path).catch(() => {});
}

/** True when something accepts connections on the socket at `path` (bounded: 1 s). */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ path });
    const done = (live: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(live);
    };
    const timer = setTimeout(() => done(true), 1000); // a socket that neither accepts nor refuses is in use
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}
