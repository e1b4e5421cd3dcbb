/**
 * Messages between bench/run.ts and its load generator processes (bench/_load.ts), over Node's IPC channel.
 * Times are milliseconds on the machine-wide monotonic clock of `now()` in bench/_mqtt.ts.
 * @module
 */

/** Publishers and subscribers of one group: every publisher's messages reach every subscriber of the group. */
export interface Group {
  /** One topic per publisher. */
  publishers: string[];
  /** One filter per subscriber. */
  subscribers: string[];
}

/** What one generator process does. */
export interface Job {
  type: "job";
  kind: "flow" | "idle" | "connrate";
  host: string;
  port: number;
  /** Where subscribers connect when not to `port` (a cluster: publishers on one node, subscribers on another). */
  subscriberPort?: number;
  /** Index of this generator process (client ids stay unique). */
  proc: number;
  groups?: Group[];
  qos?: number;
  payload?: number;
  /** Messages per publisher not yet delivered to all its subscribers (and, at QoS 1, not yet acknowledged). */
  window?: number;
  /** idle: connections to hold. */
  connections?: number;
  /** idle: connections opened at once; connrate: connect loops. */
  concurrency?: number;
}

/** Start signal, the same for every generator of a scenario. */
export interface Go {
  type: "go";
  startAt: number;
  measureFrom: number;
  measureTo: number;
  drainUntil: number;
}

/** One generator's result. */
export interface GenResult {
  type: "result";
  /** Deliveries (connrate: CONNACKs) that arrived inside the measurement window. */
  delivered: number;
  /** PUBLISH packets sent inside the window (connrate: connections tried in all). */
  sent: number;
  /** Deliveries expected over the whole run (sent × subscribers per message). */
  expected: number;
  /** Sequence gaps plus messages still missing after the drain (idle and connrate: failed connections). */
  lost: number;
  duplicates: number;
  /** QoS 1 PUBLISH packets without PUBACK after the drain. */
  unacked: number;
  /** Latency histogram (bench/_mqtt.ts Histogram), sparse. */
  hist: [number, number][];
  /** This process's CPU time inside the measurement window. */
  cpuMs: number;
  errors: string[];
  errorCount: number;
}
