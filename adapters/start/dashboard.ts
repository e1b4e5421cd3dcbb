/**
 * The dashboard, JSON API and /metrics of a config's `http` key, served by the running runtime's adapter.
 * @module
 */

import type { Broker } from "../../src/broker.ts";
import type { Config } from "../../src/config/config.ts";
import { formatAddress, isLoopback } from "../../src/config/address.ts";
import { createHttpApp } from "../../src/http/http_app.ts";
import type { StorageLatency } from "../../src/http/storage_timing.ts";
import type { Logger } from "../../src/logger.ts";
import * as adapters from "../mod.ts";
import type { HttpServer } from "../mod.ts";

/** A dashboard built (its hook already watching the broker) and ready to be served. */
export interface Dashboard {
  /** Serve it on `http.address`; rejects when the address cannot be bound. */
  listen(): Promise<HttpServer>;
  /** End its live-update streams. */
  close(): void;
}

/** The dashboard for `broker`, showing `config` (secrets masked) and the storage latency. */
export function startDashboard(
  broker: Broker,
  config: Config,
  latency: StorageLatency,
  logger: Logger,
): Dashboard {
  const http = config.http!;
  const app = createHttpApp({
    broker,
    storageLatency: latency,
    auth: http.auth,
    loopbackHostOnly: isLoopback(http.host),
    config,
    runtime: { name: adapters.runtimeName(), version: adapters.runtimeVersion() },
    maxEventStreams: http.maxEventStreams,
  });
  return {
    close: () => app.close(),
    async listen() {
      const server = await adapters.createHttpServer(app.app, { host: http.host, port: http.port });
      await server.listen();
      app.ready = true;
      const auth = http.auth;
      const methods = [auth?.token ? "token" : "", auth?.username ? "basic" : ""].filter((m) => m !== "");
      logger.info("dashboard listening", {
        address: server.address,
        url: `http://${server.address}/`,
        auth: methods.join("+") || "none",
        ...(auth?.publicRead ? { reading: "public" } : {}),
      });
      if (!auth && !isLoopback(http.host)) {
        logger.warn(
          "the dashboard has no credentials and listens on a non-local address: anyone who reaches it may " +
            "disconnect clients and publish",
          { address: formatAddress(http), hint: "set http.auth.token" },
        );
      }
      return server;
    },
  };
}
