/**
 * A broker in a process of its own, for the hardening tests that time or weigh the broker: a client in the
 * test process then sees the broker's stalls (a shared event loop would hide them) and the broker's memory is
 * its own. Started by _child.ts with one JSON argument; prints `PORT <n>` once listening.
 * @module
 */

import process from "node:process";
import { Broker } from "../../src/broker.ts";
import { AllowHook } from "../../src/hooks/auth/allow_hook.ts";
import { FileAuthHook } from "../../src/hooks/auth/file_auth_hook.ts";
import { hashPassword } from "../../src/hooks/auth/password.ts";
import type { Hook } from "../../src/hooks/hook.ts";
import type { Limits } from "../../src/options.ts";
import { createTcpListener } from "../../adapters/mod.ts";

/** What the child is told. */
export interface ChildOptions {
  limits?: Partial<Limits>;
  /** Retained messages published before listening, on `dev/<i>/temp`. */
  retained?: number;
  /** Users (name -> plain password) for a FileAuthHook with the default PBKDF2 cost; none: allow everyone. */
  users?: Record<string, string>;
}

const options = JSON.parse(process.argv[process.argv.length - 1] ?? "{}") as ChildOptions;
let auth: Hook = new AllowHook();
if (options.users !== undefined) {
  const users: Record<string, { password: string }> = {};
  for (const [name, password] of Object.entries(options.users)) {
    users[name] = { password: await hashPassword(password) };
  }
  auth = new FileAuthHook({ users });
}
const broker = new Broker({ hooks: [auth], limits: options.limits, sysInterval: 0 });
const listener = await createTcpListener({ id: "tcp", host: "127.0.0.1", port: 0 });
await broker.addListener(listener);
await broker.listen();
for (let i = 0; i < (options.retained ?? 0); i++) {
  await broker.publish(`dev/${i}/temp`, `${i}`, { retain: true });
}
process.stdout.write(`PORT ${listener.port}\n`);
const stop = () => void broker.close().then(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
