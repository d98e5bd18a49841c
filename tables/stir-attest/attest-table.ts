import { BlockList, isIP } from "node:net";
import { readStr, rowIdOf, tableRows } from "../kit/row-values.js";
import { TableError, type TableSet } from "../rows.js";

/** What a policy row matches on (the `match_type` column of olelo_stir_attest). */
export const ATTEST_MATCH_TYPES = ["account", "trunk", "source"] as const;
export type AttestMatchType = (typeof ATTEST_MATCH_TYPES)[number];

/** The attestation a signed call gets (RFC 8588 §4). */
export interface AttestPolicy {
  readonly id: string | number;
  readonly attest: "A" | "B" | "C";
  /** Fixed origid (a UUID) for the calls it matches, or "" to generate one per call. */
  readonly origid: string;
  /** Name of the signing credential, or "" for the module's default. */
  readonly credential: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface SourceRule {
  readonly list: BlockList;
  readonly bits: number;
  readonly policy: AttestPolicy;
}

/**
 * The STIR/SHAKEN attestation policy (table kind `stir_attest`), compiled:
 *
 *   olelo_stir_attest(id, match_type, match_value, attest, origid, credential, description)
 *
 * `match_type` account (`user@domain` or `user`, the caller's account), trunk (a name the
 * script passes: a dispatcher set, a socket name, a gateway tag) or source (an address or CIDR
 * prefix, the longest prefix wins). `attest` A, B or C; `origid` a UUID or '' (one per call).
 * Lookup order: account, then trunk, then source.
 */
export class AttestTable {
  constructor(
    readonly rows: number,
    private readonly accounts: ReadonlyMap<string, AttestPolicy>,
    private readonly trunks: ReadonlyMap<string, AttestPolicy>,
    private readonly sources: readonly SourceRule[],
  ) {}

  static empty(): AttestTable {
    return new AttestTable(0, new Map(), new Map(), []);
  }

  /** The policy for a call: account (user@domain, then user), trunk, source address. */
  lookup(q: { readonly user?: string | null; readonly domain?: string | null; readonly trunk?: string | null; readonly source?: string | null }): AttestPolicy | null {
    if (q.user) {
      const u = q.user.toLowerCase();
      const hit = (q.domain ? this.accounts.get(`${u}@${q.domain.toLowerCase()}`) : undefined) ?? this.accounts.get(u);
      if (hit) return hit;
    }
    if (q.trunk) {
      const hit = this.trunks.get(q.trunk.toLowerCase());
      if (hit) return hit;
    }
    if (q.source && isIP(q.source) !== 0) {
      const fam = isIP(q.source) === 6 ? "ipv6" : "ipv4";
      for (const r of this.sources) if (r.list.check(q.source, fam)) return r.policy;
    }
    return null;
  }
}

/** Validates and compiles olelo_stir_attest; throws TableError naming the table and row. */
export function compileStirAttest(set: TableSet): AttestTable {
  const T = "olelo_stir_attest";
  const rows = tableRows(set, T);
  const accounts = new Map<string, AttestPolicy>();
  const trunks = new Map<string, AttestPolicy>();
  const sources: SourceRule[] = [];
  const seenSources = new Set<string>();
  rows.forEach((row, i) => {
    const id = rowIdOf(row, "id", i);
    const type = readStr(row, T, id, "match_type", { nonEmpty: true }).toLowerCase();
    if (!(ATTEST_MATCH_TYPES as readonly string[]).includes(type)) throw new TableError(T, id, `match_type must be one of ${ATTEST_MATCH_TYPES.join(", ")}, got '${type}'`);
    const value = readStr(row, T, id, "match_value", { nonEmpty: true, maxLength: 128 }).trim().toLowerCase();
    if (/\s/.test(value)) throw new TableError(T, id, `match_value '${value}' contains whitespace`);
    const attest = readStr(row, T, id, "attest", { nonEmpty: true }).toUpperCase();
    if (attest !== "A" && attest !== "B" && attest !== "C") throw new TableError(T, id, `attest must be A, B or C, got '${attest}'`);
    const origid = readStr(row, T, id, "origid", { maxLength: 64 }).trim();
    if (origid !== "" && !UUID.test(origid)) throw new TableError(T, id, `origid '${origid}' is not a UUID`);
    const credential = readStr(row, T, id, "credential", { maxLength: 64 }).trim();
    const policy: AttestPolicy = { id, attest, origid: origid.toLowerCase(), credential };
    if (type === "account") {
      if (accounts.has(value)) throw new TableError(T, id, `a second row for account '${value}'`);
      accounts.set(value, policy);
    } else if (type === "trunk") {
      if (trunks.has(value)) throw new TableError(T, id, `a second row for trunk '${value}'`);
      trunks.set(value, policy);
    } else {
      const [addr, len] = value.split("/") as [string, string | undefined];
      const fam = isIP(addr);
      if (fam === 0) throw new TableError(T, id, `source '${value}' is not an address or CIDR prefix`);
      const max = fam === 4 ? 32 : 128;
      const bits = len === undefined ? max : Number(len);
      if (!/^\d+$/.test(len ?? String(max)) || bits > max) throw new TableError(T, id, `source '${value}' has a bad prefix length`);
      const key = `${addr}/${bits}`;
      if (seenSources.has(key)) throw new TableError(T, id, `a second row for source '${key}'`);
      seenSources.add(key);
      const list = new BlockList();
      list.addSubnet(addr, bits, fam === 4 ? "ipv4" : "ipv6");
      sources.push({ list, bits, policy });
    }
  });
  sources.sort((a, b) => b.bits - a.bits);
  return new AttestTable(rows.length, accounts, trunks, sources);
}
