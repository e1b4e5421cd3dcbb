/**
 * The CLI's log lines to the console in batches. `console.log` writes synchronously to a pipe or a file, one
 * system call per line, and the reader at the other end (a process manager, `| tee`) wakes up for each: with a
 * line per connect and one per disconnect, the connection rate fell from 8,100-9,000 to 3,000-3,800 per second
 * on Deno and from 8,300 to 3,500-4,600 on Node in the bench (Bun was not slowed). Batched, the lines of one
 * burst go out in one write, at most {@link DELAY_MS} later, and before the process exits.
 * @module
 */

import process from "node:process";

/** Longest a line waits in the batch. */
const DELAY_MS = 10;
/** A batch this large is written at once. */
const MAX_BATCH_CHARS = 64 * 1024;

let batch: string[] = [];
let chars = 0;
let timer: ReturnType<typeof setTimeout> | undefined;
let exitHooked = false;

/** Write what is batched now. */
export function flushConsoleLines(): void {
  clearTimeout(timer);
  timer = undefined;
  if (batch.length === 0) return;
  const text = batch.join("\n");
  batch = [];
  chars = 0;
  console.log(text);
}

/** Queue one line for the console (every caller shares one batch, so lines keep their order). */
export function writeConsoleLine(line: string): void {
  if (!exitHooked) {
    exitHooked = true;
    // process.exit() and the end of the event loop both emit "exit" on Deno, Bun and Node.
    process.once("exit", flushConsoleLines);
  }
  batch.push(line);
  chars += line.length + 1;
  if (chars >= MAX_BATCH_CHARS) flushConsoleLines();
  else timer ??= setTimeout(flushConsoleLines, DELAY_MS);
}
