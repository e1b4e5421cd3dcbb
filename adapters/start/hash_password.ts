/**
 * `comqtt hash-password [PASSWORD]`: print an encoded PBKDF2 hash for the users file.
 * @module
 */

import process from "node:process";
import {
  DEFAULT_ITERATIONS,
  hashPassword,
  MAX_ITERATIONS,
  MIN_ITERATIONS,
} from "../../src/hooks/auth/password.ts";

const EXIT_OK = 0;

/** `hash-password [PASSWORD]`: print the encoded hash of the argument or of the first line of stdin. */
export async function hashPasswordCommand(
  argument: string | undefined,
  iterationsFlag: string | undefined,
  usage: (message: string) => number,
): Promise<number> {
  let iterations = DEFAULT_ITERATIONS;
  if (iterationsFlag !== undefined) {
    iterations = Number(iterationsFlag);
    if (!/^\d+$/.test(iterationsFlag) || iterations < MIN_ITERATIONS || iterations > MAX_ITERATIONS) {
      return usage(
        `--iterations: expected a whole number from ${MIN_ITERATIONS} to ${MAX_ITERATIONS}, received ${
          JSON.stringify(iterationsFlag)
        }`,
      );
    }
  }
  const password = argument ?? (await readPasswordFromStdin());
  if (password === "") return usage("Cannot hash an empty password");
  process.stdout.write(`${await hashPassword(password, { iterations })}\n`);
  return EXIT_OK;
}

/** The first line of stdin. On a terminal: a prompt on stderr, and the typed characters are not shown. */
async function readPasswordFromStdin(): Promise<string> {
  const stdin = process.stdin;
  if (stdin.isTTY && typeof stdin.setRawMode === "function") return await readHidden(stdin);
  let text = "";
  const decoder = new TextDecoder();
  for await (const chunk of stdin) {
    text += typeof chunk === "string" ? chunk : decoder.decode(chunk as Uint8Array, { stream: true });
    if (text.includes("\n")) break;
  }
  return text.split(/\r?\n/)[0];
}

/** Read one line from a terminal in raw mode, echoing nothing. Ctrl-C and Ctrl-D abort. */
function readHidden(stdin: typeof process.stdin): Promise<string> {
  process.stderr.write("Password: ");
  stdin.setRawMode(true);
  stdin.resume();
  const decoder = new TextDecoder();
  return new Promise((resolve) => {
    let text = "";
    const finish = (result: string | undefined) => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write("\n");
      if (result === undefined) process.exit(130);
      resolve(result);
    };
    const onData = (chunk: Uint8Array | string) => {
      for (const ch of typeof chunk === "string" ? chunk : decoder.decode(chunk)) {
        if (ch === "\r" || ch === "\n") return finish(text);
        if (ch === "\u0003" || ch === "\u0004") return finish(undefined);
        if (ch === "\u007f" || ch === "\b") text = text.slice(0, -1);
        else text += ch;
      }
    };
    stdin.on("data", onData);
  });
}
