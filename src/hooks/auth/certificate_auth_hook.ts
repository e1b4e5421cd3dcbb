/**
 * Authentication by a verified TLS client certificate, with ACL rules from a users file.
 * @module
 */

import type { Access, ClientInfo, Hook, Verdict } from "../hook.ts";
import type { ConnectPacket } from "../../packets/types.ts";
import type { FileAuthHook } from "./file_auth_hook.ts";

/**
 * For a listener that asks for client certificates (`tls.clientCa`) and names users after them
 * (`useIdentityAsUsername`): a client is let in when the listener verified its certificate, whatever its CONNECT
 * says, and its topics are checked with the rules of `acl` (a {@link FileAuthHook}; the certificate's common name
 * is the user name that `%u` and the file's `users:` entries refer to). Unlike an allow hook, this keeps ACLs on:
 * a certificate proves who a device is, not what it may publish.
 *
 * @example
 * ```ts
 * const rules = FileAuthHook.fromYaml("acl:\n  - { topic: 'devices/%u/#', access: readwrite }\n", "devices.yaml");
 * const hook = new ListenerAuthHook({
 *   listeners: { devices: new CertificateAuthHook(rules) },
 *   fallback: FileAuthHook.fromYaml(usersYaml, "users.yaml"),
 * });
 * ```
 */
export class CertificateAuthHook implements Hook {
  readonly id: string;
  readonly #acl: FileAuthHook;

  constructor(acl: FileAuthHook, id = "certificate-auth") {
    this.id = id;
    this.#acl = acl;
  }

  /** The rules' hook (for the start-up log). */
  get acl(): FileAuthHook {
    return this.#acl;
  }

  onAuthenticate(client: ClientInfo, _packet: ConnectPacket): Verdict {
    // No verified certificate (a listener without clientCa, or a misconfiguration): nobody gets in.
    return client.certificateCommonName === undefined ? "deny" : "allow";
  }

  onAclCheck(client: ClientInfo, topic: string, access: Access): Verdict {
    return this.#acl.onAclCheck(client, topic, access);
  }
}
