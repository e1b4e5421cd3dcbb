/**
 * An observer hook that counts what the broker's stats do not: messages in by QoS, messages per client, and
 * change counters that tell the dashboard which panel needs a refresh.
 * @module
 */

import type { ClientInfo, Hook } from "../hooks/hook.ts";
import type { Message } from "../message.ts";

/** What one connection published. */
export interface ClientActivity {
  /** Messages this connection published (accepted and routed). */
  messagesIn: number;
  /** Payload bytes of those messages. */
  payloadBytesIn: number;
  /** Messages per second over the last sampling interval. */
  messagesInRate: number;
  /** `messagesIn` at the last sample. */
  lastSampled: number;
}

/** Counters that move whenever the matching dashboard panel would show something else. */
export interface ChangeCounters {
  clients: number;
  subscriptions: number;
  retained: number;
}

/**
 * Observes the broker (it is added with `broker.addHook`); it never blocks or changes anything. Per-client
 * counts are keyed by the connection object, so a takeover starts the new connection at zero and nothing is
 * kept once a connection is gone.
 */
export class ActivityHook implements Hook {
  readonly id = "http-activity";
  /** Messages published by clients and routed, by QoS 0, 1, 2. */
  readonly messagesInByQos: [number, number, number] = [0, 0, 0];
  /** Messages published through the embedding API (the HTTP API's publish included), by QoS. */
  readonly apiMessagesByQos: [number, number, number] = [0, 0, 0];
  /** Wills published for clients that went away. */
  willsSent = 0;
  readonly changes: ChangeCounters = { clients: 0, subscriptions: 0, retained: 0 };
  #clients = new WeakMap<ClientInfo, ClientActivity>();

  /** What `client` (a connected client object) published, if anything. */
  activity(client: ClientInfo): ClientActivity | undefined {
    return this.#clients.get(client);
  }

  /** Update every client's per-second rate over the last `seconds`. */
  sampleRates(clients: Iterable<ClientInfo>, seconds: number): void {
    for (const client of clients) {
      const a = this.#clients.get(client);
      if (a === undefined) continue;
      a.messagesInRate = seconds > 0 ? Math.round(((a.messagesIn - a.lastSampled) / seconds) * 100) / 100 : 0;
      a.lastSampled = a.messagesIn;
    }
  }

  onPublished(client: ClientInfo | undefined, message: Message): void {
    if (client === undefined) {
      this.apiMessagesByQos[message.qos]++;
      return;
    }
    this.messagesInByQos[message.qos]++;
    let a = this.#clients.get(client);
    if (a === undefined) {
      a = { messagesIn: 0, payloadBytesIn: 0, messagesInRate: 0, lastSampled: 0 };
      this.#clients.set(client, a);
    }
    a.messagesIn++;
    a.payloadBytesIn += message.payload.byteLength;
  }

  onConnected(): void {
    this.changes.clients++;
  }

  onDisconnected(): void {
    this.changes.clients++;
  }

  onSubscribed(): void {
    this.changes.subscriptions++;
  }

  onUnsubscribed(): void {
    this.changes.subscriptions++;
  }

  onSessionExpired(): void {
    // A session's subscriptions go with it.
    this.changes.subscriptions++;
    this.changes.clients++;
  }

  onRetained(): void {
    this.changes.retained++;
  }

  onWillSent(): void {
    this.willsSent++;
  }
}
