/**
 * TLS options shared by the TLS (MQTT over TLS) and WSS (MQTT over secure WebSocket) listeners of every runtime,
 * and the rules every adapter applies to a client certificate. Pure TypeScript.
 * @module
 */

import type { AcceptInfo } from "../src/transport/connection.ts";
import type { ListenerLimitOptions } from "./_limit.ts";
import type { TcpListenerOptions } from "./_tcp_common.ts";

/** PEM text, or its bytes (e.g. read from a file). */
export type Pem = string | Uint8Array;

/** The certificate a TLS or WSS listener presents, and how it checks clients. */
export interface TlsOptions {
  /** Server certificate chain, PEM (the server's certificate first, then intermediates). */
  cert: Pem;
  /** Private key of the certificate, PEM (unencrypted). */
  key: Pem;
  /**
   * CA certificate(s), PEM. When set, every client must present a certificate signed by one of them, or the
   * TLS handshake fails; the certificate's common name reaches hooks as `client.certificateCommonName`.
   */
  clientCa?: Pem;
  /**
   * Take the user name from the client certificate's common name, ignoring the CONNECT's user name (as
   * Mosquitto's `use_identity_as_username`). Needs `clientCa`; a certificate without a common name is refused.
   */
  useIdentityAsUsername?: boolean;
}

/** {@link TlsOptions} checked, as PEM text. */
export interface ResolvedTls {
  cert: string;
  key: string;
  clientCa?: string;
  useIdentityAsUsername: boolean;
}

/** Options of every adapter's `createTlsListener` (MQTT over TLS). */
export interface TlsListenerOptions extends TcpListenerOptions, ListenerLimitOptions {
  /** Certificate, key and client verification. Required. */
  tls: TlsOptions;
}

/** Default port of a TLS listener (MQTT over TLS, IANA "secure-mqtt"). */
export const DEFAULT_TLS_PORT = 8883;

/**
 * How long a client may take to finish the TLS handshake before the socket is closed; the broker's connect
 * timeout only starts once the handshake is done.
 */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

const decoder = new TextDecoder();

/** Check `tls` and turn it into PEM text. `what` names the listener in messages (`TLS listener "tls"`). */
export function resolveTls(tls: TlsOptions | undefined, what: string): ResolvedTls {
  if (tls === null || typeof tls !== "object") {
    throw new TypeError(
      `Cannot create ${what}: tls must be an object with cert and key, received ${String(tls)}`,
    );
  }
  const cert = pemText(tls.cert, "tls.cert", what, "CERTIFICATE");
  const key = pemText(tls.key, "tls.key", what, "PRIVATE KEY");
  const clientCa = tls.clientCa === undefined
    ? undefined
    : pemText(tls.clientCa, "tls.clientCa", what, "CERTIFICATE");
  const useIdentityAsUsername = tls.useIdentityAsUsername ?? false;
  if (typeof useIdentityAsUsername !== "boolean") {
    throw new TypeError(
      `Cannot create ${what}: tls.useIdentityAsUsername must be true or false, received ${
        JSON.stringify(useIdentityAsUsername)
      }`,
    );
  }
  if (useIdentityAsUsername && clientCa === undefined) {
    throw new TypeError(
      `Cannot create ${what}: tls.useIdentityAsUsername needs tls.clientCa (the CA that signs client certificates)`,
    );
  }
  return clientCa === undefined
    ? { cert, key, useIdentityAsUsername }
    : { cert, key, clientCa, useIdentityAsUsername };
}

function pemText(value: unknown, name: string, what: string, label: string): string {
  const text = value instanceof Uint8Array ? decoder.decode(value) : value;
  if (typeof text !== "string") {
    throw new TypeError(`Cannot create ${what}: ${name} must be PEM text or bytes, received ${typeof value}`);
  }
  if (!text.includes("-----BEGIN ")) {
    const hint = /^[^\n]{1,400}\.(pem|crt|cer|key)$/i.test(text.trim())
      ? " (it looks like a file name: read the file and pass its contents)"
      : "";
    throw new TypeError(
      `Cannot create ${what}: ${name} must be PEM text with "-----BEGIN ${label}-----"${hint}, received ${
        JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}...` : text)
      }`,
    );
  }
  return text;
}

/**
 * The common name of a peer certificate's subject as node:tls and Bun report it (`{ subject: { CN } }`; CN is
 * an array when the subject has several). Undefined when there is none.
 */
export function commonNameOf(certificate: unknown): string | undefined {
  const subject = (certificate as { subject?: { CN?: unknown } } | null | undefined)?.subject;
  const cn = Array.isArray(subject?.CN) ? subject.CN[0] : subject?.CN;
  return typeof cn === "string" && cn !== "" ? cn : undefined;
}

/**
 * What the listener tells the broker about a client that passed the handshake, or a reason to refuse it:
 * with `useIdentityAsUsername`, a certificate without a common name cannot name a user.
 */
export function tlsAcceptInfo(
  listener: string,
  tls: ResolvedTls,
  commonName: string | undefined,
): AcceptInfo | { refuse: string } {
  if (tls.useIdentityAsUsername && commonName === undefined) {
    return { refuse: "the client certificate has no common name to use as the user name" };
  }
  if (commonName === undefined) return { listener };
  return tls.useIdentityAsUsername
    ? { listener, certificateCommonName: commonName, useIdentityAsUsername: true }
    : { listener, certificateCommonName: commonName };
}
