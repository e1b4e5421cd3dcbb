/**
 * Strict reading of a decoded record header (parsed JSON) plus its binary tail, for the record codec.
 * Every accessor checks the type and range and throws an Error that names the record and the field.
 * @module
 */

/** Reads fields of one record by dotted path (`m.p.up.0.1`) and takes binary fields from the tail in order. */
export class FieldReader {
  #root: unknown;
  #tail: Uint8Array;
  #at = 0;
  #label: string;

  constructor(root: unknown, tail: Uint8Array, label: string) {
    this.#root = root;
    this.#tail = tail;
    this.#label = label;
  }

  /** Throw the codec's error for a field. */
  fail(path: string, why: string): never {
    throw new Error(`Cannot decode ${this.#label}: field "${path}" ${why}`);
  }

  /** Whether the field is present. */
  has(path: string): boolean {
    return this.#get(path) !== undefined;
  }

  /** The object at `prefix` (the root for "") must have every required key and no key outside both lists. */
  keys(required: readonly string[], optional: readonly string[], prefix = ""): void {
    const path = prefix.endsWith(".") ? prefix.slice(0, -1) : prefix;
    const obj = path === "" ? this.#root : this.#get(path);
    if (typeof obj !== "object" || obj === null || Array.isArray(obj)) {
      if (path === "") throw new Error(`Cannot decode ${this.#label}: the header is not an object`);
      this.fail(path, `must be an object, found ${describe(obj)}`);
    }
    for (const k of required) if (!(k in obj)) this.fail(prefix + k, "is missing");
    for (const k of Object.keys(obj)) {
      if (!required.includes(k) && !optional.includes(k)) this.fail(prefix + k, "is not a known field");
    }
  }

  string(path: string): string {
    const v = this.#get(path);
    if (typeof v !== "string") this.fail(path, `must be a string, found ${describe(v)}`);
    return v;
  }

  boolean(path: string): boolean {
    const v = this.#get(path);
    if (typeof v !== "boolean") this.fail(path, `must be true or false, found ${describe(v)}`);
    return v;
  }

  /** A finite number. */
  number(path: string): number {
    const v = this.#get(path);
    if (typeof v !== "number" || !Number.isFinite(v)) {
      this.fail(path, `must be a number, found ${describe(v)}`);
    }
    return v;
  }

  /** An integer within [min, max]. */
  int(path: string, min: number, max: number): number {
    const v = this.#get(path);
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      this.fail(path, `must be an integer from ${min} to ${max}, found ${describe(v)}`);
    }
    return v;
  }

  array(path: string): unknown[] {
    const v = this.#get(path);
    if (!Array.isArray(v)) this.fail(path, `must be an array, found ${describe(v)}`);
    return v;
  }

  intArray(path: string, min: number, max: number): number[] {
    return this.array(path).map((_, i) => this.int(`${path}.${i}`, min, max));
  }

  /** Take the next `length` bytes of the binary tail (a copy, so no caller aliases the stored value). */
  blob(length: number, path: string): Uint8Array {
    if (this.#at + length > this.#tail.length) {
      this.fail(path, `says ${length} bytes but only ${this.#tail.length - this.#at} remain`);
    }
    const out = new Uint8Array(this.#tail.subarray(this.#at, this.#at + length));
    this.#at += length;
    return out;
  }

  /** Every byte of the tail must have been taken. */
  end(): void {
    const left = this.#tail.length - this.#at;
    if (left !== 0) {
      throw new Error(`Cannot decode ${this.#label}: ${left} unexpected bytes after the fields`);
    }
  }

  #get(path: string): unknown {
    let v: unknown = this.#root;
    for (const part of path.split(".")) {
      if (typeof v !== "object" || v === null) return undefined;
      v = Array.isArray(v)
        ? v[Number(part)]
        : Object.hasOwn(v, part)
        ? (v as Record<string, unknown>)[part]
        : undefined;
    }
    return v;
  }
}

function describe(v: unknown): string {
  if (v === undefined) return "nothing";
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (Array.isArray(v)) return "an array";
  if (v === null) return "null";
  return typeof v === "object" ? "an object" : String(v);
}
