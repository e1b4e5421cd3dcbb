/**
 * MQTT topics and filters as NATS subjects. A topic level becomes a subject token; `+` becomes `*` and `#`
 * becomes `>`. NATS gives meaning to `.`, `*`, `>` and whitespace and forbids empty tokens, so every character
 * outside `[A-Za-z0-9_-]` is escaped as `~` and two hex digits per UTF-8 byte (`$` is `~24`, so `$SYS` and
 * `+` levels stay apart), and an empty level is the lone token `~`. The mapping is one-to-one: two topics
 * never share a subject.
 * @module
 */

const SAFE = /^[A-Za-z0-9_\-/]*$/;
const SAFE_CHAR = /[A-Za-z0-9_-]/;
const encoder = new TextEncoder();

/** One topic level as a subject token. */
export function escapeLevel(level: string): string {
  if (level === "") return "~";
  let out = "";
  for (const ch of level) {
    if (SAFE_CHAR.test(ch)) {
      out += ch;
      continue;
    }
    for (const byte of encoder.encode(ch)) out += "~" + byte.toString(16).padStart(2, "0");
  }
  return out;
}

/** The subject a message on `topic` is published to: `prefix.level.level…`. */
export function topicSubject(prefix: string, topic: string): string {
  // Fast path: plain topics (the common case) need no per-level work.
  if (SAFE.test(topic) && !topic.includes("//") && topic !== "" && topic[0] !== "/" && !topic.endsWith("/")) {
    return prefix + "." + topic.replaceAll("/", ".");
  }
  let out = prefix;
  for (const level of topic.split("/")) out += "." + escapeLevel(level);
  return out;
}

/**
 * The subjects to subscribe to for an MQTT filter. Usually one; `a/#` needs two, because MQTT's `#` also matches
 * the parent level (`a`) and NATS's `>` needs at least one more token.
 */
export function filterSubjects(prefix: string, filter: string): string[] {
  const levels = filter.split("/");
  let base = prefix;
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!;
    if (level === "#") {
      // [MQTT-4.7.1-2] `#` matches the parent and any number of child levels.
      return i === 0 ? [base + ".>"] : [base, base + ".>"];
    }
    base += "." + (level === "+" ? "*" : escapeLevel(level));
  }
  return [base];
}

/** A name NATS accepts as a queue group or KV key token: the same escaping, for a whole string. */
export function escapeName(name: string): string {
  return escapeLevel(name);
}

/**
 * A KV key for any string (a client id or a topic): base64url of its UTF-8 bytes, which uses only characters
 * KV keys allow and never starts or ends with `.`.
 */
export function kvKey(text: string): string {
  const bytes = encoder.encode(text);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  const b64 = btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
  return b64 === "" ? "_" : b64;
}

/** The string a {@link kvKey} was made from. */
export function fromKvKey(key: string): string {
  if (key === "_") return "";
  const binary = atob(key.replaceAll("-", "+").replaceAll("_", "/"));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return new TextDecoder().decode(bytes);
}
