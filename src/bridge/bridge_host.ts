/**
 * What a bridge needs of the local broker; {@link Broker} provides it.
 * @module
 */

import type { Clock } from "../clock.ts";
import type { ClientInfo } from "../hooks/hook.ts";
import type { MaybePromise } from "../hooks/hook_chain.ts";
import type { Logger } from "../logger.ts";
import type { Message } from "../message.ts";
import type { StorageOp, StoredQueued } from "../storage/storage.ts";

/** The broker as a bridge sees it. */
export interface BridgeHost {
  /** Where the bridge logs. */
  readonly logger: Logger;
  /** Time source for reconnect timers, message expiry and the echo filter. */
  readonly clock: Clock;
  /** The broker's hooks: messages from the remote pass the same publish checks as a client's. */
  readonly hooks: { publish(client: ClientInfo | undefined, message: Message): MaybePromise<Message | null> };
  /** Deliver a message to local subscribers (and observers, such as the bridges themselves). */
  route(message: Message, publisher: ClientInfo | undefined): number;
  /** Resolves once everything written so far is durable; undefined when nothing waits. */
  durability(): Promise<void> | undefined;
  /** Write a bridge queue record behind; false without storage. */
  persistOp(op: StorageOp): boolean;
  /** The queue a previous run left for `bridge`. */
  takeStoredBridgeQueue(bridge: string): StoredQueued[];
}
