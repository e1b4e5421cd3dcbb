/**
 * A hook that refuses every client.
 * @module
 */

import type { ClientInfo, Hook, Verdict } from "../hook.ts";
import type { ConnectPacket } from "../../packets/types.ts";

/**
 * Denies every client at authentication. It gives no ACL opinion: with nobody connected there is nothing to check,
 * and a hook added before it may still admit clients for whom a later ACL hook decides.
 *
 * The broker already refuses clients when no hook allows them; this hook makes that explicit (the CLI installs it
 * for `auth: { type: deny }`) and wins over hooks added after it.
 */
export class DenyHook implements Hook {
  readonly id: string;

  /** A hook that refuses everyone, with hook id `id`. */
  constructor(id = "deny-all") {
    this.id = id;
  }

  onAuthenticate(_client: ClientInfo, _packet: ConnectPacket): Verdict {
    return "deny";
  }
}
