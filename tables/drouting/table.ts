import { TableError, type TableRow, type TableSet } from "../rows.js";
import { PrefixKeyError, PrefixTreeBuilder } from "../../lib/prefix-tree/build-prefix-tree.js";
import type { PrefixTree } from "../../lib/prefix-tree/prefix-tree.js";
import { readInt, readStr, rowIdOf, rowAt, tableArray } from "../kit/row-values.js";
import { ROW_SLICE_MASK, runToEnd, type Sliced } from "../kit/sliced.js";
import { expandIp } from "../../lib/net/ip.js";
import { splitUriRaw } from "../../lib/sip/uri-split.js";
import { TimeRecError, parseTimeRec, type TimeRec } from "./timerec.js";
import type { Calendar } from "./calendar.js";

/**
 * Compiling Kamailio's drouting tables (dr_gateways v3, dr_rules v3, dr_groups v2,
 * dr_gw_lists v1): one prefix tree per routing group, rules under a prefix ordered by priority
 * (highest first, table order among equals), gateway lists resolved to gateway objects, the
 * From-user → group map, and an address index for is_from_gw / goes_to_gw. Pure: the control
 * plane runs the same function to validate rows.
 */

export interface DrGateway {
  readonly gwid: number;
  readonly type: number;
  /** host[:port] as configured (without a sip: scheme). */
  readonly address: string;
  /** Canonical IP when the host is an IP literal (is_from_gw/goes_to_gw); null for names. */
  readonly ipCanon: string | null;
  /** Port of the address, 0 when none. */
  readonly port: number;
  readonly strip: number;
  readonly priPrefix: string;
  readonly attrs: string;
  readonly description: string;
}

export interface DrRule {
  readonly ruleId: number;
  readonly groups: readonly number[];
  readonly prefix: string;
  readonly timerec: TimeRec | null;
  readonly priority: number;
  /** Script route to run first (routeid), or null. */
  readonly routeId: string | null;
  /** The gwlist: serial groups (';'), each a list of gateways (',' or '|'). */
  readonly gwGroups: readonly (readonly DrGateway[])[];
  /** gwlist as configured ("#id" references kept). */
  readonly gwlist: string;
}

export interface DrGroupRules {
  /** Rules by prefix; each list ordered by priority, highest first. */
  readonly tree: PrefixTree<DrRule[]>;
  /** Rules with an empty prefix, same order. */
  readonly noPrefix: readonly DrRule[];
  /**
   * Prefixes changed by deltas on top of `tree` (delta.ts): prefix → its rules in order (empty:
   * none), replacing the tree's list for that prefix. Absent after a full compile.
   */
  readonly overlay?: ReadonlyMap<string, readonly DrRule[]>;
  /** The distinct key lengths of `overlay`, longest first. */
  readonly overlayLengths?: readonly number[];
}

/** The lookups over a version compiled once into shared memory (shared.ts; what findRule uses). */
export interface DrSharedRules {
  /**
   * The rule for `user` in `group` at `now`, as findRule over the object form finds it; `g` is the
   * version's group (one a delta changed has an overlay of rule objects over the buffers' lists).
   */
  find(group: number, user: string, now: number, cal: Calendar, g?: DrGroupRules): DrRule | null;
  /** Whether `g` is the group as the buffers have it (no delta changed it). */
  isBase(group: number, g: DrGroupRules | undefined): boolean;
  /** The posted form (shared.ts SharedDrouting). */
  readonly data: object;
  readonly bytes: number;
}

/** A dr_gw_lists row resolved. */
export interface DrGwList {
  readonly text: string;
  readonly groups: DrGateway[][];
}

export interface CompiledDrouting {
  readonly gateways: ReadonlyMap<number, DrGateway>;
  readonly groups: ReadonlyMap<number, DrGroupRules>;
  /** dr_groups: "username@domain" (domain lower-cased) → groupid. */
  readonly userDomainGroups: ReadonlyMap<string, number>;
  /** dr_groups by username only (use_domain = 0): the first row wins. */
  readonly userGroups: ReadonlyMap<string, number>;
  /** canonical IP → gateways with that address. */
  readonly byIp: ReadonlyMap<string, readonly DrGateway[]>;
  readonly ruleCount: number;
  /** ruleids of a full compile (delta.ts checks duplicates against it and `ruleIdOverlay`). */
  readonly ruleIds?: ReadonlySet<number>;
  /** ruleids a delta added (true) or removed (false) since `ruleIds` was built. */
  readonly ruleIdOverlay?: ReadonlyMap<number, boolean>;
  /** dr_gw_lists by id (what `#id` gwlists resolve to). */
  readonly lists?: ReadonlyMap<number, DrGwList>;
  /** Prefix overlay entries summed over the groups (0 or absent: plain trees). */
  readonly overlaySize?: number;
  /** A version compiled once by the node's primary thread, over shared memory (shared.ts); `groups` is then empty. */
  readonly sharedRules?: DrSharedRules;
  /** Rows of the set a shared version was compiled from. */
  readonly sharedRows?: number;
}

/** Kamailio's DR_MAX_GWLIST: at most 32 gateways per rule. */
export const DR_MAX_GWLIST = 32;
/** Prefix symbols of drouting's tree (get_node_index): digits, '*', '#', '+'. */
export const DR_PREFIX_CHARS = "0123456789*#+";

const GWS = "dr_gateways";
const RULES = "dr_rules";
const GROUPS = "dr_groups";
const LISTS = "dr_gw_lists";

/**
 * Validates and compiles the drouting tables. Throws TableError naming table and row on: bad
 * types, duplicate ids, a gateway address that is not host[:port], a negative strip, prefix
 * characters outside 0-9 * # +, a bad timerec, a groupid list that is not comma-separated
 * integers, a gwlist that does not parse, names an unknown gateway or an unknown `#list`, or has
 * more than 32 gateways, and a repeated (username, domain) in dr_groups.
 *
 * @example
 *   const dr = compileDroutingTables({ dr_gateways: [...], dr_rules: [...] });
 */
export function compileDroutingTables(set: TableSet): CompiledDrouting {
  return runToEnd(compileDroutingSteps(set));
}

/** compileDroutingTables as resumable steps (tables/kit/sliced.ts): yields every 1,024 rows and between tree-build slices. */
export function* compileDroutingSteps(set: TableSet): Sliced<CompiledDrouting> {
  // ---- gateways
  const gateways = new Map<number, DrGateway>();
  const gwRows = tableArray(set, GWS);
  for (let i = 0; i < gwRows.length; i++) {
    if ((i & ROW_SLICE_MASK) === ROW_SLICE_MASK) yield;
    const row = rowAt(gwRows, i, GWS);
    const id = rowIdOf(row, "gwid", i);
    const gwid = readInt(row, GWS, id, "gwid", { min: 0 });
    if (gateways.has(gwid)) throw new TableError(GWS, id, "duplicate gwid");
    const type = readInt(row, GWS, id, "type", { def: 0 });
    const raw = readStr(row, GWS, id, "address", { nonEmpty: true, maxLength: 128 }).trim();
    const uri = splitUriRaw(/^sips?:/i.test(raw) ? raw : `sip:${raw}`);
    if (uri === null || uri.user !== null || uri.params !== "" || uri.headers !== "" || !/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.\-_]+)$/.test(uri.host)) {
      throw new TableError(GWS, id, `address '${raw}' is not host[:port]`);
    }
    if (/:\d*$/.test(raw) && uri.port === null) throw new TableError(GWS, id, `address '${raw}' has a bad port`);
    const strip = readInt(row, GWS, id, "strip", { min: 0, max: 64, def: 0 });
    const priPrefix = readStr(row, GWS, id, "pri_prefix", { maxLength: 64 });
    if (!/^[A-Za-z0-9\-_.!~*'()%&=+$,;?/#]*$/.test(priPrefix)) throw new TableError(GWS, id, `pri_prefix '${priPrefix}' has characters a URI user part cannot hold`);
    const attrs = readStr(row, GWS, id, "attrs", { maxLength: 255 });
    const description = readStr(row, GWS, id, "description");
    const address = uri.port === null ? uri.host : `${uri.host}:${uri.port}`;
    gateways.set(gwid, { gwid, type, address, ipCanon: expandIp(uri.host), port: uri.port ?? 0, strip, priPrefix, attrs, description });
  }

  // ---- reusable lists
  const lists = new Map<number, DrGwList>();
  const listRows = tableArray(set, LISTS);
  for (let i = 0; i < listRows.length; i++) {
    if ((i & ROW_SLICE_MASK) === ROW_SLICE_MASK) yield;
    const row = rowAt(listRows, i, LISTS);
    const id = rowIdOf(row, "id", i);
    const listId = readInt(row, LISTS, id, "id", { min: 0 });
    if (lists.has(listId)) throw new TableError(LISTS, id, "duplicate id");
    const text = readStr(row, LISTS, id, "gwlist", { nonEmpty: true, maxLength: 255 });
    lists.set(listId, { text, groups: resolveGwList(text, gateways, LISTS, id) });
  }

  // ---- rules
  const ruleIds = new Set<number>();
  const perGroup = new Map<number, DrRule[]>();
  const resolved = new Map<string, DrGateway[][]>();
  const recs = new Map<string, TimeRec | null>();
  const ruleRows = tableArray(set, RULES);
  for (let i = 0; i < ruleRows.length; i++) {
    if ((i & ROW_SLICE_MASK) === ROW_SLICE_MASK) yield;
    const row = rowAt(ruleRows, i, RULES);
    const rule = readDrRule(row, rowIdOf(row, "ruleid", i), gateways, lists, recs, resolved, (r) => ruleIds.has(r));
    ruleIds.add(rule.ruleId);
    const groups = rule.groups;
    for (const g of groups) {
      let l = perGroup.get(g);
      if (!l) perGroup.set(g, (l = []));
      l.push(rule);
    }
  }

  const groupsOut = new Map<number, DrGroupRules>();
  // priority descending, table order among equals (Kamailio add_rt_info inserts after equals).
  // Only rules sharing a prefix need ordering: the lists that merges grow are sorted after the
  // build (Array sort is stable), not the whole group at once (one long pause for 300k rules).
  const byPriority = (a: DrRule, b: DrRule) => b.priority - a.priority;
  for (const [g, rules] of [...perGroup].sort((a, b) => a[0] - b[0])) {
    const shared: DrRule[][] = [];
    const b = new PrefixTreeBuilder<DrRule[]>({
      alphabet: DR_PREFIX_CHARS,
      expectedSize: rules.length,
      merge: (x, y) => {
        if (x.length === 1) shared.push(x);
        x.push(...y);
        return x;
      },
    });
    const noPrefix: DrRule[] = [];
    for (let k = 0; k < rules.length; k++) {
      if ((k & ROW_SLICE_MASK) === ROW_SLICE_MASK) yield;
      const r = rules[k]!;
      if (r.prefix === "") {
        noPrefix.push(r);
        continue;
      }
      try {
        b.add(r.prefix, [r]);
      } catch (e) {
        if (e instanceof PrefixKeyError) throw new TableError(RULES, r.ruleId, `prefix '${r.prefix}': ${e.message}`);
        throw e;
      }
    }
    const tree = yield* b.buildSteps();
    for (let k = 0; k < shared.length; k++) {
      if ((k & ROW_SLICE_MASK) === ROW_SLICE_MASK) yield;
      shared[k]!.sort(byPriority);
    }
    noPrefix.sort(byPriority);
    groupsOut.set(g, { tree, noPrefix });
  }

  // ---- caller groups
  const userDomainGroups = new Map<string, number>();
  const userGroups = new Map<string, number>();
  const groupRows = tableArray(set, GROUPS);
  for (let i = 0; i < groupRows.length; i++) {
    if ((i & ROW_SLICE_MASK) === ROW_SLICE_MASK) yield;
    const row = rowAt(groupRows, i, GROUPS);
    const id = rowIdOf(row, "id", i);
    const username = readStr(row, GROUPS, id, "username", { nonEmpty: true, maxLength: 64 });
    const domain = readStr(row, GROUPS, id, "domain", { maxLength: 128 }).toLowerCase();
    const groupid = readInt(row, GROUPS, id, "groupid", { min: 0 });
    const key = `${username}@${domain}`;
    if (userDomainGroups.has(key)) throw new TableError(GROUPS, id, `duplicate (username, domain) = ('${username}', '${domain}')`);
    userDomainGroups.set(key, groupid);
    if (!userGroups.has(username)) userGroups.set(username, groupid);
  }

  const byIp = new Map<string, DrGateway[]>();
  for (const gw of gateways.values()) {
    if (gw.ipCanon === null) continue;
    let l = byIp.get(gw.ipCanon);
    if (!l) byIp.set(gw.ipCanon, (l = []));
    l.push(gw);
  }
  return { gateways, groups: groupsOut, userDomainGroups, userGroups, byIp, ruleCount: ruleIds.size, ruleIds, lists };
}

/**
 * One dr_rules row as a rule (the checks of compileDroutingTables, shared with the delta compile
 * in delta.ts so both refuse a row with the same reason). `recs` and `resolved` cache parsed
 * timerecs and gwlists by text; `taken` says whether a ruleid is already used by another row.
 */
export function readDrRule(
  row: TableRow,
  id: string | number,
  gateways: ReadonlyMap<number, DrGateway>,
  lists: ReadonlyMap<number, DrGwList>,
  recs: Map<string, TimeRec | null>,
  resolved: Map<string, DrGateway[][]>,
  taken: (ruleId: number) => boolean,
): DrRule {
  const ruleId = readInt(row, RULES, id, "ruleid", { min: 0 });
  if (taken(ruleId)) throw new TableError(RULES, id, "duplicate ruleid");
  const groupText = readStr(row, RULES, id, "groupid", { nonEmpty: true, maxLength: 255 });
  const groups = groupText.split(/[,|]/).map((g) => {
    const t = g.trim();
    if (!/^\d+$/.test(t)) throw new TableError(RULES, id, `groupid '${groupText}' is not a comma-separated list of group numbers`);
    return Number(t);
  });
  const prefix = readStr(row, RULES, id, "prefix", { maxLength: 64 }).trim();
  for (let k = 0; k < prefix.length; k++) {
    if (!DR_PREFIX_CHARS.includes(prefix[k]!)) throw new TableError(RULES, id, `prefix '${prefix}': invalid character '${prefix[k]}' at position ${k} (allowed: ${DR_PREFIX_CHARS})`);
  }
  const recText = readStr(row, RULES, id, "timerec", { maxLength: 255 });
  // big tables repeat a handful of recurrences: parse each text once (TimeRec is read-only)
  let timerec = recs.get(recText);
  if (timerec === undefined) {
    try {
      timerec = parseTimeRec(recText);
    } catch (e) {
      if (e instanceof TimeRecError) throw new TableError(RULES, id, `timerec ${e.message}`);
      throw e;
    }
    recs.set(recText, timerec);
  }
  const priority = readInt(row, RULES, id, "priority", { def: 0, min: -2147483648, max: 2147483647 });
  const routeRaw = readStr(row, RULES, id, "routeid", { maxLength: 64 }).trim();
  const routeId = routeRaw === "" || routeRaw === "0" ? null : routeRaw;
  const gwlist = readStr(row, RULES, id, "gwlist", { nonEmpty: true, maxLength: 255 }).trim();
  let gwGroups: DrGateway[][];
  if (gwlist.startsWith("#")) {
    const ref = gwlist.slice(1).trim();
    const list = /^\d+$/.test(ref) ? lists.get(Number(ref)) : undefined;
    if (list === undefined) throw new TableError(RULES, id, `gwlist '${gwlist}' refers to no dr_gw_lists row`);
    gwGroups = list.groups;
  } else {
    // many rules share a list: resolve each distinct text once
    let r = resolved.get(gwlist);
    if (r === undefined) resolved.set(gwlist, (r = resolveGwList(gwlist, gateways, RULES, id)));
    gwGroups = r;
  }
  return { ruleId, groups, prefix, timerec, priority, routeId, gwGroups, gwlist };
}

/**
 * Parses a gwlist (Kamailio build_rt_info): gateway ids separated by ',' or '|' within a
 * group and ';' between groups, e.g. "2,4;5,78,23;4;7".
 */
export function resolveGwList(text: string, gateways: ReadonlyMap<number, DrGateway>, table: string, id: string | number): DrGateway[][] {
  const groups: DrGateway[][] = [];
  let count = 0;
  for (const part of text.split(";")) {
    const group: DrGateway[] = [];
    for (const tok of part.split(/[,|]/)) {
      const t = tok.trim();
      if (t === "") throw new TableError(table, id, `gwlist '${text}' has an empty entry`);
      if (!/^\d+$/.test(t)) throw new TableError(table, id, `gwlist '${text}': '${t}' is not a gateway id`);
      const gw = gateways.get(Number(t));
      if (gw === undefined) throw new TableError(table, id, `gwlist '${text}': gateway ${t} is not in dr_gateways`);
      group.push(gw);
      count++;
    }
    groups.push(group);
  }
  if (count > DR_MAX_GWLIST) throw new TableError(table, id, `gwlist '${text}' has ${count} gateways, at most ${DR_MAX_GWLIST}`);
  return groups;
}
