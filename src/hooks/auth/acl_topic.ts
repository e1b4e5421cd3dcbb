/**
 * Topic arithmetic for ACL rules: does a rule's filter cover a requested topic or filter, and safe
 * substitution of `%u` / `%c`.
 *
 * Topics starting with `$` (such as `$SYS/...`) are matched by a wildcard in the first level of neither a rule
 * nor a subscription, as in message routing ([MQTT-4.7.2-1]); a rule must name `$SYS` to grant it.
 * @module
 */

/** Why `filter` is not a valid rule topic, or undefined when it is. `%u` and `%c` count as plain text here. */
export function ruleTopicError(filter: string): string | undefined {
  if (filter === "") return "expected a topic filter, received an empty string";
  if (filter.includes("\u0000")) return "a topic filter cannot contain the null character";
  const levels = filter.split("/");
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i];
    if (level.includes("#") && (level !== "#" || i !== levels.length - 1)) {
      return `"#" must be a whole level and the last one in ${JSON.stringify(filter)}`;
    }
    if (level.includes("+") && level !== "+") return `"+" must be a whole level in ${JSON.stringify(filter)}`;
  }
  return undefined;
}

/**
 * True when every topic that `requested` matches is also matched by `rule`. For a topic name (no wildcards)
 * this is ordinary matching. A subscription to `a/#` is not covered by `a/b` or `a/+`; `a/+` is covered by
 * `a/+` and `a/#`; `a` is covered by `a/#` (a trailing `#` also matches its parent level).
 */
export function covers(rule: string, requested: string): boolean {
  const r = rule.split("/");
  const s = requested.split("/");
  for (let i = 0; i < r.length; i++) {
    const level = r[i];
    if (level === "#") return !(i === 0 && s[0].startsWith("$"));
    if (i >= s.length) return false;
    const want = s[i];
    // Only "#" covers "#", except that "+/#" matches exactly what "#" matches (every topic of one level or more).
    if (want === "#") return i === 0 && level === "+" && r.length === 2 && r[1] === "#";
    if (level === "+") {
      if (i === 0 && want.startsWith("$")) return false;
      continue; // "+" covers a literal level and "+"
    }
    if (level !== want) return false; // a literal covers only the same literal, never "+"
  }
  return r.length === s.length;
}

/** Who a rule is being applied to. */
export interface RuleSubject {
  readonly username?: string;
  readonly clientId: string;
}

/**
 * Replace `%u` (user name) and `%c` (client id) in a rule topic. Returns undefined, meaning "this rule does not
 * apply", when the rule uses a value that is missing or could widen it: empty, containing `+`, `#`, `/` or the
 * null character, or starting with `$`.
 */
export function substitute(topic: string, subject: RuleSubject): string | undefined {
  if (!topic.includes("%")) return topic;
  if (topic.includes("%u") && !usable(subject.username)) return undefined;
  if (topic.includes("%c") && !usable(subject.clientId)) return undefined;
  // One pass, so a user name containing "%c" is not substituted again.
  return topic.replace(/%[uc]/g, (m) => (m === "%u" ? subject.username! : subject.clientId));
}

function usable(value: string | undefined): value is string {
  return value !== undefined && value !== "" && !/[+#/]/.test(value) && !value.includes("\u0000") &&
    !value.startsWith("$");
}

/**
 * The filter an ACL check is about: for a shared subscription `$share/group/filter` it is `filter`
 * (the group name grants nothing). Undefined when a `$share` filter has no filter part.
 */
export function aclFilter(topic: string): string | undefined {
  if (!topic.startsWith("$share/")) return topic;
  const slash = topic.indexOf("/", "$share/".length);
  return slash < 0 || slash === topic.length - 1 ? undefined : topic.slice(slash + 1);
}
