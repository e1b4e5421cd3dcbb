/**
 * Client-id patterns of the users file: which client ids a user may connect with, and which ids are reserved
 * for that user.
 * @module
 */

/** A compiled pattern: `*` stands for any run of characters, `%u` for the user's own name. */
export interface ClientIdPattern {
  /** The pattern as written. */
  readonly source: string;
  /** True when `clientId` matches for a client with user name `username`. */
  matches(clientId: string, username: string): boolean;
}

/** Why a pattern is unusable, or undefined when it is fine. */
export function clientIdPatternError(pattern: string): string | undefined {
  if (pattern.length === 0) return "expected a non-empty client id pattern";
  if (/^\*+$/.test(pattern)) return `pattern ${JSON.stringify(pattern)} matches every client id`;
  return undefined;
}

/** Compile a pattern (checked with {@link clientIdPatternError} first). */
export function compileClientIdPattern(pattern: string): ClientIdPattern {
  const parts = pattern.split("*");
  return {
    source: pattern,
    matches(clientId: string, username: string): boolean {
      return globMatch(parts.map((p) => p.replaceAll("%u", username)), clientId);
    },
  };
}

/** Match `text` against literal parts separated by `*` (no regular expression: names are not escaped twice). */
function globMatch(parts: readonly string[], text: string): boolean {
  const first = parts[0]!;
  if (parts.length === 1) return text === first;
  const last = parts[parts.length - 1]!;
  if (!text.startsWith(first) || text.length < first.length + last.length || !text.endsWith(last)) {
    return false;
  }
  let at = first.length;
  const end = text.length - last.length;
  for (let i = 1; i < parts.length - 1; i++) {
    const found = text.indexOf(parts[i]!, at);
    if (found < 0 || found + parts[i]!.length > end) return false;
    at = found + parts[i]!.length;
  }
  return true;
}
