/**
 * Reading CoAP requests for the gateway (URI, options, query parameters) and building its replies.
 * @module
 */

import type { QoS } from "../packets/types.ts";
import type { Reply } from "./endpoint.ts";
import {
  type CoapMessage,
  CON,
  isCritical,
  KNOWN_OPTIONS,
  OPT,
  optionText,
  optionValues,
  RESPONSE,
} from "./message.ts";
import { LINK_CLOSED } from "./mqtt_link.ts";

const text = new TextEncoder();

export interface Uri {
  readonly path: string[];
  readonly query: Map<string, string>;
  /** Path and query: the resource a block-wise transfer is about. */
  readonly resource: string;
}

/** Uri-Path and Uri-Query, percent-decoded (as EMQX does, so that `%2B` and `%23` are wildcards). */
export function readUri(request: CoapMessage): Uri | { error: string } {
  try {
    const path = optionValues(request, OPT.uriPath).map((v) => decodeURIComponent(optionText(v)));
    const query = new Map<string, string>();
    const raw: string[] = [];
    for (const v of optionValues(request, OPT.uriQuery)) {
      const item = optionText(v);
      raw.push(item);
      const eq = item.indexOf("=");
      const name = decodeURIComponent(eq === -1 ? item : item.slice(0, eq));
      query.set(name, eq === -1 ? "" : decodeURIComponent(item.slice(eq + 1)));
    }
    return { path, query, resource: `${path.join("/")}?${raw.join("&")}` };
  } catch {
    return { error: "bad percent-encoding in the URI" };
  }
}

/** Unknown critical options make a request 4.02 [RFC 7252 5.4.1]; a proxy request 5.05 [RFC 7252 5.7.2]. */
export function checkOptions(request: CoapMessage): Reply | undefined {
  for (const o of request.options) {
    if (o.number === OPT.proxyUri || o.number === OPT.proxyScheme) return { code: (5 << 5) | 5 };
    if (isCritical(o.number) && !KNOWN_OPTIONS.has(o.number)) {
      return diagnostic(RESPONSE.badOption, `unknown critical option ${o.number}`);
    }
    if (o.number === OPT.observe && o.value.length > 3) {
      return diagnostic(RESPONSE.badOption, "Observe too long");
    }
  }
  return undefined;
}

/** The `qos` query parameter; without it a CON request publishes at QoS 1 and a NON one at 0 (EMQX's default). */
export function readQos(query: Map<string, string>, request: CoapMessage): QoS | undefined {
  const value = query.get("qos");
  if (value === undefined) return request.type === CON ? 1 : 0;
  return value === "0" || value === "1" || value === "2" ? (Number(value) as QoS) : undefined;
}

/** An MQTT refusal as a CoAP response code. */
export function refusal(code: number): Reply {
  if (code === 0x87) return diagnostic(RESPONSE.forbidden, "not authorized");
  if (code === 0x8f || code === 0x90 || code === 0x9e || code === 0xa1 || code === 0xa2) {
    return diagnostic(RESPONSE.badRequest, `refused by the broker (reason code 0x${code.toString(16)})`);
  }
  if (code === 0x97 || code === 0x89 || code === LINK_CLOSED) {
    return diagnostic(RESPONSE.serviceUnavailable, "the broker cannot take it now");
  }
  return diagnostic(
    RESPONSE.internalServerError,
    `refused by the broker (reason code 0x${code.toString(16)})`,
  );
}

/** A response with a diagnostic payload [RFC 7252 5.5.2]. */
export function diagnostic(code: number, message: string): Reply {
  return { code, payload: text.encode(message) };
}

/** User name and password of a request, as one comparable string. */
export function credentials(query: Map<string, string>): string {
  return `${query.get("username") ?? ""}\u0000${query.get("password") ?? ""}`;
}

/** A `/mqtt/connection` token: 32 random bits in decimal, as EMQX's. */
export function randomToken(): string {
  return String(crypto.getRandomValues(new Uint32Array(1))[0]);
}
