import { canonicalIp } from "../../lib/net/ip.js";

/** Kamailio's proto numbers as shown by permissions.trustedDump (PROTO_NONE = 0 stands for "any"). */
export const TRUSTED_PROTO_NUMBERS: Readonly<Record<string, number>> = {
  any: 0,
  udp: 1,
  tcp: 2,
  tls: 3,
  sctp: 4,
  ws: 5,
  wss: 6,
};

/** One compiled row of Kamailio's `trusted` table (permissions module, table version 6). */
export interface TrustedEntry {
  readonly id: string | number;
  /** Canonical source IP. */
  readonly srcIp: string;
  /** Lower-cased: any, udp, tcp, tls, sctp, ws, wss. */
  readonly proto: string;
  readonly fromPattern: RegExp | null;
  readonly fromPatternText: string | null;
  readonly ruriPattern: RegExp | null;
  readonly ruriPatternText: string | null;
  readonly tag: string | null;
  readonly priority: number;
}

/**
 * The compiled `trusted` table: rows grouped by canonical source IP, each group ordered by
 * priority (highest first, then row order), so allow_trusted is one map lookup plus the few
 * rows of that peer. [permissions allow_trusted]
 */
export class TrustedTable {
  constructor(
    readonly entries: readonly TrustedEntry[],
    private readonly byIp: ReadonlyMap<string, readonly TrustedEntry[]>,
  ) {}

  static empty(): TrustedTable {
    return new TrustedTable([], new Map());
  }

  /**
   * First row (by priority) for source `ip` whose proto matches (`any` on either side matches
   * everything) and whose From / R-URI patterns match. A row with a pattern never matches when
   * the corresponding URI is not given (null).
   */
  match(ip: string, proto: string, fromUri: string | null, ruri: string | null): TrustedEntry | null {
    const list = this.byIp.get(ip) ?? this.byCanonical(ip);
    if (!list) return null;
    const p = proto.toLowerCase();
    for (let i = 0; i < list.length; i++) {
      const e = list[i]!;
      if (e.proto !== "any" && p !== "any" && e.proto !== p) continue;
      if (e.fromPattern && (fromUri === null || !e.fromPattern.test(fromUri))) continue;
      if (e.ruriPattern && (ruri === null || !e.ruriPattern.test(ruri))) continue;
      return e;
    }
    return null;
  }

  /** Whether `ip` has a row that needs no URI pattern (trusted by address alone, any proto). */
  hasUnconditional(ip: string): boolean {
    const list = this.byIp.get(ip) ?? this.byCanonical(ip);
    if (!list) return false;
    for (const e of list) if (!e.fromPattern && !e.ruriPattern) return true;
    return false;
  }

  private byCanonical(ip: string): readonly TrustedEntry[] | undefined {
    const c = canonicalIp(ip);
    return c === null || c === ip ? undefined : this.byIp.get(c);
  }
}
