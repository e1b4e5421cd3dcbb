import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { flushConsoleLines, writeConsoleLine } from "./console_lines.ts";

/** Run `fn` with console.log recorded instead of printed. */
async function recording(fn: (calls: string[]) => Promise<void> | void): Promise<void> {
  const original = console.log;
  const calls: string[] = [];
  console.log = (text: string) => void calls.push(text);
  try {
    await fn(calls);
  } finally {
    flushConsoleLines();
    console.log = original;
  }
}

describe("console lines", () => {
  it("writes the lines of one burst in one call, in order, shortly after", async () => {
    await recording(async (calls) => {
      writeConsoleLine("one");
      writeConsoleLine("two");
      writeConsoleLine("three");
      assert.deepEqual(calls, [], "nothing is written synchronously");
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(calls, ["one\ntwo\nthree"]);
    });
  });

  it("writes at once when asked, and when the batch grows large", async () => {
    await recording((calls) => {
      writeConsoleLine("a");
      flushConsoleLines();
      assert.deepEqual(calls, ["a"]);
      const long = "x".repeat(40 * 1024);
      writeConsoleLine(long);
      writeConsoleLine(long);
      assert.equal(calls.length, 2, "a batch over 64 KiB is written without waiting");
      assert.equal(calls[1], `${long}\n${long}`);
    });
  });
});
