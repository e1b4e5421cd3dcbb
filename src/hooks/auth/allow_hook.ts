/**
 * A hook that lets every client in.
 * @module
 */

import type { ClientInfo, Hook, Verdict } from "../hook.ts";
import type { ConnectPacket } from "../../packets/types.ts";

/**
 * Allows every client. It has no ACL opinion, and with no hook giving one every publish and subscription is
 * allowed; leaving `onAclCheck` out also keeps the per-delivery read check off the hot path, and lets a later
 * ACL hook in the chain decide. Use it only where the network itself is trusted (the CLI with no config file
 * installs it together with a loopback-only listener).
 *
 * @example
 * ```ts
 * import { AllowHook, Broker } from "@comqtt/broker";
 *
 * const broker = new Broker({ hooks: [new AllowHook()] });
 * ```
 */
export class AllowHook implements Hook {
  readonly id: string;

  /** A hook that allows everyone, with hook id `id`. */
  constructor(id = "allow-all") {
    this.id = id;
  }

  onAuthenticate(_client: ClientInfo, _packet: ConnectPacket): Verdict {
    return "allow";
  }
}
