/**
 * The top-level `workers` key: how many broker workers share the listeners' ports (`auto`: one per core).
 * Validated against what worker mode does not support yet, so a config never starts and silently loses data.
 * @module
 */

import type { Checker } from "./checker.ts";
import type { ClusterConfig, StorageConfig } from "./config.ts";

/** The most workers a config may ask for. */
export const MAX_WORKERS = 256;

/**
 * Read `workers`: a whole number from 1 to {@link MAX_WORKERS}, or `auto`. More than one worker (or `auto`) needs
 * `storage.type: memory` and no `cluster`: each worker would otherwise write the same files or join NATS alone.
 */
export function parseWorkers(
  check: Checker,
  value: unknown,
  storage: StorageConfig,
  cluster: ClusterConfig | undefined,
): number | "auto" | undefined {
  let workers: number | "auto" | undefined;
  if (value === "auto") workers = "auto";
  else if (typeof value === "number") workers = check.wholeNumber(value, ["workers"], 1, MAX_WORKERS);
  else {
    check.problem(
      ["workers"],
      `must be a whole number from 1 to ${MAX_WORKERS} or "auto", found ${
        JSON.stringify(value) ?? "nothing"
      }`,
    );
  }
  if (workers === undefined || workers === 1) return workers;
  if (storage.type !== "memory") {
    check.problem(
      ["workers"],
      `workers ${JSON.stringify(workers)} does not support storage type "${storage.type}" yet: ` +
        `use storage type "memory" or workers: 1`,
    );
  }
  if (cluster !== undefined) {
    check.problem(["workers"], `workers ${JSON.stringify(workers)} cannot be combined with "cluster" yet`);
  }
  return workers;
}
