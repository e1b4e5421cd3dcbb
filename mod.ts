/**
 * comqtt-ts: an MQTT 3.1, 3.1.1 and 5.0 broker for Deno, Bun and Node, from one TypeScript source tree.
 *
 * The core in `src/` uses no runtime API; the network comes from an adapter (`createTcpListener` picks the
 * running runtime's). With no authentication hook the library refuses every client: add {@link AllowHook},
 * {@link FileAuthHook} or your own {@link Hook}.
 *
 * @example Embed a broker and publish from your service
 * ```ts
 * import { AllowHook, Broker, createTcpListener } from "@comqtt/broker";
 *
 * const broker = new Broker({ hooks: [new AllowHook()] });
 * await broker.addListener(await createTcpListener({ host: "127.0.0.1", port: 1883 }));
 * await broker.listen();
 * await broker.publish("status/service", "up", { qos: 1, retain: true });
 * // ...
 * await broker.close();
 * ```
 * @module
 */

export { Broker } from "./src/broker.ts";
export type { PublishOptions } from "./src/broker.ts";
export { DEFAULT_LIMITS } from "./src/options.ts";
export type { BrokerOptions, Limits } from "./src/options.ts";
export type { Message } from "./src/message.ts";
export type {
  Access,
  ClientInfo,
  DisconnectInfo,
  DropReason,
  Hook,
  HookContext,
  Verdict,
} from "./src/hooks/hook.ts";
export { AllowHook } from "./src/hooks/auth/allow_hook.ts";
export { DenyHook } from "./src/hooks/auth/deny_hook.ts";
export { FileAuthHook } from "./src/hooks/auth/file_auth_hook.ts";
export { ListenerAuthHook } from "./src/hooks/auth/listener_auth_hook.ts";
export type { ListenerAuthHookOptions } from "./src/hooks/auth/listener_auth_hook.ts";
export type { FileAuthHookOptions } from "./src/hooks/auth/file_auth_hook.ts";
export { hashPassword, verifyPassword } from "./src/hooks/auth/password.ts";
export { MqttError } from "./src/errors.ts";
export { CONNACK_V3, RC } from "./src/packets/reason_codes.ts";
export type * from "./src/packets/types.ts";
export { createLogger, silentLogger } from "./src/logger.ts";
export type { LogFields, Logger, LoggerOptions, LogLevel } from "./src/logger.ts";
export { FakeClock, systemClock } from "./src/clock.ts";
export type { Clock, TimerHandle } from "./src/clock.ts";
export type {
  Accept,
  AcceptInfo,
  Connection,
  ConnectionHandler,
  Listener,
} from "./src/transport/connection.ts";
export { connectMemory } from "./src/transport/memory.ts";
export type { MemoryPeer } from "./src/transport/memory.ts";
export { parseConfig } from "./src/config/parse_config.ts";
export { ConfigError } from "./src/config/config_error.ts";
export type { Config } from "./src/config/config.ts";
export {
  createTcpListener,
  createTlsListener,
  createWsListener,
  runtimeName,
  runtimeVersion,
} from "./adapters/mod.ts";
export type {
  ListenerLimitOptions,
  Pem,
  TcpListenerOptions,
  TlsListenerOptions,
  TlsOptions,
  WsListenerOptions,
} from "./adapters/mod.ts";
export { createHttpApp } from "./src/http/http_app.ts";
export type { HttpApp, HttpAppOptions } from "./src/http/http_app.ts";
export { storageLatency, timeStorage } from "./src/http/storage_timing.ts";
export { createHttpServer, openKvStorage } from "./adapters/mod.ts";
export type { HttpServer } from "./adapters/mod.ts";
export { MemoryStorage } from "./src/storage/memory_storage.ts";
export type { Storage, StorageOp, StoredState } from "./src/storage/storage.ts";
export type { Capabilities, SharedSubscriptionStrategy } from "./src/options.ts";
export { createNatsCluster } from "./adapters/cluster/mod.ts";
export type { NatsClusterOptions } from "./adapters/cluster/mod.ts";
export type { ClusterBus, ClusterNode, HandedSession } from "./src/cluster/cluster_bus.ts";
export { DEFAULT_CAPABILITIES } from "./src/options.ts";

// `deno run -A jsr:@comqtt/broker` (or running this file) starts the standalone broker, as main.ts does.
if (import.meta.main) {
  const { main } = await import("./main.ts");
  const { default: process } = await import("node:process");
  process.exit(await main(process.argv.slice(2)));
}
