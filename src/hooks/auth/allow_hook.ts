/**
 * A hook that lets every client in and allows every publish and subscription.
 * @module
 */

import type { Access, ClientInfo, Hook, Verdict } from "../hook.ts";
import type { ConnectPacket } from "../../packets/types.ts";

/**
 * Allows every client and every ACL check. Use it only where the network itself is trusted (the CLI with no
 * config file installs it together with a loopback-only listener).
 *
 * @example
 * ```ts
 * const broker = new Broker({ hooks: [new AllowHook()] });
 * ```
 */
export class AllowHook implements Hook {
  readonly id: string;

  constructor(id = "allow-all") {
    this.id = id;
  }

  onAuthenticate(_client: ClientInfo, _packet: ConnectPacket): Verdict {
    return "allow";
  }

  onAclCheck(_client: ClientInfo, _topic: string, _access: Access): Verdict {
    return "allow";
  }
}
