/**
 * Read YAML text into plain data, keeping a way back from a key path to its line for error messages.
 * @module
 */

import { isMap, isScalar, isSeq, LineCounter, parseDocument } from "yaml";
import type { ConfigProblem } from "./config_error.ts";

/** A key path into parsed data: map keys and list indexes. */
export type KeyPath = readonly (string | number)[];

/** YAML text turned into data, or the syntax problems that prevented it. */
export interface YamlSource {
  /** The document as plain JavaScript data (`null` for an empty document); undefined on syntax errors. */
  readonly value: unknown;
  /** Syntax problems (bad indentation, duplicate keys, ...). Empty when `value` is usable. */
  readonly problems: readonly ConfigProblem[];
  /** 1-based line of the key (for map entries) or item (for list entries) at `path`, or of its nearest parent. */
  lineOf(path: KeyPath): number | undefined;
}

/** Structural view of the yaml nodes this module walks (the package's node classes are generic and wide). */
interface NodeLike {
  range?: readonly number[] | null;
  items?: unknown[];
}
interface PairLike {
  key: unknown;
  value: unknown;
}

/**
 * Parse YAML text. Syntax errors come back as problems (never thrown) with their line.
 * Aliases are expanded with yaml's default limit on alias count, which stops "billion laughs" documents.
 */
export function readYaml(text: string, source: string): YamlSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const problems: ConfigProblem[] = doc.errors.map((e) => ({
    source,
    line: lineCounter.linePos(e.pos[0]).line,
    path: "",
    message: firstLine(e.message),
  }));
  let value: unknown;
  if (problems.length === 0) {
    try {
      value = doc.toJS();
    } catch (e) {
      problems.push({ source, path: "", message: firstLine((e as Error).message) });
    }
  }
  function lineOf(path: KeyPath): number | undefined {
    let node: unknown = doc.contents;
    let offset = rangeStart(node);
    for (const segment of path) {
      if (isMap(node)) {
        const pair = (node.items as PairLike[]).find((p) => keyText(p.key) === String(segment));
        if (!pair) break;
        offset = rangeStart(pair.key) ?? offset;
        node = pair.value;
      } else if (isSeq(node) && typeof segment === "number") {
        const item = node.items[segment];
        if (item === undefined) break;
        offset = rangeStart(item) ?? offset;
        node = item;
      } else {
        break;
      }
    }
    return offset === undefined ? undefined : lineCounter.linePos(offset).line;
  }
  return { value, problems, lineOf };
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as NodeLike | null | undefined)?.range;
  return range ? range[0] : undefined;
}

function keyText(key: unknown): string {
  return isScalar(key) ? String(key.value) : String(key);
}

function firstLine(message: string): string {
  return message.split("\n")[0].trim();
}
