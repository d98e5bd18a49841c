import { lookup } from "node:dns/promises";
import type { Endpoint } from "../../../lib/sip/types.js";
import type { ListenSocket } from "../transport/listen-socket.js";
import type { TransportLayer } from "../transport/transport-layer.js";
import type { NextHop } from "./routing.js";
import type { DnsLookup } from "./api.js";

/** One copy of a request on its way to a branch target. */
export interface DispatchOptions {
  readonly sock: ListenSocket;
  readonly dest: Endpoint;
  readonly data: Buffer;
}

/**
 * How branches leave the transaction layer (undici-style): the engine holds one Dispatcher, and
 * an interceptor wraps the next one — the transport gateway (gateway/gateway.ts: RFC 3263
 * resolver, destination blocklist, DNS failover) is composed in data-plane/node.ts with
 * `core.use(gateway.interceptor())`. Without interceptors, names resolve through the OS resolver
 * and copies go straight to the transport.
 */
export interface Dispatcher {
  /** Resolves a host name to targets (RFC 3263 in the gateway). */
  resolve(hop: NextHop): Promise<Endpoint[]>;
  /** Sends one request copy to a branch target; false when it was not sent (refused or failed). */
  send(opts: DispatchOptions): boolean;
  /** A branch target failed: 408 no reply, 503 reply, 477 send failure. */
  targetFailed(dest: Endpoint, status: number): void;
  /** A target answered a request of the proxy's own (keepalive probe) with a final reply other than 503. */
  targetAlive(dest: Endpoint): void;
  /** use_dns_failover: a failed branch moves on to the next resolved target. */
  readonly failover: boolean;
  /** DNS lookups for the script (ENUM); absent without a resolver. */
  readonly lookup?: DnsLookup;
}

/** A layer around the next dispatcher. */
export type Interceptor = (next: Dispatcher) => Dispatcher;

/** The innermost dispatcher: the OS resolver and the transport layer. */
export function baseDispatcher(transport: TransportLayer): Dispatcher {
  return {
    resolve: defaultResolve,
    send: (o) => transport.send(o.sock, o.dest, o.data),
    targetFailed: () => {},
    targetAlive: () => {},
    failover: false,
  };
}

async function defaultResolve(hop: NextHop): Promise<Endpoint[]> {
  const addrs = await lookup(hop.host, { all: true });
  return addrs.map((a) => ({ proto: hop.proto, address: a.address, port: hop.port }));
}
