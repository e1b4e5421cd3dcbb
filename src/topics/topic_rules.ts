/**
 * The rules of MQTT topic names and topic filters: validation, matching, and `$share/` parsing.
 *
 * Spec ids differ between versions for the same rule; both are cited where they differ
 * (3.1.1 first, then 5.0).
 *
 * @example
 * ```ts
 * import { checkTopicFilter, topicMatches } from "./topic_rules.ts";
 * const limits = { maxTopicLength: 65_535, maxTopicLevels: 128 };
 * checkTopicFilter("a/#/b", limits); // "Topic filter \"a/#/b\" has '#' that is not the last level"
 * topicMatches("a/+/c", "a/b/c"); // true
 * topicMatches("#", "$SYS/uptime"); // false
 * ```
 * @module
 */

/** The limits that apply to topic names and filters (a subset of the broker's `Limits`). */
export interface TopicLimits {
  /** Longest topic name or filter in UTF-8 bytes; 0 means no limit beyond the protocol's 65,535. */
  maxTopicLength: number;
  /** Most levels in a topic name or filter; 0 means no limit. */
  maxTopicLevels: number;
}

const SLASH = 47; // "/"
const PLUS = 43; // "+"
const HASH = 35; // "#"
const DOLLAR = 36; // "$"
const SHARE_PREFIX = "$share/";
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Check a topic name (PUBLISH topic, Will topic).
 *
 * @returns undefined when valid, else a sentence-case reason that quotes the topic.
 */
export function checkTopicName(topic: string, limits: TopicLimits): string | undefined {
  // [MQTT-4.7.3-1]
  if (topic.length === 0) return "Topic name must not be empty";
  const common = checkCommon("Topic name", topic, limits);
  if (common !== undefined) return common;
  for (let i = 0; i < topic.length; i++) {
    const c = topic.charCodeAt(i);
    // [MQTT-3.3.2-2] [MQTT-4.7.1-1] (3.1.1) / [MQTT-4.7.0-1] (5.0)
    if (c === PLUS || c === HASH) {
      return `Topic name ${quote(topic)} contains the wildcard '${c === PLUS ? "+" : "#"}'`;
    }
  }
  return undefined;
}

/**
 * Check a topic filter (SUBSCRIBE, UNSUBSCRIBE), including the `$share/{group}/{filter}` form.
 *
 * Length is counted over the whole filter as sent; levels over the inner filter of a shared
 * subscription, since that is what gets matched.
 *
 * @returns undefined when valid, else a sentence-case reason that quotes the filter.
 */
export function checkTopicFilter(filter: string, limits: TopicLimits): string | undefined {
  // [MQTT-4.7.3-1]
  if (filter.length === 0) return "Topic filter must not be empty";
  let inner = filter;
  if (filter.startsWith(SHARE_PREFIX)) {
    const slash = filter.indexOf("/", SHARE_PREFIX.length);
    const group = filter.slice(SHARE_PREFIX.length, slash === -1 ? filter.length : slash);
    // [MQTT-4.8.2-1] a ShareName of at least one character
    if (group.length === 0) return `Shared subscription ${quote(filter)} has an empty share name`;
    // [MQTT-4.8.2-2] no + or # in the ShareName (a / ends it)
    if (group.includes("+") || group.includes("#")) {
      return `Shared subscription ${quote(filter)} has a wildcard in its share name ${quote(group)}`;
    }
    // [MQTT-4.8.2-2] followed by / and a Topic Filter
    if (slash === -1 || slash === filter.length - 1) {
      return `Shared subscription ${quote(filter)} has no topic filter after the share name`;
    }
    inner = filter.slice(slash + 1);
  }
  const common = checkCommon("Topic filter", filter, limits, inner);
  if (common !== undefined) return common;
  const n = inner.length;
  for (let i = 0; i < n; i++) {
    const c = inner.charCodeAt(i);
    if (c === HASH) {
      // [MQTT-4.7.1-2] (3.1.1) / [MQTT-4.7.1-1] (5.0): '#' alone in its level, and the last character
      if ((i > 0 && inner.charCodeAt(i - 1) !== SLASH) || (i < n - 1 && inner.charCodeAt(i + 1) !== SLASH)) {
        return `Topic filter ${quote(filter)} has '#' that does not fill a whole level`;
      }
      if (i !== n - 1) return `Topic filter ${quote(filter)} has '#' that is not the last level`;
    } else if (c === PLUS) {
      // [MQTT-4.7.1-3] (3.1.1) / [MQTT-4.7.1-2] (5.0): '+' fills a whole level
      if ((i > 0 && inner.charCodeAt(i - 1) !== SLASH) || (i < n - 1 && inner.charCodeAt(i + 1) !== SLASH)) {
        return `Topic filter ${quote(filter)} has '+' that does not fill a whole level`;
      }
    }
  }
  return undefined;
}

/**
 * Does `filter` match `topic`? Both are taken as valid (see {@link checkTopicFilter} and
 * {@link checkTopicName}); a shared filter is matched literally, so pass the inner filter of
 * {@link parseSharedFilter} to match what a shared subscription receives.
 *
 * `a/#` matches `a`; `+` matches an empty level; a filter starting with `+` or `#` never matches
 * a topic starting with `$`.
 */
export function topicMatches(filter: string, topic: string): boolean {
  const fl = filter.length;
  const tl = topic.length;
  // [MQTT-4.7.2-1]
  if (tl > 0 && topic.charCodeAt(0) === DOLLAR && fl > 0) {
    const f0 = filter.charCodeAt(0);
    if (f0 === PLUS || f0 === HASH) return false;
  }
  let fi = 0;
  let ti = 0;
  // Each turn starts both indexes at the beginning of a level. [MQTT-4.7.3-4]: raw code units compared.
  for (;;) {
    const fc = fi < fl ? filter.charCodeAt(fi) : -1;
    if (fc === HASH && fi === fl - 1) return true;
    if (fc === PLUS && (fi === fl - 1 || filter.charCodeAt(fi + 1) === SLASH)) {
      fi++;
      const next = topic.indexOf("/", ti);
      ti = next === -1 ? tl : next;
    } else {
      while (fi < fl && ti < tl) {
        const c = filter.charCodeAt(fi);
        if (c === SLASH || c !== topic.charCodeAt(ti)) break;
        fi++;
        ti++;
      }
      // Both must now sit at a level boundary (a "/" or the end).
      const fEnd = fi === fl || filter.charCodeAt(fi) === SLASH;
      const tEnd = ti === tl || topic.charCodeAt(ti) === SLASH;
      if (!fEnd || !tEnd) return false;
    }
    if (fi === fl) return ti === tl;
    if (ti === tl) {
      // The topic ran out: only a trailing "/#" still matches (the parent level).
      return fi === fl - 2 && filter.charCodeAt(fl - 1) === HASH;
    }
    fi++;
    ti++;
  }
}

/**
 * Split `$share/{group}/{filter}` into its share name and inner filter; undefined when `filter`
 * does not start with `$share/`. Never throws: a malformed shared filter yields what it holds
 * (an empty group or filter), and {@link checkTopicFilter} is the one that rejects it.
 */
export function parseSharedFilter(filter: string): { group: string; filter: string } | undefined {
  if (!filter.startsWith(SHARE_PREFIX)) return undefined;
  const slash = filter.indexOf("/", SHARE_PREFIX.length);
  if (slash === -1) return { group: filter.slice(SHARE_PREFIX.length), filter: "" };
  return { group: filter.slice(SHARE_PREFIX.length, slash), filter: filter.slice(slash + 1) };
}

/** Checks shared by names and filters: U+0000, byte length, level count (of `levelsOf`). */
function checkCommon(
  what: string,
  value: string,
  limits: TopicLimits,
  levelsOf: string = value,
): string | undefined {
  let levels = 1;
  for (let i = 0; i < levelsOf.length; i++) {
    if (levelsOf.charCodeAt(i) === SLASH) levels++;
  }
  // [MQTT-4.7.3-2]
  if (value.includes("\u0000")) return `${what} ${quote(value)} contains the null character U+0000`;
  // A lone surrogate has no UTF-8 form; sending it would alter the topic [MQTT-1.5.3-1].
  if (LONE_SURROGATE.test(value)) return `${what} ${quote(value)} contains a lone UTF-16 surrogate`;
  // [MQTT-4.7.3-3] the protocol's cap; a smaller configured limit applies on top.
  const maxLength = limits.maxTopicLength > 0 ? Math.min(limits.maxTopicLength, 65_535) : 65_535;
  // Cheap bounds first: UTF-8 takes between 1 and 3 bytes per UTF-16 code unit.
  if (value.length > maxLength || (value.length * 3 > maxLength && utf8Length(value) > maxLength)) {
    return `${what} ${quote(value)} is longer than ${maxLength} bytes`;
  }
  if (limits.maxTopicLevels > 0 && levels > limits.maxTopicLevels) {
    return `${what} ${quote(value)} has ${levels} levels, more than the limit of ${limits.maxTopicLevels}`;
  }
  return undefined;
}

/** Bytes of the UTF-8 encoding; a lone surrogate counts as U+FFFD (3 bytes), as TextEncoder writes it. */
function utf8Length(s: string): number {
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

/** Quote a value for a message, escaping control characters such as U+0000 and eliding the middle of long ones. */
function quote(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 60)}…${value.slice(-10)}` : value);
}
