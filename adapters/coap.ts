/**
 * The CoAP listener's UDP socket: node:dgram, which Deno, Bun and Node all run (Deno's own Deno.listenDatagram
 * is still behind --unstable-net, so one adapter serves the three runtimes).
 *
 * @example
 * ```ts
 * import { AllowHook, Broker, createCoapListener } from "@comqtt/broker";
 *
 * const broker = new Broker({ hooks: [new AllowHook()] });
 * await broker.addListener(createCoapListener({ host: "0.0.0.0", port: 5683 }));
 * ```
 * @module
 */

import { createSocket } from "node:dgram";
import { CoapListener, type CoapListenerOptions } from "../src/coap/coap_listener.ts";
import type { BindDatagram, DatagramSocket } from "../src/coap/datagram.ts";
import type { Listener } from "../src/transport/connection.ts";
import { listenError } from "./_tcp_common.ts";

/** Bind a node:dgram UDP socket (udp6 for an IPv6 host). */
export const bindUdp: BindDatagram = (options, onMessage) =>
  new Promise<DatagramSocket>((resolve, reject) => {
    const socket = createSocket({ type: options.host.includes(":") ? "udp6" : "udp4" });
    let bound = false;
    socket.on("error", (err) => {
      if (!bound) {
        socket.close();
        reject(listenError(options.host, options.port, err));
      }
      // Once bound, a send error (an unreachable peer) must not stop the listener: UDP has no connection to end.
    });
    socket.on("message", (msg, rinfo) => {
      onMessage(new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength), {
        address: rinfo.address,
        port: rinfo.port,
      });
    });
    socket.bind(options.port, options.host, () => {
      bound = true;
      const port = socket.address().port;
      resolve({
        address: options.host,
        port,
        send(bytes, peer) {
          socket.send(bytes, peer.port, peer.address, () => {});
        },
        close: () => new Promise<void>((done) => socket.close(() => done())),
      });
    });
  });

/** A CoAP listener on UDP (default `0.0.0.0:5683`); nothing is bound until the broker's `listen()`. */
export function createCoapListener(options: Omit<CoapListenerOptions, "bind"> = {}): Listener {
  return new CoapListener({ ...options, bind: bindUdp });
}
