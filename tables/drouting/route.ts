import type { Calendar } from "./calendar.js";
import type { CompiledDrouting, DrGateway, DrGroupRules, DrRule } from "./table.js";
import { matchTimeRec } from "./timerec.js";

/**
 * do_routing's decisions (Kamailio drouting routing.c / prefix_tree.c / drouting.c), pure:
 * which rule applies to a number in a group at a time, in which order its gateways are tried,
 * and the Request-URI for each gateway.
 */

/**
 * The rule for `user` in `group` at `now`: the longest prefix of the number that has a rule
 * whose timerec matches (rules under one prefix are tried by priority, highest first); when
 * no prefixed rule applies, the group's rules with an empty prefix. Null when nothing applies.
 */
export function findRule(c: CompiledDrouting, group: number, user: string, now: number, cal: Calendar): DrRule | null {
  const g = c.groups.get(group);
  // a shared version (shared.ts): over its buffers (and a delta's overlay)
  if (c.sharedRules !== undefined) return c.sharedRules.find(group, user, now, cal, g);
  if (g === undefined) return null;
  let found: DrRule | null = null;
  const levels = g.overlay === undefined ? g.tree.collect(user) : overlaidLevels(g, user);
  for (const rules of levels) {
    found = firstInTime(rules, now, cal);
    if (found !== null) return found;
  }
  return firstInTime(g.noPrefix, now, cal);
}

/** The rule lists of every prefix of `user`, longest first, with a delta overlay (delta.ts) replacing the tree's lists. */
function overlaidLevels(g: DrGroupRules, user: string): (readonly DrRule[])[] {
  const ov = g.overlay!;
  const byLen: [number, readonly DrRule[]][] = [];
  g.tree.forEachMatch(user, (v, len) => {
    if (len > 0 && !ov.has(user.slice(0, len))) byLen.push([len, v]);
  });
  for (const l of g.overlayLengths ?? []) {
    if (l === 0 || l > user.length) continue;
    const o = ov.get(user.slice(0, l));
    if (o !== undefined && o.length > 0) byLen.push([l, o]);
  }
  return byLen.sort((a, b) => b[0] - a[0]).map((x) => x[1]);
}

function firstInTime(rules: readonly DrRule[], now: number, cal: Calendar): DrRule | null {
  for (const r of rules) if (matchTimeRec(r.timerec, now, cal)) return r;
  return null;
}

/** drouting `sort_order`: 0 as listed, 1 shuffle (first two) inside each group, 2 one random gateway per group. */
export type SortOrder = 0 | 1 | 2;

/**
 * The try order of a rule's gateways:
 * - 0: every gateway, in gwlist order;
 * - 1: group by group; within a group the first two are picked at random, the rest follow in
 *   their listed order (Kamailio randomises only the first two);
 * - 2: one gateway per group, picked at random among those not chosen for an earlier group;
 *   a group whose gateways were all chosen already is skipped.
 * `usable` (keepalive) leaves gateways out that are down.
 */
export function orderGateways(rule: DrRule, sortOrder: SortOrder, random: () => number, usable?: (gw: DrGateway) => boolean): DrGateway[] {
  const out: DrGateway[] = [];
  // gateways a keepalive found down are left out before the order is made (Kamailio keepalive)
  const groups = usable === undefined ? rule.gwGroups : rule.gwGroups.map((g) => g.filter(usable));
  if (sortOrder === 0) {
    for (const g of groups) out.push(...g);
    return out;
  }
  if (sortOrder === 1) {
    for (const g of groups) {
      if (g.length <= 1) {
        out.push(...g);
        continue;
      }
      const first = Math.floor(random() * g.length);
      let second = Math.floor(random() * (g.length - 1));
      if (second >= first) second++;
      out.push(g[first]!, g[second]!);
      g.forEach((gw, i) => {
        if (i !== first && i !== second) out.push(gw);
      });
    }
    return out;
  }
  const chosen = new Set<DrGateway>();
  for (const g of groups) {
    const free = g.filter((gw) => !chosen.has(gw));
    if (free.length === 0) continue;
    const pick = free[Math.floor(random() * free.length)]!;
    chosen.add(pick);
    out.push(pick);
  }
  return out;
}

/** The parts of the original Request-URI that drouting keeps. */
export interface RuriParts {
  readonly user: string;
  readonly password: string | null;
  /** Parameters without the leading ';' ("" for none). */
  readonly params: string;
  /** Headers without the leading '?' ("" for none). */
  readonly headers: string;
}

/**
 * Kamailio build_ruri: `sip:` + pri_prefix + user minus `strip` leading characters (+ :password)
 * + `@` + gateway address + the original parameters and headers. Null when stripping would leave
 * no user (Kamailio refuses that).
 */
export function buildDrUri(r: RuriParts, gw: DrGateway): string | null {
  if (r.user.length <= gw.strip) return null;
  let s = `sip:${gw.priPrefix}${r.user.slice(gw.strip)}`;
  if (r.password) s += `:${r.password}`;
  s += `@${gw.address}`;
  if (r.params) s += `;${r.params}`;
  if (r.headers) s += `?${r.headers}`;
  return s;
}
