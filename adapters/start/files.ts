/**
 * Reading the files a config names, with errors a user can act on.
 * @module
 */

import { readFile } from "node:fs/promises";

/** The text of `path`, or an Error that says which file (`what`) could not be read and why. */
export async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    const code = (err as { code?: string }).code;
    const reason = code === "ENOENT"
      ? "no such file"
      : code === "EACCES"
      ? "permission denied"
      : (err as Error).message;
    throw new Error(`Cannot read ${what} ${JSON.stringify(path)}: ${reason}`);
  }
}
