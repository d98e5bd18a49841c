import type { StatsRegistry } from "./counters.js";
import type { Labels } from "./families.js";

/**
 * Renders every statistic in the Prometheus text exposition format 0.0.4 (GET /metrics), each
 * family with its `# HELP` and `# TYPE`:
 *
 * - a Kamailio statistic `group:name` becomes `olelo_<group>_<name>` (non-alphanumerics folded to
 *   `_`), with `_total` appended when it counts events (a counter) — `core:rcv_requests` →
 *   `olelo_core_rcv_requests_total`; levels read at query time (`tmx:inuse_transactions`,
 *   `dialog:active_dialogs`, `usrloc:registered_users`) stay as they are, typed `gauge`;
 * - the labelled families and histograms of `stats.families` (destinations up, latencies);
 * - `extra` process gauges (uptime, heap, connections) with their help text.
 *
 * @example olelo_core_rcv_requests_total{node="olelo-1"} 1234
 */
export interface ExtraGauge {
  readonly value: number;
  readonly help: string;
}

/** The exact Content-Type of GET /metrics. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

export function renderPrometheus(stats: StatsRegistry, node: string, extra: Record<string, ExtraGauge> = {}): string {
  const lines: string[] = [];
  const base = { node };
  const seen = new Set<string>();
  const family = (name: string, type: string, help: string): boolean => {
    if (seen.has(name)) return false;
    seen.add(name);
    lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
    return true;
  };
  for (const gname of stats.groupNames()) {
    const g = stats.groupOf(gname)!;
    for (const n of g.names()) {
      const gauge = g.isGauge(n);
      let name = metricName(gname, n);
      if (!gauge) name += "_total";
      const help = `Kamailio statistic ${gname}:${n} (${gauge ? "current level" : "events since start or the last stats.reset_statistics"}); olectl stats ${gname}:${n} shows the same value`;
      if (!family(name, gauge ? "gauge" : "counter", help)) continue;
      lines.push(`${name}${labels(base)} ${num(g.get(n) ?? 0)}`);
    }
  }
  for (const [k, v] of Object.entries(extra)) {
    const name = `olelo_${k.replace(/[^a-zA-Z0-9_]/g, "_")}`;
    if (family(name, "gauge", v.help)) lines.push(`${name}${labels(base)} ${num(v.value)}`);
  }
  for (const f of stats.families.labelledFamilies()) {
    let samples;
    try {
      samples = f.collect();
    } catch {
      continue; // a family whose source is gone (module stopping) is left out of this scrape
    }
    if (!family(f.name, f.type, f.help)) continue;
    for (const s of samples) lines.push(`${f.name}${labels({ ...base, ...s.labels })} ${num(s.value)}`);
  }
  for (const h of stats.families.histogramFamilies()) {
    if (!family(h.name, "histogram", h.help)) continue;
    for (const s of h.snapshot()) {
      const l = { ...base, ...s.labels };
      for (const [le, c] of s.buckets) lines.push(`${h.name}_bucket${labels({ ...l, le: String(le) })} ${c}`);
      lines.push(`${h.name}_bucket${labels({ ...l, le: "+Inf" })} ${s.count}`, `${h.name}_sum${labels(l)} ${num(s.sum)}`, `${h.name}_count${labels(l)} ${s.count}`);
    }
  }
  return lines.join("\n") + "\n";
}

function metricName(group: string, name: string): string {
  let n = `olelo_${group}_${name}`.replace(/[^a-zA-Z0-9_]/g, "_");
  if (/^[0-9]/.test(n)) n = "_" + n;
  return n;
}

function labels(l: Labels): string {
  const parts = Object.entries(l).map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"')}"`);
  return `{${parts.join(",")}}`;
}

function escapeHelp(s: string): string {
  return s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function num(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}
