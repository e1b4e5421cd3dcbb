/**
 * The plain fields of a client's identity, copied out of a `ClientInfo` (a live Client object carries much more),
 * for what outlives the connection or leaves the thread: a stored session owner, a pending will, a will handed to
 * another worker.
 * @module
 */

import type { ClientInfo } from "../hooks/hook.ts";
import type { StoredClientInfo } from "./storage.ts";

/** The plain fields of `info`, without the optional ones it lacks. */
export function storedClientInfo(info: ClientInfo): StoredClientInfo {
  const out: StoredClientInfo = {
    id: info.id,
    remoteAddress: info.remoteAddress,
    listener: info.listener,
    protocolVersion: info.protocolVersion,
  };
  if (info.username !== undefined) out.username = info.username;
  if (info.certificateCommonName !== undefined) out.certificateCommonName = info.certificateCommonName;
  return out;
}
