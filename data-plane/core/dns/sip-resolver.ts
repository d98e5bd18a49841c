import { randomInt } from "node:crypto";
import type { Endpoint, TransportProto } from "../../../lib/sip/types.js";
import type { NextHop } from "../tm/routing.js";
import type { DnsSettings } from "../transport/gateway-config.js";
import { DnsClient } from "./dns-client.js";
import { DnsCache, type DnsCacheEntry, type CachedData } from "./dns-cache.js";
import { RR, type NaptrData, type SoaData, type SrvData } from "./dns-wire.js";

/** Record types the resolver caches. */
export type LookupType = "A" | "AAAA" | "SRV" | "NAPTR";

/** NAPTR services of SIP (RFC 3263 §4.1, RFC 7118 §5.3 for WebSocket) → transport. */
const NAPTR_SERVICES: Record<string, TransportProto> = {
  "sip+d2u": "udp",
  "sip+d2t": "tcp",
  "sips+d2t": "tls",
  "sip+d2w": "ws",
  "sips+d2w": "wss",
};

/** SRV service prefix per transport (RFC 3263 §4.1). WebSocket has none. */
const SRV_PREFIX: Partial<Record<TransportProto, string>> = { udp: "_sip._udp.", tcp: "_sip._tcp.", tls: "_sips._tcp." };

const DEFAULT_PORT: Record<TransportProto, number> = { udp: 5060, tcp: 5060, tls: 5061, sctp: 5060, ws: 80, wss: 443 };

/**
 * RFC 3263 "Locating SIP Servers": NAPTR → SRV (priority, weighted choice) → A/AAAA, with a TTL
 * cache, in-flight de-duplication, and only transports/families Olelo has sockets for. The
 * result is the ordered list of targets a branch fails over through (Kamailio use_dns_failover).
 */
export class SipResolver {
  readonly cache: DnsCache;
  readonly client: DnsClient;
  private readonly inflight = new Map<string, Promise<DnsCacheEntry>>();
  /** Called with each TLS/WSS target and the domain it was resolved from (RFC 5922 name check). */
  onSecureTarget: ((ep: Endpoint, domain: string) => void) | null = null;

  constructor(
    readonly settings: DnsSettings,
    private readonly supports: (proto: TransportProto, family: 4 | 6) => boolean,
    client?: DnsClient,
    now?: () => number,
  ) {
    this.client = client ?? new DnsClient(settings.servers, settings.timeoutMs, settings.tries);
    this.cache = new DnsCache(settings.cacheSize, now);
  }

  /** One record set through the cache (dns.lookup). Throws when no server answered. */
  lookup(name: string, type: LookupType): Promise<DnsCacheEntry> {
    const hit = this.cache.get(name, type);
    if (hit) return Promise.resolve(hit);
    const key = `${type}|${name.toLowerCase()}`;
    let p = this.inflight.get(key);
    if (!p) {
      p = this.query(name, type).finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    return p;
  }

  private async query(name: string, type: LookupType): Promise<DnsCacheEntry> {
    const r = await this.client.query(name, RR[type]);
    const want = RR[type];
    const recs = r.answers.filter((a) => a.type === want && a.data !== null);
    const s = this.settings;
    if (r.rcode !== 0 || recs.length === 0) {
      // negative caching (RFC 2308): SOA minimum, capped by dns_cache_negative_ttl
      const soa = r.authority.find((a) => a.type === RR.SOA);
      const soaTtl = soa ? Math.min(soa.ttl, (soa.data as SoaData).minimum) : s.negativeTtlS;
      return this.cache.set({ name, type, data: [] as string[], ttl: Math.min(soaTtl, s.negativeTtlS), negative: true });
    }
    let ttl = Math.min(...recs.map((a) => a.ttl));
    ttl = Math.max(s.minTtlS, Math.min(s.maxTtlS, ttl));
    return this.cache.set({ name, type, data: recs.map((a) => a.data) as CachedData, ttl, negative: false });
  }

  /** Targets for a next hop whose host is a name, in the order to try them. */
  async resolveHop(hop: NextHop): Promise<Endpoint[]> {
    if (hop.family !== 0) return [{ proto: hop.proto, address: hop.host, port: hop.port }];
    const host = hop.host;
    const sips = hop.uri.scheme === "sips";
    let out: Endpoint[];
    if (hop.explicitPort) out = await this.addresses(host, hop.port, hop.proto);
    else if (hop.explicitProto) {
      out = await this.srv(hop.proto, host);
      if (out.length === 0) out = await this.addresses(host, hop.port, hop.proto);
    } else {
      out = this.settings.naptr ? await this.naptr(host, sips) : [];
      if (out.length === 0) {
        for (const proto of sips ? (["tls"] as const) : (["udp", "tcp", "tls"] as const)) {
          if (!this.supportsProto(proto)) continue;
          out = await this.srv(proto, host);
          if (out.length) break;
        }
      }
      if (out.length === 0) {
        const proto: TransportProto = sips ? "tls" : hop.proto;
        out = await this.addresses(host, DEFAULT_PORT[proto], proto);
      }
    }
    if (this.onSecureTarget) for (const ep of out) if (ep.proto === "tls" || ep.proto === "wss") this.onSecureTarget(ep, host);
    return out;
  }

  private supportsProto(proto: TransportProto): boolean {
    return this.supports(proto, 4) || this.supports(proto, 6);
  }

  /** NAPTR step: supported SIP services with "s" flag, by order then preference, each → SRV. */
  private async naptr(host: string, sips: boolean): Promise<Endpoint[]> {
    let e: DnsCacheEntry;
    try {
      e = await this.lookup(host, "NAPTR");
    } catch {
      return [];
    }
    const recs = (e.data as NaptrData[])
      .filter((n) => n.flags.toLowerCase() === "s")
      .map((n) => ({ n, proto: NAPTR_SERVICES[n.service.toLowerCase()] }))
      .filter((x): x is { n: NaptrData; proto: TransportProto } => x.proto !== undefined && (!sips || x.proto === "tls" || x.proto === "wss"))
      .filter((x) => this.supportsProto(x.proto))
      .sort((a, b) => a.n.order - b.n.order || a.n.preference - b.n.preference);
    const out: Endpoint[] = [];
    for (const { n, proto } of recs) out.push(...(await this.srvRecords(n.replacement, proto)));
    return dedupe(out);
  }

  private srv(proto: TransportProto, host: string): Promise<Endpoint[]> {
    const prefix = SRV_PREFIX[proto];
    return prefix ? this.srvRecords(prefix + host, proto) : Promise.resolve([]);
  }

  /** SRV step (RFC 2782): priority ascending, weighted random order inside a priority. */
  private async srvRecords(name: string, proto: TransportProto): Promise<Endpoint[]> {
    let e: DnsCacheEntry;
    try {
      e = await this.lookup(name, "SRV");
    } catch {
      return [];
    }
    const ordered = orderSrv(e.data as SrvData[], this.settings.srvLb);
    const out: Endpoint[] = [];
    for (const r of ordered) {
      if (r.target === "" || r.target === ".") continue; // "service not available"
      out.push(...(await this.addresses(r.target, r.port, proto)));
    }
    return dedupe(out);
  }

  /** A then AAAA (when IPv6 is on) for a host, limited to families with a socket for `proto`. */
  async addresses(host: string, port: number, proto: TransportProto): Promise<Endpoint[]> {
    const v4 = this.supports(proto, 4);
    const v6 = this.settings.ipv6 && this.supports(proto, 6);
    const [a, aaaa] = await Promise.all([
      v4 ? this.lookup(host, "A").catch(() => null) : null,
      v6 ? this.lookup(host, "AAAA").catch(() => null) : null,
    ]);
    const out: Endpoint[] = [];
    for (const ip of (a?.data as string[] | undefined) ?? []) out.push({ proto, address: ip, port });
    for (const ip of (aaaa?.data as string[] | undefined) ?? []) out.push({ proto, address: ip, port });
    return out;
  }

  close(): void {
    this.client.close();
  }
}

/** Orders SRV records: priority ascending; inside a priority weighted random (RFC 2782) or weight descending. */
export function orderSrv(records: readonly SrvData[], weighted: boolean, rnd: (max: number) => number = randomInt): SrvData[] {
  const byPrio = new Map<number, SrvData[]>();
  for (const r of records) {
    let g = byPrio.get(r.priority);
    if (!g) byPrio.set(r.priority, (g = []));
    g.push(r);
  }
  const out: SrvData[] = [];
  for (const prio of [...byPrio.keys()].sort((a, b) => a - b)) {
    const group = [...byPrio.get(prio)!];
    if (!weighted) {
      group.sort((a, b) => b.weight - a.weight);
      out.push(...group);
      continue;
    }
    // RFC 2782: zero-weight entries first in the list, then pick by running sum
    group.sort((a, b) => a.weight - b.weight);
    while (group.length) {
      const total = group.reduce((s, r) => s + r.weight, 0);
      let pick = 0;
      if (total > 0) {
        const x = rnd(total + 1);
        let sum = 0;
        for (let i = 0; i < group.length; i++) {
          sum += group[i]!.weight;
          if (sum >= x) {
            pick = i;
            break;
          }
        }
      }
      out.push(group.splice(pick, 1)[0]!);
    }
  }
  return out;
}

function dedupe(eps: Endpoint[]): Endpoint[] {
  const seen = new Set<string>();
  return eps.filter((e) => {
    const k = `${e.proto}|${e.address}|${e.port}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
