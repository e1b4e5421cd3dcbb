/**
 * comqtt-ts: an MQTT 3.1, 3.1.1 and 5.0 broker for Deno, Bun and Node, from one TypeScript source tree.
 *
 * The core in `src/` uses no runtime API; the network comes from an adapter (`createTcpListener` picks the
 * running runtime's). With no authentication hook the library refuses every client: add {@link AllowHook},
 * {@link FileAuthHook} or your own {@link Hook}.
 *
 * @example Start a broker from the user's config file, as the CLI would, with a hook of your own
 * ```ts
 * import { startFromConfig } from "@comqtt/broker";
 *
 * const running = await startFromConfig("./comqtt.yaml", {
 *   hooks: [{ id: "audit", onConnected: (client) => console.log(`${client.id} connected`) }],
 * });
 * await running.broker.publish("status/service", "up", { retain: true });
 * // ...
 * await running.close();
 * ```
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
// Auth backends (issue 14): the runtime-free decision logic; Redis and SQL stores and config → hook live in
// adapters/backends/ (createAuthHook in auth_from_config.ts).
export { BackendAuthHook } from "./src/hooks/auth/backends/backend_hook.ts";
export type { BackendAuthHookOptions, OnError } from "./src/hooks/auth/backends/backend_hook.ts";
export { HttpBackend } from "./src/hooks/auth/backends/http_backend.ts";
export type { HttpBackendOptions } from "./src/hooks/auth/backends/http_backend.ts";
export { JwtBackend } from "./src/hooks/auth/backends/jwt_backend.ts";
export type { JwtBackendOptions } from "./src/hooks/auth/backends/jwt_backend.ts";
export { StoreBackend } from "./src/hooks/auth/backends/store_backend.ts";
export type { StoreBackendOptions } from "./src/hooks/auth/backends/store_backend.ts";
export { AuthChainHook } from "./src/hooks/auth/backends/auth_chain.ts";
export type {
  AclRequest,
  AuthAnswer,
  AuthBackend,
  AuthRequest,
  StoredUser,
  UserStore,
} from "./src/hooks/auth/backends/backend.ts";
export { createAuthHook } from "./adapters/backends/auth_from_config.ts";
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
export { createHttpServer, openKvStorage, openSqliteStorage } from "./adapters/mod.ts";
export type { HttpServer } from "./adapters/mod.ts";
export { MemoryStorage } from "./src/storage/memory_storage.ts";
export type { Storage, StorageOp, StoredState } from "./src/storage/storage.ts";
export type { Capabilities, SharedSubscriptionStrategy } from "./src/options.ts";
export { createNatsCluster } from "./adapters/cluster/mod.ts";
export type { NatsClusterOptions } from "./adapters/cluster/mod.ts";
export type {
  ClusterBus,
  ClusterClientPage,
  ClusterClientQuery,
  ClusterClientRow,
  ClusterClients,
  ClusterMember,
  ClusterNode,
  ClusterSessionRecord,
  ClusterStatus,
  HandedDelivery,
  HandedSession,
} from "./src/cluster/cluster_bus.ts";
export type { ClusterConfig, ClusterNatsConfig } from "./src/config/config.ts";
export { DEFAULT_CAPABILITIES } from "./src/options.ts";

export { startBroker, startFromConfig } from "./adapters/start/start_broker.ts";
export type { RunningBroker, StartOptions } from "./adapters/start/start_broker.ts";
export { loadConfig } from "./adapters/start/load_config.ts";
export type { ConfigSource, LoadedConfig } from "./adapters/start/load_config.ts";
export type { ConfigOverrides } from "./src/config/cli_overrides.ts";
export type { ReloadResult } from "./adapters/start/reload.ts";
// Types that exported signatures above mention, so that the documentation can link them (deno doc --lint).
export type { AclRule, RuleAccess } from "./src/hooks/auth/acl_rules.ts";
export type { AuthBackendStats } from "./src/hooks/auth/backends/backend_stats.ts";
export type { FetchLike } from "./src/hooks/auth/backends/http_backend.ts";
export { PASSWORD_FORMATS } from "./src/hooks/auth/backends/password_formats.ts";
export type { PasswordCheck, PasswordFormat } from "./src/hooks/auth/backends/password_formats.ts";
export type { EnhancedAuthResult, EnhancedAuthStep } from "./src/hooks/hook.ts";
export type { MaybePromise } from "./src/hooks/hook_chain.ts";
export type {
  AuthConfig,
  HttpAuthConfig,
  HttpConfig,
  ListenerConfig,
  ListenerTlsConfig,
  ListenerType,
  MqttConfig,
  StorageConfig,
} from "./src/config/config.ts";
export type {
  AuthChainConfig,
  AuthLinkConfig,
  BackendAuthConfig,
  BackendCommonConfig,
  HttpAuthBackendConfig,
  JwtAuthBackendConfig,
  PasswordConfig,
  PasswordHashName,
  RedisAuthBackendConfig,
  SqlAuthBackendConfig,
} from "./src/config/auth_config.ts";
export type { BridgeConfig, BridgeRemoteConfig } from "./src/config/parse_bridges.ts";
export type { ConfigProblem } from "./src/config/config_error.ts";
export type {
  StoredBridgeQueue,
  StoredClientInfo,
  StoredInflight,
  StoredMessage,
  StoredQueued,
  StoredSession,
  StoredSessionState,
  StoredSubscription,
  StoredWill,
} from "./src/storage/storage.ts";
export type { KvAtomicLike, KvKeyPart, KvLike } from "./src/storage/kv_like.ts";
export type { SqliteLike, SqliteStatementLike, SqliteValue } from "./src/storage/sqlite_like.ts";
export type { SqliteStorageOptions, SqliteSynchronous } from "./src/storage/sqlite_storage.ts";
export type { DenoKvOpenOptions } from "./adapters/_deno_kv_package.ts";
export type { FetchApp, HttpServerOptions } from "./adapters/_http_common.ts";
export type { RuntimeName } from "./adapters/mod.ts";
export type { LatencyHistogram, StorageLatency } from "./src/http/storage_timing.ts";
export type { CreateAuthHookOptions } from "./adapters/backends/auth_from_config.ts";
export type { EndpointOptions } from "./src/coap/exchange.ts";
export type { GatewayOptions } from "./src/coap/gateway.ts";
export type { BridgeHost } from "./src/bridge/bridge_host.ts";
export type { BackoffOptions } from "./src/bridge/backoff.ts";
export type { BridgeQueueLimits, QueueFullPolicy } from "./src/bridge/bridge_queue.ts";
export type { TopicMapping } from "./src/bridge/topic_mapping.ts";
export type { LinkSubscription } from "./src/bridge/bridge_link.ts";
export type { MqttLinkOptions } from "./adapters/bridge/mqtt_link.ts";
export type { BridgesAndRules } from "./adapters/bridge/from_config.ts";
export type { CompiledRule, RuleMetrics } from "./src/rules/rule.ts";
export type { RuleBridge, RuleHost } from "./src/rules/rule_engine.ts";
export type { FetchLike as RuleFetchLike, HttpSenderOptions } from "./src/rules/http_sender.ts";

// `deno run -A jsr:@comqtt/broker` (or running this file) starts the standalone broker, as main.ts does.
if (import.meta.main) {
  const { main } = await import("./adapters/start/cli.ts");
  const { default: process } = await import("node:process");
  process.exit(await main(process.argv.slice(2)));
}
// CoAP gateway: a UDP listener whose clients act as MQTT clients (see README "CoAP gateway").
export { createCoapListener } from "./adapters/coap.ts";
export { CoapListener, DEFAULT_COAP_PORT } from "./src/coap/coap_listener.ts";
export type { CoapListenerOptions } from "./src/coap/coap_listener.ts";
export type { BindDatagram, DatagramSocket, Peer } from "./src/coap/datagram.ts";
export { Bridge } from "./src/bridge/bridge.ts";
export type { BridgeOptions, BridgeStatus } from "./src/bridge/bridge.ts";
export type { BridgeConnector, BridgeLink, LinkHandlers, LinkMessage } from "./src/bridge/bridge_link.ts";
export { RuleEngine } from "./src/rules/rule_engine.ts";
export type { RuleEngineOptions, RuleStatus } from "./src/rules/rule_engine.ts";
export { compileRule } from "./src/rules/rule.ts";
export type { RuleActionConfig, RuleConfig } from "./src/rules/rule.ts";
export { mqttConnector } from "./adapters/bridge/mqtt_link.ts";
export { startBridgesAndRules } from "./adapters/bridge/from_config.ts";
