import { TableError, type TableRow, type TableSet } from "../rows.js";
import { PrefixKeyError, PrefixTreeBuilder } from "../../lib/prefix-tree/build-prefix-tree.js";
import type { PrefixTree } from "../../lib/prefix-tree/prefix-tree.js";
import { readInt, readIntOrNull, readStr, readStrOrNull, rowIdOf, rowAt, tableArray } from "../kit/row-values.js";
import { ROW_SLICE_MASK, runToEnd, type Sliced } from "../kit/sliced.js";
import { PcreError, pcreToRegExp } from "./pcre.js";
import { expandIp, isIpv6 } from "../../lib/net/ip.js";

/**
 * Compiling Kamailio's lcr tables (lcr_gw v3, lcr_rule v3, lcr_rule_target v1) into one lookup
 * structure per LCR instance (lcr_id): its gateways (gateways with lcr_id 0 belong to every
 * instance), its rules in a prefix tree, and an IP index for from_gw/to_gw. Pure: no clock, no
 * random source, no I/O — the control plane runs the same function to validate rows.
 */

/** lcr_gw.transport codes (Kamailio enum sip_protos): 0 none, 1 udp, 2 tcp, 3 tls, 4 sctp. */
export const LCR_TRANSPORTS = ["", ";transport=udp", ";transport=tcp", ";transport=tls", ";transport=sctp"] as const;

/** Kamailio limits (lcr_mod.h). */
export const LCR_MAX_PREFIX = 16;
export const LCR_MAX_HOST = 64;
export const LCR_MAX_NAME = 128;
export const LCR_MAX_TAG = 64;
export const LCR_MAX_STRIP = 64;
export const LCR_MAX_PARAMS = 64;
export const LCR_MAX_URI = 256;
export const LCR_MAX_MT_TVALUE = 128;
/** defunct ≥ this: the gateway is not loaded at all. */
export const LCR_DEFUNCT_NOT_LOADED = 4294967295;

/** One gateway as loaded into one instance (immutable; runtime state lives in the module). */
export interface LcrGw {
  readonly gwId: number;
  /** lcr_id column (0 = member of every instance). */
  readonly lcrId: number;
  readonly gwName: string;
  /** "sip:" or "sips:" (as Kamailio keeps it, colon included). */
  readonly scheme: "sip:" | "sips:";
  /** IP address as configured (IPv6 without brackets), or null. */
  readonly ipAddr: string | null;
  /** Canonical form used for comparisons (expandIp), or null. */
  readonly ipCanon: string | null;
  readonly ipv6: boolean;
  readonly hostname: string | null;
  /** 0 when the column is NULL. */
  readonly port: number;
  /** URI parameters, starting with ';' ("" when none). */
  readonly params: string;
  /** 0 none, 1 udp, 2 tcp, 3 tls, 4 sctp. */
  readonly transportCode: number;
  /** ";transport=udp" etc., "" for none. */
  readonly transport: string;
  readonly strip: number;
  readonly prefix: string;
  readonly tag: string;
  readonly flags: number;
  /** defunct column: unix time until which the gateway is skipped (0 = never). */
  readonly defunctUntil: number;
  /** The gateway URI as Kamailio prints it (scheme, ip or hostname, port, transport). */
  readonly uri: string;
}

export interface LcrTarget {
  readonly targetId: string | number;
  /** 1-based index of the gateway in its instance (Kamailio's gw_index). */
  readonly gwIndex: number;
  readonly gw: LcrGw;
  /** 0 highest … 255 lowest. */
  readonly priority: number;
  /** 1 … 254. */
  readonly weight: number;
}

export interface LcrRule {
  readonly ruleId: number;
  readonly lcrId: number;
  readonly prefix: string;
  readonly fromUri: string;
  readonly fromRe: RegExp | null;
  readonly requestUri: string;
  readonly requestRe: RegExp | null;
  readonly mtTvalue: string;
  readonly stopper: boolean;
  /** Targets in row order. */
  readonly targets: readonly LcrTarget[];
}

export interface LcrInstance {
  readonly lcrId: number;
  /** Gateways of this instance (own and lcr_id 0), ordered by IP address like Kamailio; gwIndex = position + 1. */
  readonly gws: readonly LcrGw[];
  readonly gwIndexById: ReadonlyMap<number, number>;
  /** Some gateway has no ip_addr: from_gw/to_gw are refused for this instance (Kamailio). */
  readonly hasGwWithoutIp: boolean;
  /** canonical IP → gateways with that address. */
  readonly byIp: ReadonlyMap<string, readonly LcrGw[]>;
  /** Enabled rules grouped by prefix (row order within a prefix). */
  readonly rules: PrefixTree<LcrRule[]>;
  readonly ruleList: readonly LcrRule[];
  /** Distinct prefix lengths, longest first (lcr.dump_rules "prefix_len"). */
  readonly prefixLens: readonly number[];
}

export interface CompiledLcr {
  /** Instances by lcr_id, ascending. */
  readonly instances: ReadonlyMap<number, LcrInstance>;
  /** Highest instance id (Kamailio's lcr_count): 1..lcrCount are valid lcr_id arguments. */
  readonly lcrCount: number;
  readonly gwCount: number;
  readonly ruleCount: number;
  readonly targetCount: number;
}

export interface LcrCompileOptions {
  /**
   * Kamailio `lcr_count`: number of instances. Rows with a higher lcr_id are rejected. When
   * unset, it is the highest lcr_id in the rows (at least 1).
   */
  readonly lcrCount?: number;
}

const GW = "lcr_gw";
const RULE = "lcr_rule";
const TARGET = "lcr_rule_target";

/** Characters a prefix may hold: what can appear in a SIP URI user part (RFC 3261 §25.1) plus '#'. */
const PREFIX_CHARS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_.!~*'()%&=+$,;?/#";
const PREFIX_OK = (() => {
  const t = new Uint8Array(128);
  for (let i = 0; i < PREFIX_CHARS.length; i++) t[PREFIX_CHARS.charCodeAt(i)] = 1;
  return t;
})();

/**
 * Validates and compiles the three lcr tables. Throws TableError naming the table and row id on
 * the first bad row: wrong types, out-of-range values (port, strip, uri_scheme, transport,
 * priority 0–255, weight 1–254, stopper/enabled 0–1), sips with udp, params not starting with
 * ';', a gateway with neither ip_addr nor hostname, a bad IP address, bad prefix characters, a
 * from_uri/request_uri that is not a translatable PCRE, a target naming an unknown rule or
 * gateway (or one of another instance), duplicate ids and duplicate unique keys
 * (lcr_rule: lcr_id+prefix+from_uri; lcr_rule_target: rule_id+gw_id).
 * Disabled rules (enabled=0) and gateways with defunct ≥ 4294967295 are not loaded; targets
 * pointing at them are skipped, as in Kamailio.
 *
 * @example
 *   const lcr = compileLcrTables({ lcr_gw: [...], lcr_rule: [...], lcr_rule_target: [...] });
 */
export function compileLcrTables(set: TableSet, opts: LcrCompileOptions = {}): CompiledLcr {
  return runToEnd(compileLcrSteps(set, opts));
}

/** compileLcrTables as resumable steps (tables/kit/sliced.ts): yields every 1,024 rows and between tree-build slices. */
export function* compileLcrSteps(set: TableSet, opts: LcrCompileOptions = {}): Sliced<CompiledLcr> {
  const gwRows = tableArray(set, GW);
  const ruleRows = tableArray(set, RULE);
  const targetRows = tableArray(set, TARGET);

  // ---- gateways
  const gwById = new Map<number, LcrGw>();
  const notLoadedGw = new Map<number, number>();
  let maxLcrId = 0;
  for (let i = 0; i < gwRows.length; i++) {
    if ((i & ROW_SLICE_MASK) === ROW_SLICE_MASK) yield;
    const row = rowAt(gwRows, i, GW);
    const gw = parseGw(row, i);
    const rid = rowIdOf(row, "id", i);
    const gwId = gw === "skip" ? readInt(row, GW, rid, "id", { min: 0 }) : gw.gwId;
    if (gwById.has(gwId) || notLoadedGw.has(gwId)) throw new TableError(GW, rid, "duplicate id");
    if (gw === "skip") {
      notLoadedGw.set(gwId, readInt(row, GW, rid, "lcr_id", { min: 0, max: 65535, def: 0 }));
      continue;
    }
    gwById.set(gwId, gw);
    if (gw.lcrId > maxLcrId) maxLcrId = gw.lcrId;
  }

  // ---- rules
  const rulesById = new Map<number, { rule: LcrRule; targets: LcrTarget[] }>();
  const disabledRules = new Map<number, number>();
  const ruleKeys = new Map<string, number>();
  // big tables repeat a few patterns: translate each once (the RegExps are stateless, no g/y flag)
  const patterns = new Map<string, RegExp>();
  for (let i = 0; i < ruleRows.length; i++) {
    if ((i & ROW_SLICE_MASK) === ROW_SLICE_MASK) yield;
    const row = rowAt(ruleRows, i, RULE);
    const id = rowIdOf(row, "id", i);
    const ruleId = readInt(row, RULE, id, "id", { min: 0 });
    if (rulesById.has(ruleId) || disabledRules.has(ruleId)) throw new TableError(RULE, id, "duplicate id");
    const lcrId = readInt(row, RULE, id, "lcr_id", { min: 1, max: 65535 });
    if (lcrId > maxLcrId) maxLcrId = lcrId;
    const enabled = readInt(row, RULE, id, "enabled", { min: 0, max: 1, def: 1 });
    const stopper = readInt(row, RULE, id, "stopper", { min: 0, max: 1, def: 0 });
    const prefix = readStr(row, RULE, id, "prefix", { maxLength: LCR_MAX_PREFIX });
    checkPrefixChars(prefix, RULE, id);
    const fromUri = readStr(row, RULE, id, "from_uri", { maxLength: LCR_MAX_URI });
    const requestUri = readStr(row, RULE, id, "request_uri", { maxLength: LCR_MAX_URI });
    const mtTvalue = readStr(row, RULE, id, "mt_tvalue", { maxLength: LCR_MAX_MT_TVALUE });
    const fromRe = fromUri === "" ? null : compilePattern(fromUri, RULE, id, "from_uri", patterns);
    const requestRe = requestUri === "" ? null : compilePattern(requestUri, RULE, id, "request_uri", patterns);
    const key = `${lcrId}\u0000${prefix}\u0000${fromUri}`;
    const dup = ruleKeys.get(key);
    if (dup !== undefined) throw new TableError(RULE, id, `duplicate (lcr_id, prefix, from_uri) = (${lcrId}, '${prefix}', '${fromUri}'), also rule ${dup}`);
    ruleKeys.set(key, ruleId);
    if (enabled === 0) {
      disabledRules.set(ruleId, lcrId);
      continue;
    }
    const targets: LcrTarget[] = [];
    const rule: LcrRule = { ruleId, lcrId, prefix, fromUri, fromRe, requestUri, requestRe, mtTvalue, stopper: stopper === 1, targets };
    rulesById.set(ruleId, { rule, targets });
  }

  const lcrCount = opts.lcrCount ?? Math.max(1, maxLcrId);
  if (opts.lcrCount !== undefined) {
    for (const gw of gwById.values()) if (gw.lcrId > lcrCount) throw new TableError(GW, gw.gwId, `lcr_id ${gw.lcrId} is above lcr_count ${lcrCount}`);
    for (const { rule } of rulesById.values()) if (rule.lcrId > lcrCount) throw new TableError(RULE, rule.ruleId, `lcr_id ${rule.lcrId} is above lcr_count ${lcrCount}`);
  }

  // ---- instances: gateways (sorted by address like Kamailio's comp_gws), indexes
  const instanceGws = new Map<number, LcrGw[]>();
  for (let id = 1; id <= lcrCount; id++) instanceGws.set(id, []);
  for (const gw of gwById.values()) {
    if (gw.lcrId === 0) for (const list of instanceGws.values()) list.push(gw);
    else instanceGws.get(gw.lcrId)!.push(gw);
  }
  const gwIndexes = new Map<number, Map<number, number>>();
  for (const [id, list] of instanceGws) {
    list.sort(compareGwAddress);
    gwIndexes.set(id, new Map(list.map((g, i) => [g.gwId, i + 1])));
  }

  // ---- targets
  const gwsOfRule = new Map<number, number[]>();
  let targetCount = 0;
  for (let i = 0; i < targetRows.length; i++) {
    if ((i & ROW_SLICE_MASK) === ROW_SLICE_MASK) yield;
    const row = rowAt(targetRows, i, TARGET);
    const id = rowIdOf(row, "id", i);
    const lcrId = readInt(row, TARGET, id, "lcr_id", { min: 1, max: 65535 });
    const ruleId = readInt(row, TARGET, id, "rule_id", { min: 0 });
    const gwId = readInt(row, TARGET, id, "gw_id", { min: 0 });
    const priority = readInt(row, TARGET, id, "priority", { min: 0, max: 255 });
    const weight = readInt(row, TARGET, id, "weight", { min: 1, max: 254, def: 1 });
    let seen = gwsOfRule.get(ruleId);
    if (seen === undefined) gwsOfRule.set(ruleId, (seen = []));
    if (seen.includes(gwId)) throw new TableError(TARGET, id, `duplicate (rule_id, gw_id) = (${ruleId}, ${gwId})`);
    seen.push(gwId);
    const entry = rulesById.get(ruleId);
    const ruleLcr = entry?.rule.lcrId ?? disabledRules.get(ruleId);
    if (ruleLcr === undefined) throw new TableError(TARGET, id, `rule_id ${ruleId} is not in lcr_rule`);
    if (ruleLcr !== lcrId) throw new TableError(TARGET, id, `lcr_id ${lcrId} differs from the lcr_id ${ruleLcr} of rule ${ruleId}`);
    const gw = gwById.get(gwId);
    const gwLcr = gw?.lcrId ?? notLoadedGw.get(gwId);
    if (gwLcr === undefined) throw new TableError(TARGET, id, `gw_id ${gwId} is not in lcr_gw`);
    if (gwLcr !== 0 && gwLcr !== lcrId) throw new TableError(TARGET, id, `gateway ${gwId} belongs to lcr_id ${gwLcr}, not ${lcrId}`);
    if (entry === undefined || gw === undefined) continue; // disabled rule or gateway not loaded
    entry.targets.push({ targetId: id, gwIndex: gwIndexes.get(lcrId)!.get(gwId)!, gw, priority, weight });
    targetCount++;
  }

  // ---- rule trees per instance
  const instances = new Map<number, LcrInstance>();
  const rulesOf = new Map<number, LcrRule[]>();
  for (const { rule } of rulesById.values()) {
    let l = rulesOf.get(rule.lcrId);
    if (!l) rulesOf.set(rule.lcrId, (l = []));
    l.push(rule);
  }
  let ruleCount = 0;
  for (const [lcrId, gws] of instanceGws) {
    const rules = rulesOf.get(lcrId) ?? [];
    ruleCount += rules.length;
    const b = new PrefixTreeBuilder<LcrRule[]>({ maxKeyLength: LCR_MAX_PREFIX, expectedSize: rules.length, merge: (a, x) => (a.push(...x), a) });
    const lens = new Set<number>();
    for (let k = 0; k < rules.length; k++) {
      if ((k & ROW_SLICE_MASK) === ROW_SLICE_MASK) yield;
      const r = rules[k]!;
      try {
        b.add(r.prefix, [r]);
      } catch (e) {
        if (e instanceof PrefixKeyError) throw new TableError(RULE, r.ruleId, `prefix '${r.prefix}': ${e.message}`);
        throw e;
      }
      lens.add(r.prefix.length);
    }
    const byIp = new Map<string, LcrGw[]>();
    for (const g of gws) {
      if (g.ipCanon === null) continue;
      let l = byIp.get(g.ipCanon);
      if (!l) byIp.set(g.ipCanon, (l = []));
      l.push(g);
    }
    instances.set(lcrId, {
      lcrId,
      gws,
      gwIndexById: gwIndexes.get(lcrId)!,
      hasGwWithoutIp: gws.some((g) => g.ipCanon === null),
      byIp,
      rules: yield* b.buildSteps(),
      ruleList: rules,
      prefixLens: [...lens].sort((a, b2) => b2 - a),
    });
  }
  return { instances, lcrCount, gwCount: gwById.size, ruleCount, targetCount };
}

function parseGw(row: TableRow, i: number): LcrGw | "skip" {
  const id = rowIdOf(row, "id", i);
  const gwId = readInt(row, GW, id, "id", { min: 0 });
  const defunct = readInt(row, GW, id, "defunct", { min: 0, max: LCR_DEFUNCT_NOT_LOADED, def: 0 });
  if (defunct >= LCR_DEFUNCT_NOT_LOADED) return "skip";
  const lcrId = readInt(row, GW, id, "lcr_id", { min: 0, max: 65535 });
  const gwName = readStr(row, GW, id, "gw_name", { maxLength: LCR_MAX_NAME });
  let ipAddr = readStrOrNull(row, GW, id, "ip_addr", { maxLength: 50 });
  if (ipAddr !== null) ipAddr = ipAddr.trim();
  if (ipAddr === "") ipAddr = null;
  let ipCanon: string | null = null;
  let ipv6 = false;
  if (ipAddr !== null) {
    ipCanon = expandIp(ipAddr);
    if (ipCanon === null) throw new TableError(GW, id, `ip_addr '${ipAddr}' is not an IPv4 or IPv6 address`);
    ipv6 = isIpv6(ipAddr);
    if (ipv6 && ipAddr.startsWith("[")) ipAddr = ipAddr.slice(1, -1);
  }
  let hostname = readStrOrNull(row, GW, id, "hostname", { maxLength: LCR_MAX_HOST });
  if (hostname === "") hostname = null;
  if (ipAddr === null && hostname === null) throw new TableError(GW, id, "ip_addr and hostname are both NULL");
  if (hostname !== null && !/^[A-Za-z0-9.\-_[\]:]+$/.test(hostname)) throw new TableError(GW, id, `hostname '${hostname}' is not a host name`);
  const port = readInt(row, GW, id, "port", { min: 0, max: 65535, def: 0 });
  const uriScheme = readIntOrNull(row, GW, id, "uri_scheme", { min: 0 });
  if (uriScheme !== null && uriScheme !== 1 && uriScheme !== 2) throw new TableError(GW, id, `uri_scheme ${uriScheme} is not 1 (sip) or 2 (sips)`);
  const scheme = uriScheme === 2 ? "sips:" : "sip:";
  const transportCode = readInt(row, GW, id, "transport", { min: 0, def: 0 });
  if (transportCode > 4) throw new TableError(GW, id, `transport ${transportCode} is not 0 (none), 1 (udp), 2 (tcp), 3 (tls) or 4 (sctp)`);
  if (scheme === "sips:" && transportCode === 1) throw new TableError(GW, id, "transport udp is not allowed with the sips URI scheme");
  const params = readStr(row, GW, id, "params", { maxLength: LCR_MAX_PARAMS });
  if (params !== "" && !params.startsWith(";")) throw new TableError(GW, id, `params '${params}' does not start with ';'`);
  const strip = readInt(row, GW, id, "strip", { min: 0, max: LCR_MAX_STRIP, def: 0 });
  const prefix = readStr(row, GW, id, "prefix", { maxLength: LCR_MAX_PREFIX });
  checkPrefixChars(prefix, GW, id);
  const tag = readStr(row, GW, id, "tag", { maxLength: LCR_MAX_TAG });
  const flags = readInt(row, GW, id, "flags", { min: 0, max: 4294967295, def: 0 });
  const transport = LCR_TRANSPORTS[transportCode]!;
  const host = ipAddr !== null ? (ipv6 ? `[${ipAddr}]` : ipAddr) : hostname!;
  const uri = `${scheme}${host}${port > 0 ? `:${port}` : ""}${transport}`;
  return { gwId, lcrId, gwName, scheme, ipAddr, ipCanon, ipv6, hostname, port, params, transportCode, transport, strip, prefix, tag, flags, defunctUntil: defunct, uri };
}

function checkPrefixChars(prefix: string, table: string, id: string | number): void {
  for (let i = 0; i < prefix.length; i++) {
    const c = prefix.charCodeAt(i);
    if (c >= 128 || PREFIX_OK[c] !== 1) throw new TableError(table, id, `prefix '${prefix}': invalid character '${prefix[i]}' at position ${i}`);
  }
}

function compilePattern(p: string, table: string, id: string | number, column: string, cache: Map<string, RegExp>): RegExp {
  const hit = cache.get(p);
  if (hit !== undefined) return hit;
  try {
    const re = pcreToRegExp(p);
    cache.set(p, re);
    return re;
  } catch (e) {
    if (e instanceof PcreError) throw new TableError(table, id, `${column} '${p}' is not a usable PCRE pattern: ${e.message}`);
    throw e;
  }
}

/** Kamailio sorts gateways by address family, length, then bytes; gateways without IP first. */
function compareGwAddress(a: LcrGw, b: LcrGw): number {
  const fam = (g: LcrGw) => (g.ipCanon === null ? 0 : g.ipv6 ? 2 : 1);
  if (fam(a) !== fam(b)) return fam(a) - fam(b);
  if (a.ipCanon === null || b.ipCanon === null) return a.gwId - b.gwId;
  const ka = a.ipv6 ? a.ipCanon : a.ipCanon.split(".").map((p) => p.padStart(3, "0")).join(".");
  const kb = b.ipv6 ? b.ipCanon : b.ipCanon.split(".").map((p) => p.padStart(3, "0")).join(".");
  return ka < kb ? -1 : ka > kb ? 1 : a.gwId - b.gwId;
}
