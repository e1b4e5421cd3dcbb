/**
 * Brokers for tests: in-memory by default, or on a real TCP port through the running runtime's adapter.
 * @module
 */

import { Broker } from "../../src/broker.ts";
import type { Hook } from "../../src/hooks/hook.ts";
import { AllowHook } from "../../src/hooks/auth/allow_hook.ts";
import type { BrokerOptions } from "../../src/options.ts";

/** A broker that allows everyone, sweeps often and publishes no $SYS unless asked. */
export function testBroker(options: BrokerOptions & { auth?: Hook | null } = {}): Broker {
  const { auth, ...rest } = options;
  const hooks = [...(auth === null ? [] : [auth ?? new AllowHook()]), ...(rest.hooks ?? [])];
  return new Broker({ sysInterval: 0, sweepInterval: 50, ...rest, hooks });
}

/** A broker listening on 127.0.0.1 with an ephemeral TCP port; returns it and the port. */
export async function tcpBroker(options: BrokerOptions & { auth?: Hook | null } = {}): Promise<{
  broker: Broker;
  port: number;
}> {
  const { createTcpListener } = await import("../../adapters/mod.ts");
  const broker = testBroker(options);
  const listener = await createTcpListener({ id: "tcp", host: "127.0.0.1", port: 0 });
  await broker.addListener(listener);
  await broker.listen();
  return { broker, port: listener.port };
}

/** Wait until `check` is true (polling), or fail after `ms`. */
export async function until(check: () => boolean, ms = 2000, what = "condition"): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
