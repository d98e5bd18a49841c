import type { NaptrData, SrvData } from "./dns-wire.js";

/** Answer data kept per (name, type): addresses for A/AAAA, SRV or NAPTR records. */
export type CachedData = string[] | SrvData[] | NaptrData[];

/** One cached answer (Kamailio dns cache entry): positive or negative, with its expiry. */
export interface DnsCacheEntry {
  readonly name: string;
  /** "A" | "AAAA" | "SRV" | "NAPTR" */
  readonly type: string;
  readonly data: CachedData;
  /** TTL after the min/max caps (s). */
  readonly ttl: number;
  /** Date.now() ms when it expires. */
  readonly expires: number;
  /** NXDOMAIN / no records of this type. */
  readonly negative: boolean;
}

/**
 * A bounded DNS answer cache honouring record TTLs (Kamailio `use_dns_cache`, dns_cache_min_ttl /
 * dns_cache_max_ttl / dns_cache_negative_ttl). Least recently used entries go first when full;
 * an expired entry is dropped on read so the next lookup asks the server again.
 */
export class DnsCache {
  private readonly map = new Map<string, DnsCacheEntry>();
  hits = 0;
  misses = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  private static key(name: string, type: string): string {
    return `${type}|${name.toLowerCase().replace(/\.$/, "")}`;
  }

  get(name: string, type: string): DnsCacheEntry | undefined {
    const k = DnsCache.key(name, type);
    const e = this.map.get(k);
    if (!e) {
      this.misses++;
      return undefined;
    }
    if (e.expires <= this.now()) {
      this.map.delete(k);
      this.misses++;
      return undefined;
    }
    // LRU: move to the end
    this.map.delete(k);
    this.map.set(k, e);
    this.hits++;
    return e;
  }

  set(entry: Omit<DnsCacheEntry, "expires">): DnsCacheEntry {
    const e: DnsCacheEntry = { ...entry, name: entry.name.toLowerCase().replace(/\.$/, ""), expires: this.now() + entry.ttl * 1000 };
    if (this.maxEntries <= 0 || entry.ttl <= 0) return e;
    const k = DnsCache.key(e.name, e.type);
    this.map.delete(k);
    this.map.set(k, e);
    while (this.map.size > this.maxEntries) {
      const oldest = this.map.keys().next().value as string;
      this.map.delete(oldest);
    }
    return e;
  }

  /** Removes one name (every type when `type` is omitted); returns how many entries went. */
  delete(name: string, type?: string): number {
    let n = 0;
    const nm = name.toLowerCase().replace(/\.$/, "");
    for (const [k, e] of this.map) {
      if (e.name === nm && (!type || e.type === type)) {
        this.map.delete(k);
        n++;
      }
    }
    return n;
  }

  clear(): void {
    this.map.clear();
  }

  get size(): number {
    return this.map.size;
  }

  /** Live entries (dns.view). */
  entries(): DnsCacheEntry[] {
    const now = this.now();
    return [...this.map.values()].filter((e) => e.expires > now);
  }
}
