import { IpTrie } from "./ip-trie.js";
import { parseIpInto } from "../../lib/net/ip.js";

/** One compiled row of Kamailio's `address` table (permissions module, table version 6). */
export interface AddressEntry {
  /** `id` column, or the 1-based row number when the source has no id. */
  readonly id: string | number;
  readonly grp: number;
  /** Canonical network address (masked), or the lower-cased DNS name for non-IP rows. */
  readonly ip: string;
  /** 0 for DNS-name rows. */
  readonly family: 0 | 4 | 6;
  readonly mask: number;
  /** 0 = any port. */
  readonly port: number;
  readonly tag: string | null;
}

const pathScratch: AddressEntry[][] = new Array(129);
const ipScratch = new Uint8Array(16);

/**
 * The compiled `address` table: one bit trie per family (hosts and subnets, longest prefix wins)
 * plus a map of DNS names matched literally, as Kamailio's permissions module does (no lookups).
 * A match costs at most 32/128 node steps, independent of the number of rows.
 */
export class AddressTable {
  constructor(
    readonly entries: readonly AddressEntry[],
    private readonly v4: IpTrie<AddressEntry>,
    private readonly v6: IpTrie<AddressEntry>,
    private readonly names: ReadonlyMap<string, readonly AddressEntry[]>,
  ) {}

  static empty(): AddressTable {
    return new AddressTable([], new IpTrie(), new IpTrie(), new Map());
  }

  /**
   * The most specific row matching `ip` and `port` (rows with port 0 match any port), restricted
   * to group `grp` unless it is null. [allow_address / allow_address_group]
   */
  match(grp: number | null, ip: string, port: number): AddressEntry | null {
    const fam = parseIpInto(ip, ipScratch);
    if (fam === 0) {
      const list = this.names.get(ip.toLowerCase());
      return list ? pick(list, grp, port) : null;
    }
    const trie = fam === 4 ? this.v4 : this.v6;
    const n = trie.path(ipScratch, fam === 4 ? 32 : 128, pathScratch);
    for (let i = n - 1; i >= 0; i--) {
      const hit = pick(pathScratch[i]!, grp, port);
      if (hit) return hit;
    }
    return null;
  }

  /** Host rows (full-length mask) — what Kamailio keeps in its address hash table. */
  hosts(): AddressEntry[] {
    return this.entries.filter((e) => e.family !== 0 && e.mask === (e.family === 4 ? 32 : 128));
  }

  /** Subnet rows (shorter masks) — Kamailio's subnet table. */
  subnets(): AddressEntry[] {
    return this.entries.filter((e) => e.family !== 0 && e.mask !== (e.family === 4 ? 32 : 128));
  }

  /** DNS-name rows — Kamailio's domain name table. */
  domains(): AddressEntry[] {
    return this.entries.filter((e) => e.family === 0);
  }
}

function pick(list: readonly AddressEntry[], grp: number | null, port: number): AddressEntry | null {
  for (let i = 0; i < list.length; i++) {
    const e = list[i]!;
    if ((grp === null || e.grp === grp) && (e.port === 0 || e.port === port)) return e;
  }
  return null;
}
