import type { Endpoint, TransportProto } from "../../../lib/sip/types.js";

/** Reasons a destination was blocklisted (Kamailio dst_blocklist.h BLST_* flags). */
export const BLST = {
  IS_IPV6: 1,
  ERR_SEND: 1 << 1,
  ERR_CONNECT: 1 << 2,
  ICMP_RCVD: 1 << 3,
  ERR_TIMEOUT: 1 << 4,
  ERR_503: 1 << 5,
  ADM_PROHIBITED: 1 << 6,
  PERMANENT: 1 << 7,
} as const;

/** Kamailio's protocol numbers (ip_addr.h PROTO_*), as dst_blocklist.add takes them. */
export const PROTO_NUMBERS: Record<number, TransportProto> = { 1: "udp", 2: "tcp", 3: "tls", 4: "sctp", 5: "ws", 6: "wss" };

export interface BlocklistEntry {
  readonly proto: TransportProto;
  readonly address: string;
  readonly port: number;
  /** Date.now() ms; Infinity for permanent entries. */
  expires: number;
  flags: number;
}

/**
 * Destination blocklist (Kamailio dst_blocklist, `use_dst_blocklist`): targets that failed
 * (send error, timeout, 503) are skipped for `expireS` seconds so new transactions go straight to
 * the next DNS target. Bounded: the oldest entry goes when full. Port 0 blocks every port.
 */
export class DstBlocklist {
  private readonly map = new Map<string, BlocklistEntry>();
  hits = 0;

  constructor(
    private readonly expireS: number,
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  private static key(proto: string, address: string, port: number): string {
    return `${proto}|${address.toLowerCase()}|${port}`;
  }

  /** Adds (or refreshes) an entry; flags accumulate like Kamailio's. */
  add(ep: Endpoint, flags: number, expireS = this.expireS): BlocklistEntry {
    const k = DstBlocklist.key(ep.proto, ep.address, ep.port);
    const permanent = (flags & BLST.PERMANENT) !== 0;
    const old = this.map.get(k);
    const e: BlocklistEntry = {
      proto: ep.proto,
      address: ep.address,
      port: ep.port,
      expires: permanent ? Infinity : this.now() + expireS * 1000,
      flags: (old?.flags ?? 0) | flags | (ep.address.indexOf(":") >= 0 ? BLST.IS_IPV6 : 0),
    };
    this.map.delete(k);
    this.map.set(k, e);
    while (this.map.size > this.maxEntries) this.map.delete(this.map.keys().next().value as string);
    return e;
  }

  /** Whether a destination is blocked now (expired entries are dropped on the way). */
  has(ep: Endpoint): boolean {
    if (this.map.size === 0) return false;
    for (const port of [ep.port, 0]) {
      const k = DstBlocklist.key(ep.proto, ep.address, port);
      const e = this.map.get(k);
      if (!e) continue;
      if (e.expires <= this.now()) {
        this.map.delete(k);
        continue;
      }
      this.hits++;
      return true;
    }
    return false;
  }

  delete(ep: Endpoint): boolean {
    return this.map.delete(DstBlocklist.key(ep.proto, ep.address, ep.port));
  }

  /** Removes every non-permanent entry (dst_blocklist.delete_all). */
  clear(): number {
    let n = 0;
    for (const [k, e] of this.map) {
      if (e.flags & BLST.PERMANENT) continue;
      this.map.delete(k);
      n++;
    }
    return n;
  }

  /** Live entries (dst_blocklist.view). */
  entries(): BlocklistEntry[] {
    const now = this.now();
    return [...this.map.values()].filter((e) => e.expires > now);
  }

  get size(): number {
    return this.map.size;
  }
}
