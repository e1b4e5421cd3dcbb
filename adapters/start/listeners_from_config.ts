/**
 * The listeners a config asks for, from the running runtime's adapter.
 * @module
 */

import type { Config, ListenerConfig, ListenerTlsConfig } from "../../src/config/config.ts";
import type { Logger } from "../../src/logger.ts";
import type { Listener } from "../../src/transport/connection.ts";
import * as adapters from "../mod.ts";
import { LOOPBACK_ORIGINS } from "../_ws_common.ts";
import { readText } from "./files.ts";

/**
 * Bytes a WebSocket message may carry beyond one MQTT packet: messages are capped at the largest packet plus
 * this, so a client that has not even sent CONNECT cannot make the runtime buffer a 16-64 MiB frame.
 */
const WS_MESSAGE_SLACK = 8;

/**
 * A listener from the running runtime's adapter: TCP, TLS, WebSocket, WSS, Unix socket or CoAP, with its connection
 * limit. `checkTls` may refuse the PEM files read before anything is created.
 */
export async function listenerFromConfig(
  l: ListenerConfig,
  config: Config,
  logger: Logger,
  checkTls?: (tls: adapters.TlsOptions) => void,
  reusePort = false,
): Promise<Listener> {
  const common = {
    id: l.id,
    host: l.host,
    port: l.port,
    ...(reusePort ? { reusePort } : {}),
    logger,
    ...(l.maxConnections === undefined ? {} : { maxConnections: l.maxConnections }),
  };
  if (l.type === "coap") {
    return (await import("../coap.ts")).createCoapListener({ ...common, limits: config.limits });
  }
  if (l.type === "unix") {
    const { id, path, mode, maxConnections } = l;
    return await adapters.createUnixListener({ id, path: path!, mode, logger, maxConnections });
  }
  const tls = l.tls === undefined ? undefined : await readTls(l.tls);
  if (tls !== undefined) checkTls?.(tls);
  if (l.type === "tcp") {
    return tls === undefined
      ? await adapters.createTcpListener(common)
      : await adapters.createTlsListener({ ...common, tls });
  }
  const origins = l.allowedOrigins ??
    ((l.auth ?? config.auth).type === "allow" ? LOOPBACK_ORIGINS : undefined);
  return await adapters.createWsListener({
    ...common,
    path: l.path,
    ...(tls === undefined ? {} : { tls }),
    ...(origins === undefined ? {} : { allowedOrigins: origins }),
    maxMessageSize: config.limits.maxPacketSize + WS_MESSAGE_SLACK,
  });
}

/** The PEM files of a listener's `tls`. */
async function readTls(tls: ListenerTlsConfig): Promise<adapters.TlsOptions> {
  return {
    cert: await readText(tls.cert, "TLS certificate file"),
    key: await readText(tls.key, "TLS key file"),
    ...(tls.clientCa === undefined ? {} : { clientCa: await readText(tls.clientCa, "TLS client CA file") }),
    useIdentityAsUsername: tls.useIdentityAsUsername,
  };
}
