/**
 * Broker workers' bus without threads, for the unit tests of src/cluster/worker_*: a {@link WorkerHub} and a
 * {@link WorkerBus} per worker, joined by real MessageChannels as the supervisor joins them, each bus in front of a
 * {@link FakeNode} that records what it is asked. A channel from one worker to another can be held back
 * ({@link Gate}) to put messages "on their way" for as long as a test needs.
 * @module
 */

import type { ClusterNode, HandedSession } from "../../src/cluster/cluster_bus.ts";
import type { ClientInfo } from "../../src/hooks/hook.ts";
import type { Message } from "../../src/message.ts";
import { WorkerBus } from "../../src/cluster/worker_bus.ts";
import { WorkerHub } from "../../src/cluster/worker_hub.ts";
import type { WorkerPort, WorkerToHub } from "../../src/cluster/worker_protocol.ts";

/** A ClusterNode that records what the bus asks of it. */
export class FakeNode implements ClusterNode {
  remote: Message[] = [];
  shared: Array<[string, string, Message]> = [];
  retained: Message[] = [];
  wills: Array<[ClientInfo, Message]> = [];
  handOvers: string[] = [];
  session: HandedSession | undefined;
  /** Runs inside handOver (a broker ends the session there and gives up its interest). */
  onHandOver: ((clientId: string) => void) | undefined;
  routeRemote(m: Message) {
    this.remote.push(m);
  }
  routeShared(group: string, filter: string, m: Message) {
    this.shared.push([group, filter, m]);
  }
  retainedRemote(m: Message) {
    this.retained.push(m);
  }
  handOver(clientId: string) {
    this.handOvers.push(clientId);
    this.onHandOver?.(clientId);
    const session = this.session;
    this.session = undefined;
    return session;
  }
  publishWill(info: ClientInfo, will: Message) {
    this.wills.push([info, will]);
  }
  connectedCount() {
    return 0;
  }
}

/** Holds back what one worker posts to another until opened. */
export class Gate {
  #held: Array<() => void> = [];
  #open = true;
  /** Hold what is posted from now on. */
  close(): void {
    this.#open = false;
  }
  /** Deliver what was held, in order, and let the rest through. */
  open(): void {
    this.#open = true;
    for (const send of this.#held.splice(0)) send();
  }
  /** How many posts wait. */
  get held(): number {
    return this.#held.length;
  }
  pass(send: () => void): void {
    if (this.#open) send();
    else this.#held.push(send);
  }
}

/** One worker of the kit. */
export interface KitWorker {
  bus: WorkerBus;
  node: FakeNode;
}

const channels: MessageChannel[] = [];
/** Gates by `from>to`, applied to the channel from worker `from` to worker `to`. */
const gates = new Map<string, Gate>();

/** The gate on what worker `from` sends worker `to` directly (set it up before {@link setUp}). */
export function gate(from: number, to: number): Gate {
  const key = `${from}>${to}`;
  let g = gates.get(key);
  if (g === undefined) gates.set(key, g = new Gate());
  return g;
}

/** Close every channel and forget the gates: for `afterEach`. */
export function tearDown(): void {
  for (const c of channels.splice(0)) {
    c.port1.close();
    c.port2.close();
  }
  gates.clear();
}

/** A hub with `n` started workers. */
export async function setUp(n: number): Promise<{ hub: WorkerHub; workers: KitWorker[] }> {
  const hub = new WorkerHub();
  const workers: KitWorker[] = [];
  for (let i = 0; i < n; i++) workers.push(await addWorker(hub, i, workers));
  return { hub, workers };
}

/** A MessagePort as a WorkerPort, its posts passing `through` when given. */
function wrap(p: MessagePort, through?: Gate): WorkerPort {
  return {
    postMessage: (data, transfer) => {
      const send = () => p.postMessage(data, transfer ?? []);
      if (through === undefined) send();
      else through.pass(send);
    },
    onMessage: (handler) => (p.onmessage = (e: MessageEvent) => handler(e.data)),
  };
}

/** A worker on `hub`, with a direct channel to each of `peers` (as the supervisor sets up). */
export async function addWorker(hub: WorkerHub, i: number, peers: KitWorker[] = []): Promise<KitWorker> {
  const channel = new MessageChannel();
  channels.push(channel);
  const hubSide = channel.port1;
  hub.add(i, (data, transfer) => hubSide.postMessage(data, transfer ?? []));
  hubSide.onmessage = (e: MessageEvent) => hub.receive(i, e.data as WorkerToHub);
  const bus = new WorkerBus(i, wrap(channel.port2));
  peers.forEach((peer, j) => {
    const pair = new MessageChannel();
    channels.push(pair);
    bus.addPeer(j, wrap(pair.port1, gates.get(`${i}>${j}`)));
    peer.bus.addPeer(i, wrap(pair.port2, gates.get(`${j}>${i}`)));
  });
  const node = new FakeNode();
  await bus.start(node);
  return { bus, node };
}

/** Let messages cross the channels (a few round trips). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 6; i++) await new Promise((r) => setTimeout(r, 5));
}

/** A QoS 1 message on `topic`. */
export function msg(topic: string, text = "x", extra: Partial<Message> = {}): Message {
  return {
    topic,
    payload: new TextEncoder().encode(text),
    qos: 1,
    retain: false,
    receivedAt: 1000,
    ...extra,
  };
}
