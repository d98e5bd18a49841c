import type { NextHop } from "../tm/routing.js";
import type { Dispatcher, Interceptor } from "../tm/dispatch.js";
import type { CoreConfig } from "../config.js";
import type { StatsRegistry } from "../stats/counters.js";
import type { TransportLayer } from "../transport/transport-layer.js";
import type { Endpoint, TransportProto } from "../../../lib/sip/types.js";
import { createLogger } from "../../../lib/log/logger.js";
import { DEFAULT_DNS, DEFAULT_TLS_GLOBAL, DEFAULT_WS } from "../transport/gateway-config.js";
import { TlsTransport } from "../transport/tls.js";
import { WsTransport } from "../transport/ws.js";
import { SipResolver } from "../dns/sip-resolver.js";
import { DstBlocklist, BLST } from "../dns/dst-blocklist.js";

const log = createLogger("gateway");

/** What the gateway is built from (data-plane/node.ts composes it with the SIP engine). */
export interface GatewayDeps {
  readonly config: CoreConfig;
  readonly transport: TransportLayer;
  readonly stats: StatsRegistry;
  /** An outgoing stream connection died in its handshake: fail the branches waiting on it. */
  readonly onConnectFailed: (dest: Endpoint) => void;
}

/**
 * The transport gateway (issue 9): TLS, WS and WSS transports registered on the transport layer,
 * the RFC 3263 resolver, and the destination blocklist fed by failed branches. It plugs into the
 * transaction layer as an interceptor around the engine's dispatcher (`core.use(gw.interceptor())`
 * in data-plane/node.ts). Its RPCs come from gateway/rpc-methods.ts (`gatewayRpcMethods`).
 */
export class TransportGateway {
  readonly tls: TlsTransport;
  readonly ws: WsTransport;
  readonly wss: WsTransport;
  readonly resolver: SipResolver;
  readonly blocklist: DstBlocklist;
  readonly config: CoreConfig;
  private readonly transport: TransportLayer;

  constructor(deps: GatewayDeps) {
    const cfg = deps.config;
    const layer = deps.transport;
    this.config = cfg;
    this.transport = layer;
    const baseDir = process.cwd();
    this.tls = new TlsTransport(layer, cfg.tls ?? DEFAULT_TLS_GLOBAL, baseDir);
    const ws = cfg.ws ?? DEFAULT_WS;
    this.ws = new WsTransport("ws", layer, ws, null, baseDir);
    this.wss = new WsTransport("wss", layer, ws, this.tls.client, baseDir);
    // fail waiting branches at once when an outgoing connection dies in its handshake
    for (const t of [this.tls, this.ws, this.wss]) t.onConnectFailed = (dest) => deps.onConnectFailed(dest);
    layer.onConnectFailed = (dest) => deps.onConnectFailed(dest);
    layer.registerStreamTransport(this.tls);
    layer.registerStreamTransport(this.ws);
    layer.registerStreamTransport(this.wss);
    const dns = cfg.dns ?? DEFAULT_DNS;
    this.resolver = new SipResolver(dns, (proto, family) => this.hasSocket(proto, family));
    this.resolver.onSecureTarget = (ep, domain) => {
      if (ep.proto === "tls") this.tls.rememberName(ep.address, ep.port, domain);
    };
    this.blocklist = new DstBlocklist(dns.blocklist.expireS, dns.blocklist.maxEntries);
    this.registerStats(deps.stats);
  }

  /**
   * The gateway as a layer around the next dispatcher: host names resolve over RFC 3263
   * (blocklisted targets left out), blocklisted targets are not sent to, failed targets are
   * blocklisted, a target answering a probe leaves the blocklist, and use_dns_failover is set.
   */
  interceptor(): Interceptor {
    const dns = this.config.dns ?? DEFAULT_DNS;
    const blocklisting = dns.blocklist.enabled;
    return (next: Dispatcher): Dispatcher => ({
      resolve: (hop) => this.resolveHop(hop),
      send: (o) => {
        if (blocklisting && this.blocklist.has(o.dest)) return false;
        const ok = next.send(o);
        if (!ok && blocklisting) this.targetFailed(o.dest, 477);
        return ok;
      },
      targetFailed: (ep, status) => {
        if (blocklisting) this.targetFailed(ep, status);
        next.targetFailed(ep, status);
      },
      targetAlive: (ep) => {
        // a keepalive answered: reachable again (dispatcher probes must be able to bring a target back)
        if (blocklisting && this.blocklist.size > 0 && this.blocklist.delete(ep)) log.info("destination unblocked", { dest: `${ep.proto}:${ep.address}:${ep.port}` });
        next.targetAlive(ep);
      },
      failover: dns.failover,
      lookup: (name, type) => this.resolver.lookup(name, type),
    });
  }

  private hasSocket(proto: TransportProto, family: 4 | 6): boolean {
    for (const s of this.transport.sockets) if (s.proto === proto && s.family === family) return true;
    return false;
  }

  /** RFC 3263 targets for a host name, blocklisted ones left out (Kamailio skips them too). */
  async resolveHop(hop: NextHop): Promise<Endpoint[]> {
    const eps = await this.resolver.resolveHop(hop);
    if (this.blocklist.size === 0) return eps;
    const ok = eps.filter((e) => !this.blocklist.has(e));
    if (ok.length < eps.length) log.debug("skipping blocklisted targets", { host: hop.host, skipped: eps.length - ok.length });
    return ok;
  }

  /** A branch to `ep` failed with `status` (408 = no reply, 503, 477 = send failure). */
  targetFailed(ep: Endpoint, status: number): void {
    const b = this.config.dns?.blocklist ?? DEFAULT_DNS.blocklist;
    let flags = 0;
    if (status === 503 && b.on503) flags = BLST.ERR_503;
    else if (status === 408 && b.onTimeout) flags = BLST.ERR_TIMEOUT;
    else if (status === 477) flags = BLST.ERR_SEND;
    if (!flags) return;
    this.blocklist.add(ep, flags);
    log.info("destination blocklisted", { dest: `${ep.proto}:${ep.address}:${ep.port}`, status, expireS: b.expireS });
  }

  /** [tls.reload] certificates of TLS and WSS listeners and client profiles. */
  reload(): { reloaded: number; errors: string[] } {
    const r = this.tls.reload();
    const errors = [...r.errors, ...this.wss.reload()];
    return { reloaded: r.reloaded + this.wss.listeners.filter((l) => l.contexts).length, errors };
  }

  private registerStats(stats: StatsRegistry): void {
    const tls = stats.group("tls");
    for (const k of Object.keys(this.tls.stats) as Array<keyof typeof this.tls.stats>) tls.gauge(k, () => this.tls.stats[k]);
    tls.gauge("opened_connections", () => this.tls.connections().length);
    for (const t of [this.ws, this.wss]) {
      const g = stats.group(t.proto);
      for (const k of Object.keys(t.stats) as Array<keyof typeof t.stats>) g.gauge(k, () => t.stats[k]);
      g.gauge("opened_connections", () => t.connections().length);
    }
    const dns = stats.group("dns");
    dns.gauge("queries", () => this.resolver.client.queries, true);
    dns.gauge("timeouts", () => this.resolver.client.timeouts, true);
    dns.gauge("cache_hits", () => this.resolver.cache.hits, true);
    dns.gauge("cache_misses", () => this.resolver.cache.misses, true);
    dns.gauge("cache_entries", () => this.resolver.cache.size);
    const bl = stats.group("dst_blocklist");
    bl.gauge("entries", () => this.blocklist.size);
    bl.gauge("bkl_hit_cnt", () => this.blocklist.hits, true);
  }

  async close(): Promise<void> {
    this.resolver.close();
  }
}
