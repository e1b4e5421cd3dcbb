/**
 * The seam between the CoAP gateway and a runtime's UDP socket. Adapters (adapters/udp.ts) implement it.
 * @module
 */

/** Where a datagram came from or goes to. */
export interface Peer {
  /** IP address of the remote endpoint. */
  readonly address: string;
  /** UDP port of the remote endpoint. */
  readonly port: number;
}

/** A bound UDP socket. */
export interface DatagramSocket {
  /** The bound address and port (the real port when 0 was asked for). */
  readonly address: string;
  /** The bound UDP port. */
  readonly port: number;
  /** Send one datagram; errors (unreachable peers) are the socket's to swallow. */
  send(bytes: Uint8Array, peer: Peer): void;
  /** Stop receiving and release the port. */
  close(): Promise<void>;
}

/** Bind a UDP socket on `host:port`, calling `onMessage` for each datagram. Rejects when the port is taken. */
export type BindDatagram = (
  options: { host: string; port: number },
  onMessage: (bytes: Uint8Array, peer: Peer) => void,
) => Promise<DatagramSocket>;

/** `host:port`, with IPv6 hosts in brackets. */
export function peerKey(peer: Peer): string {
  return peer.address.includes(":") ? `[${peer.address}]:${peer.port}` : `${peer.address}:${peer.port}`;
}
