/**
 * v5 enhanced authentication (CONNECT with an Authentication Method, then AUTH packets) and
 * re-authentication on an established connection (section 4.12), run through `onEnhancedAuth` hooks.
 * @module
 */

import { MqttError } from "../../errors.ts";
import type { EnhancedAuthResult } from "../../hooks/hook.ts";
import { disconnectCode, RC } from "../../packets/reason_codes.ts";
import type { AuthPacket } from "../../packets/types.ts";
import type { ClientContext as Client } from "../broker_core.ts";
import { afterAuthentication, type PendingConnect, refuse } from "./connect.ts";

/** Per-connection enhanced-authentication progress. */
interface AuthExchange {
  readonly method: string;
  readonly reauthenticate: boolean;
  round: number;
  readonly pending?: PendingConnect;
}

const exchanges = new WeakMap<Client, AuthExchange>();

/** CONNECT carried an Authentication Method: ask the hooks for the first step. */
export async function startEnhancedAuth(
  client: Client,
  pending: PendingConnect,
  method: string,
  data: Uint8Array | undefined,
): Promise<void> {
  client.authenticationMethod = method;
  const exchange: AuthExchange = { method, reauthenticate: false, round: 0, pending };
  exchanges.set(client, exchange);
  const answer = await client.broker.hooks.enhancedAuth(client, {
    method,
    data,
    reauthenticate: false,
    round: 0,
  });
  await settle(client, exchange, answer);
}

/**
 * An AUTH packet from the client: the next step of a running exchange (reason 0x18), or the start of
 * re-authentication on an established connection (reason 0x19).
 */
export async function handleAuth(client: Client, packet: AuthPacket): Promise<void> {
  const method = packet.properties?.authenticationMethod;
  let exchange = exchanges.get(client);
  if (client.state === "connected" && packet.reasonCode === RC.reAuthenticate) {
    // Re-authentication uses the method of CONNECT; without enhanced authentication there is none to repeat.
    if (client.authenticationMethod === undefined || method !== client.authenticationMethod) {
      throw new MqttError(
        RC.protocolError,
        "Cannot re-authenticate with another or no authentication method",
      );
    }
    exchange = { method, reauthenticate: true, round: 0 };
    exchanges.set(client, exchange);
  } else if (exchange === undefined || packet.reasonCode !== RC.continueAuthentication) {
    throw new MqttError(
      RC.protocolError,
      `Cannot accept AUTH with reason 0x${packet.reasonCode.toString(16)} now`,
    );
  } else {
    if (method !== exchange.method) {
      throw new MqttError(RC.protocolError, "Cannot change the authentication method during an exchange");
    }
    exchange.round++;
  }
  const answer = await client.broker.hooks.enhancedAuth(client, {
    method: exchange.method,
    data: packet.properties?.authenticationData,
    reauthenticate: exchange.reauthenticate,
    round: exchange.round,
  });
  await settle(client, exchange, answer);
}

async function settle(
  client: Client,
  exchange: AuthExchange,
  answer: EnhancedAuthResult | undefined,
): Promise<void> {
  if (client.state === "closed") return;
  if (answer === undefined || answer.result === "fail") {
    exchanges.delete(client);
    const code = answer === undefined ? RC.badAuthenticationMethod : answer.reasonCode ?? RC.notAuthorized;
    const reason = answer === undefined
      ? `no hook handles authentication method "${exchange.method}"`
      : answer.reason ?? "authentication failed";
    if (exchange.pending !== undefined) return refuse(client, code, reason);
    // Only DISCONNECT reason codes on a DISCONNECT; an authentication failure is "not authorized" otherwise.
    const reasonCode = disconnectCode(code, RC.notAuthorized);
    client.sendPacket({ type: "disconnect", reasonCode, properties: { reasonString: reason } });
    client.close(false, new MqttError(reasonCode, reason));
    return;
  }
  if (answer.result === "continue") {
    client.sendPacket({
      type: "auth",
      reasonCode: RC.continueAuthentication,
      properties: { authenticationMethod: exchange.method, authenticationData: answer.data },
    });
    return;
  }
  exchanges.delete(client);
  if (exchange.pending !== undefined) {
    await afterAuthentication(client, exchange.pending, true, answer.data);
    return;
  }
  client.sendPacket({
    type: "auth",
    reasonCode: RC.success,
    properties: { authenticationMethod: exchange.method, authenticationData: answer.data },
  });
}
