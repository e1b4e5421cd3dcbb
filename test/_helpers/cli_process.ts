/**
 * Run the broker CLI (main.ts) as a child process with the runtime that runs the test, and drive it:
 * wait for log lines, signal it by pid, wait for its exit with a bound.
 * @module
 */

import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

/** The project root. */
export const ROOT: string = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
/** A cold `deno run` type-strips and caches the tree first. */
export const STARTUP_MS = 20_000;

/** How to run main.ts with the executable that runs this test. */
export function cliCommand(): string[] {
  const g = globalThis as { Deno?: unknown; Bun?: unknown };
  if (g.Deno !== undefined) return ["run", "-A", "main.ts"];
  return ["main.ts"]; // bun and node both take the file directly
}

/** A child process and what it printed. */
export interface Run {
  child: ChildProcess;
  output(): string;
  /** Resolves with the first match of `pattern` in stdout+stderr, rejects after `ms` or when the process ends. */
  waitFor(pattern: RegExp, ms?: number): Promise<RegExpMatchArray>;
  exited: Promise<{ code: number | null; signal: string | null }>;
}

const running = new Set<ChildProcess>();

/** Kill (by pid, SIGKILL) every process started here that is still running: for a test file's `after`. */
export function killLeftovers(): void {
  for (const child of running) child.kill("SIGKILL");
}

/** Start a command in the project root with stdout and stderr collected. */
export function startProcess(
  command: string,
  args: string[],
  options: { cwd?: string; input?: string } = {},
): Run {
  const child = spawn(command, args, {
    cwd: options.cwd ?? ROOT,
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1" },
  });
  running.add(child);
  let text = "";
  const waiters = new Set<() => void>();
  const onData = (chunk: Uint8Array | string) => {
    text += chunk.toString();
    for (const w of waiters) w();
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  if (options.input !== undefined) child.stdin!.end(options.input);
  // "exit" can come before the last bytes of stdout are read (a mosquitto_sub that printed its one message and
  // ended was once seen here with no output): settle on "close", when the pipes have ended, and fall back to 2 s
  // after "exit" in case something the child started still holds a pipe open.
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    const settle = (code: number | null, signal: string | null) => {
      running.delete(child);
      for (const w of waiters) w();
      resolve({ code, signal });
    };
    child.once("close", settle);
    child.once("exit", (code, signal) => {
      running.delete(child);
      setTimeout(() => settle(code, signal), 2000).unref();
    });
  });
  return {
    child,
    output: () => text,
    exited,
    waitFor(pattern, ms = STARTUP_MS) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = text.match(pattern);
          if (m) {
            done();
            resolve(m);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            done();
            reject(new Error(`process ended before ${pattern}; output:\n${text}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timed out after ${ms} ms waiting for ${pattern}; output:\n${text}`));
        }, ms);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
  };
}

/** Start main.ts with `args` under the running runtime. */
export function startCli(args: string[], options: { input?: string } = {}): Run {
  return startProcess(process.execPath, [...cliCommand(), ...args], options);
}

/**
 * Send `sig` to the child by its pid. Not `child.kill()`: Deno's node:child_process then reports the exit as
 * killed-by-signal even when the child handled the signal and exited 0 itself; `process.kill(pid)` does not.
 */
export function signalProcess(run: Run, sig: "SIGINT" | "SIGTERM" | "SIGKILL" | "SIGHUP"): void {
  if (run.child.exitCode !== null || run.child.signalCode !== null || run.child.pid === undefined) return;
  try {
    process.kill(run.child.pid, sig);
  } catch {
    // already gone
  }
}

/** Wait for the process to end within `ms`; kill it past that and reject. */
export async function finishProcess(run: Run, ms = 10_000): Promise<{ code: number | null; output: string }> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      signalProcess(run, "SIGKILL");
      reject(new Error(`process did not end within ${ms} ms; output:\n${run.output()}`));
    }, ms);
  });
  try {
    const { code } = await Promise.race([run.exited, timeout]);
    return { code, output: run.output() };
  } finally {
    clearTimeout(timer);
  }
}
