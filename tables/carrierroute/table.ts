import { TableError, type TableSet } from "../rows.js";
import { PrefixKeyError, PrefixTreeBuilder } from "../../lib/prefix-tree/build-prefix-tree.js";
import type { PrefixTree } from "../../lib/prefix-tree/prefix-tree.js";
import { readFloat, readInt, readStr, rowIdOf, rowAt, tableArray } from "../kit/row-values.js";
import { ROW_SLICE_MASK, runToEnd, type Sliced } from "../kit/sliced.js";

/**
 * Compiling Kamailio's carrierroute tables (carrierroute v3, carrierfailureroute v2,
 * carrier_name, domain_name) into carrier → routing domain → prefix trees. Pure: the control
 * plane runs the same function to validate rows.
 *
 * Under one prefix, rules are grouped by (flags, mask) — the group with the most mask bits is
 * tried first — and each group spreads calls over its targets by `prob` (a share, resolution
 * 0.001) through "dice" ranges that a CRC32 hash of the request falls into.
 */

export const DICE_MAX = 1000;

/** One carrierroute row (a target). */
export interface CrRule {
  readonly id: string | number;
  readonly carrierId: number;
  readonly domainId: number;
  readonly prefix: string;
  readonly flags: number;
  readonly mask: number;
  readonly prob: number;
  readonly strip: number;
  /** Empty = blacklist: routing to it fails. */
  readonly host: string;
  readonly rewritePrefix: string;
  readonly rewriteSuffix: string;
  readonly description: string;
  /** 1-based position within its (prefix, flags, mask) group (Kamailio's hash_index). */
  readonly hashIndex: number;
  /** Upper end (exclusive) of this rule's dice range. */
  readonly diceTo: number;
}

/** The rules of one (prefix, flags, mask). */
export interface CrRouteFlags {
  readonly flags: number;
  readonly mask: number;
  /** Rules with prob 0 first, then the others in table order (dice ranges ascending). */
  readonly rules: readonly CrRule[];
  /** Sum of the dice ranges (0 when every prob is 0). */
  readonly diceMax: number;
}

export interface CrFailureRule {
  readonly id: string | number;
  readonly prefix: string;
  readonly host: string;
  /** Three characters, '.' a wildcard digit; "" matches every code. */
  readonly replyCode: string;
  readonly flags: number;
  readonly mask: number;
  readonly nextDomain: number;
  readonly description: string;
}

export interface CrDomain {
  readonly id: number;
  readonly name: string;
  /** Per prefix: flag groups, most mask bits first. */
  readonly routes: PrefixTree<CrRouteFlags[]>;
  /** Per prefix: failure rules, most specific first. */
  readonly failures: PrefixTree<CrFailureRule[]>;
}

export interface CrCarrier {
  readonly id: number;
  readonly name: string;
  readonly domains: ReadonlyMap<number, CrDomain>;
}

export interface CompiledCarrierroute {
  readonly carriers: ReadonlyMap<number, CrCarrier>;
  readonly carrierIds: ReadonlyMap<string, number>;
  readonly domainIds: ReadonlyMap<string, number>;
  readonly domainNames: ReadonlyMap<number, string>;
  /** Id of the carrier named `default_tree` (0 when there is none). */
  readonly defaultCarrierId: number;
  readonly matchMode: 10 | 128;
  readonly ruleCount: number;
  readonly failureRuleCount: number;
}

export interface CarrierrouteCompileOptions {
  /** Kamailio `match_mode`: 10 = digits only (default), 128 = any ASCII character. */
  readonly matchMode?: 10 | 128;
  /** Kamailio `default_tree`: name of the carrier used for carrier 0 / fallback. Default "default". */
  readonly defaultTree?: string;
}

const CR = "carrierroute";
const CFR = "carrierfailureroute";
const CN = "carrier_name";
const DN = "domain_name";

/**
 * Validates and compiles the carrierroute tables. Throws TableError naming the table and row
 * on: bad types, duplicate ids or names, a carrier or domain (or next_domain) id that is not
 * in carrier_name/domain_name, prefix characters outside the match mode, flags with bits
 * outside the mask (such a rule could never match), prob outside 0..1, a reply_code that is not
 * three of [0-9.], rewrite parts that a URI user part cannot hold.
 *
 * @example
 *   const cr = compileCarrierrouteTables({ carrier_name: [{ id: 1, carrier: "default" }], domain_name: [...], carrierroute: [...] });
 */
export function compileCarrierrouteTables(set: TableSet, opts: CarrierrouteCompileOptions = {}): CompiledCarrierroute {
  return runToEnd(compileCarrierrouteSteps(set, opts));
}

/** compileCarrierrouteTables as resumable steps (tables/kit/sliced.ts): yields every 1,024 rows and between tree-build slices. */
export function* compileCarrierrouteSteps(set: TableSet, opts: CarrierrouteCompileOptions = {}): Sliced<CompiledCarrierroute> {
  const matchMode = opts.matchMode ?? 10;
  const alphabet = matchMode === 10 ? "0123456789" : asciiAlphabet();

  const carrierIds = new Map<string, number>();
  const carrierNames = new Map<number, string>();
  const carrierRows = tableArray(set, CN);
  for (let i = 0; i < carrierRows.length; i++) {
    if ((i & ROW_SLICE_MASK) === ROW_SLICE_MASK) yield;
    const row = rowAt(carrierRows, i, CN);
    const id = rowIdOf(row, "id", i);
    const cid = readInt(row, CN, id, "id", { min: 1 });
    const name = readStr(row, CN, id, "carrier", { nonEmpty: true, maxLength: 64 });
    if (carrierNames.has(cid)) throw new TableError(CN, id, "duplicate id");
    if (carrierIds.has(name)) throw new TableError(CN, id, `duplicate carrier name '${name}'`);
    carrierIds.set(name, cid);
    carrierNames.set(cid, name);
  }
  const domainIds = new Map<string, number>();
  const domainNames = new Map<number, string>();
  const domainRows = tableArray(set, DN);
  for (let i = 0; i < domainRows.length; i++) {
    if ((i & ROW_SLICE_MASK) === ROW_SLICE_MASK) yield;
    const row = rowAt(domainRows, i, DN);
    const id = rowIdOf(row, "id", i);
    const did = readInt(row, DN, id, "id", { min: 1 });
    const name = readStr(row, DN, id, "domain", { nonEmpty: true, maxLength: 64 });
    if (domainNames.has(did)) throw new TableError(DN, id, "duplicate id");
    if (domainIds.has(name)) throw new TableError(DN, id, `duplicate domain name '${name}'`);
    domainIds.set(name, did);
    domainNames.set(did, name);
  }

  const flagsAndMask = (row: Record<string, unknown>, table: string, id: string | number) => {
    const flags = readInt(row, table, id, "flags", { min: 0, max: 4294967295, def: 0 });
    const mask = readInt(row, table, id, "mask", { min: 0, max: 4294967295, def: 0 });
    if ((flags & ~mask) >>> 0 !== 0) throw new TableError(table, id, `flags ${flags} has bits outside mask ${mask}: the rule could never match`);
    return { flags, mask };
  };
  const carrierDomain = (row: Record<string, unknown>, table: string, id: string | number) => {
    const carrierId = readInt(row, table, id, "carrier", { min: 0 });
    if (!carrierNames.has(carrierId)) throw new TableError(table, id, `carrier ${carrierId} is not in carrier_name`);
    const domainId = readInt(row, table, id, "domain", { min: 0 });
    if (!domainNames.has(domainId)) throw new TableError(table, id, `domain ${domainId} is not in domain_name`);
    return { carrierId, domainId };
  };
  const prefixOf = (row: Record<string, unknown>, table: string, id: string | number) => {
    let p = readStr(row, table, id, "scan_prefix", { maxLength: 64 }).trim();
    if (p === "null") p = ""; // Kamailio's spelling of the empty prefix in its config file
    for (let k = 0; k < p.length; k++) {
      if (!alphabet.includes(p[k]!)) throw new TableError(table, id, `scan_prefix '${p}': invalid character '${p[k]}' at position ${k} (match_mode ${matchMode})`);
    }
    return p;
  };

  // ---- routes: group by carrier/domain/prefix (flag groups are split per prefix below)
  type Raw = Omit<CrRule, "hashIndex" | "diceTo">;
  const routeGroups = new Map<string, Raw[]>();
  let ruleCount = 0;
  const routeRows = tableArray(set, CR);
  for (let i = 0; i < routeRows.length; i++) {
    if ((i & ROW_SLICE_MASK) === ROW_SLICE_MASK) yield;
    const row = rowAt(routeRows, i, CR);
    const id = rowIdOf(row, "id", i);
    const { carrierId, domainId } = carrierDomain(row, CR, id);
    const prefix = prefixOf(row, CR, id);
    const { flags, mask } = flagsAndMask(row, CR, id);
    const prob = readFloat(row, CR, id, "prob", { min: 0, max: 1 });
    const strip = readInt(row, CR, id, "strip", { min: 0, max: 64, def: 0 });
    const host = readStr(row, CR, id, "rewrite_host", { maxLength: 255 }).trim();
    if (host !== "" && !HOST_RE.test(host)) throw new TableError(CR, id, `rewrite_host '${host}' is not host[:port][;params]`);
    const rewritePrefix = userPart(readStr(row, CR, id, "rewrite_prefix", { maxLength: 64 }), CR, id, "rewrite_prefix");
    const rewriteSuffix = userPart(readStr(row, CR, id, "rewrite_suffix", { maxLength: 64 }), CR, id, "rewrite_suffix");
    const description = readStr(row, CR, id, "description");
    const key = `${carrierId}|${domainId}|${prefix}`;
    let g = routeGroups.get(key);
    if (!g) routeGroups.set(key, (g = []));
    g.push({ id, carrierId, domainId, prefix, flags, mask, prob, strip, host, rewritePrefix, rewriteSuffix, description });
    ruleCount++;
  }

  const failureGroups = new Map<string, CrFailureRule[]>();
  let failureRuleCount = 0;
  const failureRows = tableArray(set, CFR);
  for (let i = 0; i < failureRows.length; i++) {
    if ((i & ROW_SLICE_MASK) === ROW_SLICE_MASK) yield;
    const row = rowAt(failureRows, i, CFR);
    const id = rowIdOf(row, "id", i);
    const { carrierId, domainId } = carrierDomain(row, CFR, id);
    const prefix = prefixOf(row, CFR, id);
    const host = readStr(row, CFR, id, "host_name", { maxLength: 255 }).trim();
    const replyCode = readStr(row, CFR, id, "reply_code", { maxLength: 3 }).trim();
    if (replyCode !== "" && !/^[1-6.][0-9.]{2}$/.test(replyCode)) throw new TableError(CFR, id, `reply_code '${replyCode}' is not three of [0-9.] (e.g. 486, 5..)`);
    const { flags, mask } = flagsAndMask(row, CFR, id);
    const nextDomain = readInt(row, CFR, id, "next_domain", { min: 0 });
    if (!domainNames.has(nextDomain)) throw new TableError(CFR, id, `next_domain ${nextDomain} is not in domain_name`);
    const description = readStr(row, CFR, id, "description");
    const key = `${carrierId}|${domainId}|${prefix}`;
    let g = failureGroups.get(key);
    if (!g) failureGroups.set(key, (g = []));
    g.push({ id, prefix, host, replyCode, flags, mask, nextDomain, description });
    failureRuleCount++;
  }

  // ---- trees per carrier/domain
  const routeBuilders = new Map<string, PrefixTreeBuilder<CrRouteFlags[]>>();
  const failureBuilders = new Map<string, PrefixTreeBuilder<CrFailureRule[]>>();
  const builder = <T>(m: Map<string, PrefixTreeBuilder<T>>, cd: string) => {
    let b = m.get(cd);
    if (!b) m.set(cd, (b = new PrefixTreeBuilder<T>({ alphabet })));
    return b;
  };
  let n = 0;
  for (const raws of routeGroups.values()) {
    if ((++n & ROW_SLICE_MASK) === 0) yield;
    const first = raws[0]!;
    addPrefix(builder(routeBuilders, `${first.carrierId}|${first.domainId}`), first.prefix, flagGroups(raws), CR, first.id);
  }
  for (const [key, rules] of failureGroups) {
    if ((++n & ROW_SLICE_MASK) === 0) yield;
    sortFailureRules(rules);
    addPrefix(builder(failureBuilders, key.slice(0, key.lastIndexOf("|"))), rules[0]!.prefix, rules, CFR, rules[0]!.id);
  }

  const carriers = new Map<number, CrCarrier>();
  for (const [cid, name] of [...carrierNames].sort((a, b) => a[0] - b[0])) {
    const domains = new Map<number, CrDomain>();
    for (const [did, dname] of [...domainNames].sort((a, b) => a[0] - b[0])) {
      const cd = `${cid}|${did}`;
      const rb = routeBuilders.get(cd);
      const fb = failureBuilders.get(cd);
      if (rb === undefined && fb === undefined) continue;
      const routes = yield* (rb ?? new PrefixTreeBuilder<CrRouteFlags[]>()).buildSteps();
      const failures = yield* (fb ?? new PrefixTreeBuilder<CrFailureRule[]>()).buildSteps();
      domains.set(did, { id: did, name: dname, routes, failures });
    }
    carriers.set(cid, { id: cid, name, domains });
  }
  return {
    carriers,
    carrierIds,
    domainIds,
    domainNames,
    defaultCarrierId: carrierIds.get(opts.defaultTree ?? "default") ?? 0,
    matchMode,
    ruleCount,
    failureRuleCount,
  };
}

const HOST_RE = /^([A-Za-z0-9.\-_]+|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?(;[^\s]*)?$/;

/**
 * Splits one prefix's targets into (flags, mask) groups, most mask bits first (Kamailio
 * add_route_flags), and gives each group its order and dice ranges: prob-0 targets first, then
 * the others in table order.
 */
function flagGroups(raws: ReadonlyArray<Omit<CrRule, "hashIndex" | "diceTo">>): CrRouteFlags[] {
  let lists: Array<ReadonlyArray<Omit<CrRule, "hashIndex" | "diceTo">>>;
  if (raws.every((r) => r.flags === raws[0]!.flags && r.mask === raws[0]!.mask)) {
    lists = [raws];
  } else {
    const byKey = new Map<string, Array<Omit<CrRule, "hashIndex" | "diceTo">>>();
    for (const r of raws) {
      const k = `${r.flags}/${r.mask}`;
      let l = byKey.get(k);
      if (!l) byKey.set(k, (l = []));
      l.push(r);
    }
    lists = [...byKey.values()];
  }
  const out: CrRouteFlags[] = [];
  for (const list of lists) {
    const ordered = list.some((r) => r.prob === 0) ? [...list.filter((r) => r.prob === 0), ...list.filter((r) => r.prob > 0)] : list;
    let dice = 0;
    const rules: CrRule[] = new Array(ordered.length);
    for (let k = 0; k < ordered.length; k++) {
      const r = ordered[k]!;
      dice += Math.round(r.prob * DICE_MAX);
      rules[k] = {
        id: r.id,
        carrierId: r.carrierId,
        domainId: r.domainId,
        prefix: r.prefix,
        flags: r.flags,
        mask: r.mask,
        prob: r.prob,
        strip: r.strip,
        host: r.host,
        rewritePrefix: r.rewritePrefix,
        rewriteSuffix: r.rewriteSuffix,
        description: r.description,
        hashIndex: k + 1,
        diceTo: dice,
      };
    }
    out.push({ flags: list[0]!.flags, mask: list[0]!.mask, rules, diceMax: dice });
  }
  if (out.length > 1) out.sort((a, b) => b.mask - a.mask);
  return out;
}

function addPrefix<T>(b: PrefixTreeBuilder<T[]>, prefix: string, value: T[], table: string, id: string | number): void {
  try {
    b.add(prefix, value);
  } catch (e) {
    if (e instanceof PrefixKeyError) throw new TableError(table, id, `scan_prefix '${prefix}': ${e.message}`);
    throw e;
  }
}

/**
 * Kamailio failure_rule_prio_cmp: a rule naming a host before a wildcard host, then fewer '.'
 * wildcards in reply_code ("" counts as three), then more mask bits; table order among equals.
 */
export function sortFailureRules(rules: CrFailureRule[]): void {
  const dots = (r: CrFailureRule) => (r.replyCode === "" ? 3 : [...r.replyCode].filter((c) => c === ".").length);
  const indexed = rules.map((r, k) => ({ r, k }));
  indexed.sort((a, b) => (a.r.host === "" ? 1 : 0) - (b.r.host === "" ? 1 : 0) || dots(a.r) - dots(b.r) || b.r.mask - a.r.mask || a.k - b.k);
  indexed.forEach((x, k) => (rules[k] = x.r));
}

function userPart(v: string, table: string, id: string | number, column: string): string {
  if (!/^[A-Za-z0-9\-_.!~*'()%&=+$,;?/#]*$/.test(v)) throw new TableError(table, id, `${column} '${v}' has characters a URI user part cannot hold`);
  return v;
}

function asciiAlphabet(): string {
  let s = "";
  for (let c = 32; c < 127; c++) s += String.fromCharCode(c);
  return s;
}
