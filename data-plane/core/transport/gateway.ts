import type { SipCore } from "../proxy/core.js";
import type { NextHop } from "../proxy/routing.js";
import type { Endpoint, TransportProto } from "../../../lib/sip/types.js";
import { createLogger } from "../../../lib/log/logger.js";
import { DEFAULT_DNS, DEFAULT_TLS_GLOBAL, DEFAULT_WS } from "./gateway-config.js";
import { TlsTransport } from "./tls.js";
import { WsTransport } from "./ws.js";
import { SipResolver } from "../dns/sip-resolver.js";
import { DstBlocklist, BLST } from "../dns/dst-blocklist.js";

const log = createLogger("gateway");

/**
 * The transport gateway (issue 9), installed by SipCore.start(): TLS, WS and WSS transports,
 * the RFC 3263 resolver behind `core.hooks.resolve`, and the destination blocklist the core's
 * DNS failover feeds. Its RPCs come from transport/rpc-methods.ts (`gatewayRpcMethods`).
 */
export class TransportGateway {
  readonly tls: TlsTransport;
  readonly ws: WsTransport;
  readonly wss: WsTransport;
  readonly resolver: SipResolver;
  readonly blocklist: DstBlocklist;

  private constructor(readonly core: SipCore) {
    const cfg = core.config;
    const layer = core.transport;
    const baseDir = process.cwd();
    this.tls = new TlsTransport(layer, cfg.tls ?? DEFAULT_TLS_GLOBAL, baseDir);
    const ws = cfg.ws ?? DEFAULT_WS;
    this.ws = new WsTransport("ws", layer, ws, null, baseDir);
    this.wss = new WsTransport("wss", layer, ws, this.tls.client, baseDir);
    // fail waiting branches at once when an outgoing connection dies in its handshake
    for (const t of [this.tls, this.ws, this.wss]) t.onConnectFailed = (dest) => core.connectionFailed(dest);
    layer.onConnectFailed = (dest) => core.connectionFailed(dest);
    layer.registerStreamTransport(this.tls);
    layer.registerStreamTransport(this.ws);
    layer.registerStreamTransport(this.wss);
    const dns = cfg.dns ?? DEFAULT_DNS;
    this.resolver = new SipResolver(dns, (proto, family) => this.hasSocket(proto, family));
    this.resolver.onSecureTarget = (ep, domain) => {
      if (ep.proto === "tls") this.tls.rememberName(ep.address, ep.port, domain);
    };
    this.blocklist = new DstBlocklist(dns.blocklist.expireS, dns.blocklist.maxEntries);
    core.hooks.resolve = (hop) => this.resolveHop(hop);
    if (dns.blocklist.enabled) {
      core.hooks.blocked = (ep) => this.blocklist.has(ep);
      core.hooks.targetFailed = (ep, status) => this.targetFailed(ep, status);
      // a keepalive answered: reachable again (dispatcher probes must be able to bring a target back)
      core.hooks.targetAlive = (ep) => {
        if (this.blocklist.size > 0 && this.blocklist.delete(ep)) log.info("destination unblocked", { dest: `${ep.proto}:${ep.address}:${ep.port}` });
      };
    }
    core.hooks.failover = dns.failover;
    this.registerStats();
  }

  /** Creates the gateway for a core and plugs it into the transports and hooks. */
  static install(core: SipCore): TransportGateway {
    return new TransportGateway(core);
  }

  private hasSocket(proto: TransportProto, family: 4 | 6): boolean {
    for (const s of this.core.transport.sockets) if (s.proto === proto && s.family === family) return true;
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
    const b = this.core.config.dns?.blocklist ?? DEFAULT_DNS.blocklist;
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

  private registerStats(): void {
    const stats = this.core.stats;
    const tls = stats.group("tls");
    for (const k of Object.keys(this.tls.stats) as Array<keyof typeof this.tls.stats>) tls.gauge(k, () => this.tls.stats[k]);
    tls.gauge("opened_connections", () => this.tls.connections().length);
    for (const t of [this.ws, this.wss]) {
      const g = stats.group(t.proto);
      for (const k of Object.keys(t.stats) as Array<keyof typeof t.stats>) g.gauge(k, () => t.stats[k]);
      g.gauge("opened_connections", () => t.connections().length);
    }
    const dns = stats.group("dns");
    dns.gauge("queries", () => this.resolver.client.queries);
    dns.gauge("timeouts", () => this.resolver.client.timeouts);
    dns.gauge("cache_hits", () => this.resolver.cache.hits);
    dns.gauge("cache_misses", () => this.resolver.cache.misses);
    dns.gauge("cache_entries", () => this.resolver.cache.size);
    const bl = stats.group("dst_blocklist");
    bl.gauge("entries", () => this.blocklist.size);
    bl.gauge("bkl_hit_cnt", () => this.blocklist.hits);
  }

  async close(): Promise<void> {
    this.resolver.close();
  }
}
