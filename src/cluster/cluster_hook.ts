/**
 * The hook a clustered broker adds last to its chain: before CONNACK it makes this node the owner of the client
 * id (taking the session over from another node, which closes its connection with 0x8E), and once connected it
 * hands the client's will to the cluster, so a surviving node publishes it if this one dies.
 * @module
 */

import type { ClientInfo, Hook } from "../hooks/hook.ts";
import type { Logger } from "../logger.ts";
import type { Message } from "../message.ts";
import type { ConnectPacket } from "../packets/types.ts";
import type { ClusterBus, HandedSession } from "./cluster_bus.ts";

/** Session ownership and wills for a clustered broker. */
export class ClusterHook implements Hook {
  readonly id = "cluster";
  readonly #bus: ClusterBus;
  readonly #stash: (clientId: string, handed: HandedSession) => void;
  #logger: Logger | undefined;

  /** `stash` keeps a session handed from another node until the broker establishes the connection. */
  constructor(bus: ClusterBus, stash: (clientId: string, handed: HandedSession) => void) {
    this.#bus = bus;
    this.#stash = stash;
  }

  init(context: { logger: Logger }): void {
    this.#logger = context.logger;
  }

  async onConnect(client: ClientInfo, packet: ConnectPacket): Promise<void> {
    try {
      const handed = await this.#bus.acquire(client.id, packet.clean);
      if (handed !== undefined) this.#stash(client.id, handed);
    } catch (err) {
      // The cluster is unreachable: serve the client from this node alone rather than refuse it.
      this.#logger?.warn("cluster: cannot take the session over, serving it locally", {
        clientId: client.id,
        error: err instanceof Error ? err.message : String(err),
      });
    }
  }

  onConnected(client: ClientInfo): void {
    const will = (client as { will?: Message }).will;
    if (will !== undefined) this.#bus.will(client, will);
  }
}
