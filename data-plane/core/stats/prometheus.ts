import type { StatsRegistry } from "./counters.js";

/**
 * Renders every statistic in the Prometheus text format (GET /metrics): `group:name` becomes
 * `olelo_<group>_<name>` with non-alphanumerics folded to `_`, so dashboards built on Kamailio's
 * names (core:rcv_requests, tmx:UAS_transactions, sl:200_replies …) map one to one.
 *
 * @example olelo_core_rcv_requests{node="olelo-1"} 1234
 */
export function renderPrometheus(stats: StatsRegistry, node: string, extra: Record<string, number> = {}): string {
  const lines: string[] = [];
  const label = `{node="${node.replace(/["\\\n]/g, "_")}"}`;
  const seen = new Set<string>();
  for (const [key, value] of stats.select("all")) {
    const colon = key.indexOf(":");
    const name = metricName(key.slice(0, colon), key.slice(colon + 1));
    if (seen.has(name)) continue;
    seen.add(name);
    lines.push(`# TYPE ${name} untyped`, `${name}${label} ${Number.isFinite(value) ? value : 0}`);
  }
  for (const [k, v] of Object.entries(extra)) {
    const name = `olelo_${k.replace(/[^a-zA-Z0-9_]/g, "_")}`;
    lines.push(`# TYPE ${name} gauge`, `${name}${label} ${v}`);
  }
  return lines.join("\n") + "\n";
}

function metricName(group: string, name: string): string {
  let n = `olelo_${group}_${name}`.replace(/[^a-zA-Z0-9_]/g, "_");
  if (/^[0-9]/.test(n)) n = "_" + n;
  return n;
}
