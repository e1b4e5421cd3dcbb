/**
 * `host:port` addresses as written in the config and on the command line.
 * @module
 */

/** A host and port to bind. */
export interface HostPort {
  /** Host name or IP address, without brackets for IPv6. */
  readonly host: string;
  /** Port, 0 for an ephemeral one. */
  readonly port: number;
}

const HOST_NAME = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/;
const IPV6 = /^[0-9A-Fa-f:.]+(%[A-Za-z0-9_.-]+)?$/;

/**
 * Parse `host:port`, `[ipv6]:port`, `:port` or a bare `port` (the last two bind every interface, 0.0.0.0).
 * Returns an error message instead of throwing, so callers can collect it with a key path.
 *
 * @example
 * ```ts
 * parseAddress("127.0.0.1:1883"); // { host: "127.0.0.1", port: 1883 }
 * parseAddress("[::1]:1883");     // { host: "::1", port: 1883 }
 * parseAddress("nope");           // { error: 'expected "host:port" ...' }
 * ```
 */
export function parseAddress(text: string): HostPort | { error: string } {
  const bad = { error: `expected "host:port" such as "127.0.0.1:1883", received ${JSON.stringify(text)}` };
  let host: string;
  let portText: string;
  if (/^\d+$/.test(text)) {
    host = "0.0.0.0";
    portText = text;
  } else if (text.startsWith("[")) {
    const end = text.indexOf("]:");
    if (end < 0) return bad;
    host = text.slice(1, end);
    portText = text.slice(end + 2);
    if (!IPV6.test(host) || !host.includes(":")) return bad;
  } else {
    const colon = text.lastIndexOf(":");
    if (colon < 0) return bad;
    host = text.slice(0, colon) || "0.0.0.0";
    portText = text.slice(colon + 1);
    if (host.includes(":")) {
      return { error: `${bad.error} (write an IPv6 address in brackets: "[::1]:1883")` };
    }
    if (!HOST_NAME.test(host)) return bad;
  }
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65_535) {
    return { error: `expected a port from 0 to 65535 in ${JSON.stringify(text)}` };
  }
  return { host, port: Number(portText) };
}

/** `host:port`, with brackets around an IPv6 host. */
export function formatAddress(address: HostPort): string {
  return address.host.includes(":") ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/** True when `host` only accepts connections from this machine. */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
