import { rebuildRelativeWeights, type LiveSet } from "../state.js";

/**
 * Alg 11 congestion control (Kamailio ds_update_latency with cc=1): for each destination with
 * cc=1 and a weight, the estimated congestion is EST − AVG of its keepalive latency (≥ 0 ms) and
 * its effective rweight becomes `weight − congestion_ms` (≥ 0). When every such destination is
 * congested (rweight 0), load is spread in inverse proportion to their congestion instead
 * (`(total_congestion << 4) / congestion`). The alg 11 slot table is rebuilt when a weight moved.
 * Returns true when anything changed.
 */
export function updateCongestion(set: LiveSet, random: () => number): boolean {
  let congested = 0;
  let normal = 0;
  let total = 0;
  let any = false;
  let changed = false;
  for (let i = 0; i < set.size; i++) {
    const a = set.def.dests[i]!.attrs;
    if (!a.cc || a.weight <= 0) continue;
    any = true;
    const rt = set.rt[i]!;
    const congestion = Math.max(0, Math.trunc(rt.latency.estimate - rt.latency.average));
    total += congestion;
    const active = Math.max(0, a.weight - congestion);
    if (active === 0) congested++;
    else normal++;
    if (rt.rweight !== active) {
      rt.rweight = active;
      changed = true;
    }
  }
  if (!any) return false;
  if (congested > 1 && normal === 0) {
    for (let i = 0; i < set.size; i++) {
      const a = set.def.dests[i]!.attrs;
      if (!a.cc || a.weight <= 0) continue;
      const rt = set.rt[i]!;
      const congestion = Math.max(1, Math.trunc(rt.latency.estimate - rt.latency.average));
      const w = Math.trunc((total * 16) / congestion);
      if (rt.rweight !== w) {
        rt.rweight = w;
        changed = true;
      }
    }
  }
  if (changed) rebuildRelativeWeights(set, random);
  return changed;
}
