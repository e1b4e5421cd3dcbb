/**
 * A service that embeds the broker: it loads the operator's comqtt.yaml exactly as the `comqtt` command would
 * (listeners, auth, limits, storage, dashboard), adds a hook of its own, and publishes its status.
 *
 * ```sh
 * node examples/embedded_service.ts examples/config.yaml               # or deno run -A / bun run
 * node examples/embedded_service.ts examples/config.yaml 127.0.0.1:0   # replace the config's TCP listeners
 * ```
 * @module
 */

import process from "node:process";
import { type Hook, startFromConfig } from "../mod.ts";

/** Counts what clients and the service published, per top-level topic ($SYS left out), and says so on each new one. */
class TopicCounter implements Hook {
  readonly id = "topic-counter";
  readonly counts = new Map<string, number>();

  onPublished(_client: unknown, message: { topic: string }): void {
    if (message.topic.startsWith("$")) return;
    const top = message.topic.split("/")[0];
    const seen = this.counts.get(top) ?? 0;
    this.counts.set(top, seen + 1);
    if (seen === 0) console.log(`topic-counter: first message under ${top}/`);
  }
}

const [configPath = "comqtt.yaml", tcp] = process.argv.slice(2);
const counter = new TopicCounter();
const running = await startFromConfig(configPath, {
  hooks: [counter],
  overrides: tcp === undefined ? {} : { tcp: [tcp] },
});
for (const listener of running.broker.listeners) console.log(`service: MQTT on ${listener.address}`);
// The service's own messages need no credentials: they do not come through a listener.
await running.broker.publish("service/status", "online", { qos: 1, retain: true });

const stop = async () => {
  await running.broker.publish("service/status", "offline", { qos: 1, retain: true });
  await running.close();
  console.log(`service: stopped after ${[...counter.counts.values()].reduce((a, b) => a + b, 0)} messages`);
  process.exit(0);
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
