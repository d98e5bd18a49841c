import { isSkipped } from "../../../../tables/dispatcher/flags.js";
import type { LiveSet } from "../state.js";

/**
 * Algorithms that order the whole set themselves (their result is the failover list, first
 * entry selected): 13 (latency-optimised) and 15 (SRV-like). Plus the overload-control skip of
 * alg 64. Each returns destination indices.
 */

/**
 * Alg 13 (Kamailio ds_manage_route_algo13): starting at the round-robin cursor, every active
 * destination gets an adjusted priority `priority - floor(latency / priority)` (only when the
 * latency exceeds the priority; never below 1 for a positive priority), where latency is the
 * EWMA estimate, or the estimated congestion EST − AVG when the destination has cc=1. The set is
 * sorted by adjusted priority (stable, so equal scores keep the rotation: round robin among the
 * best). The cursor moves past the chosen one.
 */
export function orderByLatency(set: LiveSet, useDefault: boolean): number[] {
  const nr = set.size;
  const n = useDefault && nr !== 1 ? nr - 1 : nr;
  if (n === 0) return [];
  const scored: Array<{ idx: number; prio: number }> = [];
  let z = set.last % n;
  for (let y = 0; y < n; y++) {
    const d = set.def.dests[z]!;
    const rt = set.rt[z]!;
    if (!isSkipped(rt.flags)) {
      const prio = d.priority;
      let lat = rt.latency.estimate;
      if (d.attrs.cc) lat = rt.latency.estimate - rt.latency.average;
      let handicap = 0;
      if (lat > prio && prio > 0) handicap = Math.trunc(lat / prio);
      let rprio = prio - handicap;
      if (rprio < 1 && prio > 0) rprio = 1;
      scored.push({ idx: z, prio: rprio });
    }
    z = (z + 1) % n;
  }
  scored.sort((a, b) => b.prio - a.prio);
  const out = scored.map((s) => s.idx);
  set.last = out.length > 0 ? (out[0]! + 1) % nr : 0;
  return out;
}

/**
 * Alg 15, DNS-SRV style (RFC 2782 ordering): priority groups lowest value first; inside a group,
 * active destinations are ordered by weighted random choice on the `weight` attr (all equal when
 * no weights are set; a destination without weight counts as 1). A group with no active member
 * is passed over, so traffic falls to the next priority group.
 */
export function orderSrv(set: LiveSet, useDefault: boolean, random: () => number): number[] {
  const nr = set.size;
  const out: number[] = [];
  for (const g of set.def.srvGroups) {
    const pool: number[] = [];
    for (const i of g.members) {
      if (isSkipped(set.rt[i]!.flags)) continue;
      if (useDefault && i === nr - 1 && nr > 1) continue;
      pool.push(i);
    }
    while (pool.length > 0) {
      let total = 0;
      for (const i of pool) total += weightOf(set, i);
      let r = random() * total;
      let pick = pool.length - 1;
      for (let k = 0; k < pool.length; k++) {
        r -= weightOf(set, pool[k]!);
        if (r < 0) {
          pick = k;
          break;
        }
      }
      out.push(pool[pick]!);
      pool.splice(pick, 1);
    }
  }
  return out;
}

function weightOf(set: LiveSet, i: number): number {
  const w = set.def.dests[i]!.attrs.weight;
  return w > 0 ? w : 1;
}

/**
 * Alg 64 skip test (Kamailio ds_oc_skip): while an overload-control rate is valid (set by
 * ocSetAttrs), each destination drops `rate` of every 100 selections, following its shuffled
 * slot table. Returns true when this selection must pass over the destination.
 */
export function overloadSkip(set: LiveSet, i: number, now: number): boolean {
  const oc = set.rt[i]!.oc;
  if (oc.until < now) return false;
  const use = oc.dist[oc.idx] === 1;
  oc.idx = (oc.idx + 1) % 100;
  return !use;
}
