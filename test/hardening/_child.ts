/**
 * Start and stop the broker of _child_broker.ts, and read its resident memory.
 * @module
 */

import { readFileSync } from "node:fs";
import process from "node:process";
import { cliCommand, finishProcess, type Run, signalProcess, startProcess } from "../_helpers/cli_process.ts";
import type { ChildOptions } from "./_child_broker.ts";

/** A running child broker. */
export interface ChildBroker {
  readonly port: number;
  readonly run: Run;
  /** Resident set size in bytes (Linux /proc). */
  rss(): number;
  /** SIGTERM, wait for the exit (SIGKILL past 10 s). */
  stop(): Promise<void>;
}

/** Start a broker process with the runtime that runs the test. */
export async function startChildBroker(options: ChildOptions): Promise<ChildBroker> {
  const args = [...cliCommand()];
  args[args.length - 1] = "test/hardening/_child_broker.ts";
  const run = startProcess(process.execPath, [...args, JSON.stringify(options)]);
  let port: number;
  try {
    port = Number((await run.waitFor(/PORT (\d+)/))[1]);
  } catch (err) {
    signalProcess(run, "SIGKILL");
    throw err;
  }
  return {
    port,
    run,
    rss() {
      const status = readFileSync(`/proc/${run.child.pid}/status`, "utf8");
      const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]);
      return kb * 1024;
    },
    async stop() {
      signalProcess(run, "SIGTERM");
      await finishProcess(run);
    },
  };
}
