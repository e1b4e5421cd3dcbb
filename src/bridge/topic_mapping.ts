/**
 * Prefix rewrite between a bridge's local and remote topic filters: `sensors/#` <-> `site1/sensors/#`.
 * @module
 */

/** One direction of a bridge mapping: messages matching `from` go out under `to`. */
export interface TopicMapping {
  /** Topic filter on the source side. */
  from: string;
  /**
   * The same filter on the other side; the literal prefix before the first wildcard is what gets replaced.
   */
  to: string;
  /** Maximum QoS: messages are forwarded with the lower of their own QoS and this. */
  qos: 0 | 1 | 2;
}

/** The literal levels before the first wildcard (with its trailing `/`), and the rest. */
function split(filter: string): { prefix: string; rest: string } {
  const levels = filter.split("/");
  const i = levels.findIndex((l) => l === "+" || l === "#");
  if (i < 0) return { prefix: filter, rest: "" };
  return { prefix: levels.slice(0, i).map((l) => `${l}/`).join(""), rest: levels.slice(i).join("/") };
}

/**
 * Why two filters cannot map onto each other (undefined when they can): the levels from the first wildcard on
 * must be the same in both, so that a topic maps by swapping the literal prefix.
 */
export function mappingProblem(from: string, to: string): string | undefined {
  const a = split(from);
  const b = split(to);
  if (a.rest !== b.rest) {
    return `the wildcard part of ${JSON.stringify(from)} (${JSON.stringify(a.rest)}) and of ${
      JSON.stringify(to)
    } (${JSON.stringify(b.rest)}) must be the same`;
  }
  return undefined;
}

/**
 * The topic a message on `topic` (which matches `from`) takes under `to`.
 * `sensors/#` also matches `sensors` itself: it maps to the other prefix without its trailing `/`.
 */
export function mapTopic(topic: string, from: string, to: string): string {
  return topicMapper(from, to)(topic);
}

/** {@link mapTopic} for one pair of filters, with the filters split once (for the message path). */
export function topicMapper(from: string, to: string): (topic: string) => string {
  const a = split(from);
  const b = split(to);
  if (a.rest === "") return () => b.prefix; // exact filters: one topic to one topic
  const bare = b.prefix.slice(0, -1);
  return (topic) => topic.startsWith(a.prefix) ? b.prefix + topic.slice(a.prefix.length) : bare;
}
