/**
 * How the primary answers for the node from its workers' answers (core/workers/README.md):
 * counters summed, lists merged, node-wide state answered once.
 */

/** Methods answered by worker 0 alone: node facts, and state every worker holds whole (replicated or shared). */
const ONE = [/^system\./, /^core\.(uptime|version|info|runinfo|modules|echo|prints|printi|config_status|log_level)$/, /^corex\./, /^ul\./, /^pike\.top$/, /^htable\.(get|delete|sets|seti|setex|setxs|setxi|dump|flush|listTables|stats)$/, /^script\.info$/, /^core\.sync_status$/];

/** Statistic groups whose values are node-wide already (replicated state): max, not sum. */
const NODE_WIDE_STATS = /^(usrloc|olelo_usrloc_)/;

/** Methods whose numbers are per-worker counters: summed even when two workers happen to count the same. */
const COUNTERS = /^(stats\.get_statistics|tm\.stats|sl\.stats|dlg\.stats_active)$/;

export function isCounterMethod(method: string): boolean {
  return COUNTERS.test(method);
}

export function answeredByOne(method: string): boolean {
  return ONE.some((r) => r.test(method));
}

const STAT_LINE = /^([\w.-]+:[\w.-]+) = (-?\d+(?:\.\d+)?)$/;

function isPlain(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Sums Kamailio statistic lines ("core:rcv_requests = 12") by name; usrloc values are node-wide (max). */
function mergeStatLines(lists: string[][]): string[] {
  const sums = new Map<string, number>();
  for (const l of lists) {
    for (const line of l) {
      const m = STAT_LINE.exec(line)!;
      const v = Number(m[2]);
      const had = sums.get(m[1]!);
      sums.set(m[1]!, had === undefined ? v : NODE_WIDE_STATS.test(m[1]!) ? Math.max(had, v) : had + v);
    }
  }
  return [...sums].map(([k, v]) => `${k} = ${v}`);
}

/**
 * Merges the answers of several workers: statistic lines summed by name, equal answers once (unless
 * `counters`: then numbers are summed even when equal), numbers summed, arrays concatenated without
 * duplicates, objects key by key, anything else the first.
 */
export function mergeResults(vals: readonly unknown[], key = "", counters = false): unknown {
  if (vals.length === 0) return null;
  if (vals.length === 1) return vals[0];
  const first = vals[0];
  // statistic lines are counters of each worker: 50 and 50 are 100, never "the same answer"
  if (vals.every((v) => Array.isArray(v) && v.every((x) => typeof x === "string" && STAT_LINE.test(x))) && (vals[0] as unknown[]).length > 0) return mergeStatLines(vals as string[][]);
  const j = JSON.stringify(first);
  if (!counters && vals.every((v) => JSON.stringify(v) === j)) return first;
  if (vals.every((v) => typeof v === "number")) return NODE_WIDE_STATS.test(key) ? Math.max(...(vals as number[])) : (vals as number[]).reduce((a, b) => a + b, 0);
  if (vals.every((v) => Array.isArray(v))) {
    const arrays = vals as unknown[][];
    const seen = new Set<string>();
    const out: unknown[] = [];
    for (const a of arrays) {
      for (const x of a) {
        const k = JSON.stringify(x);
        if (seen.has(k)) continue;
        seen.add(k);
        out.push(x);
      }
    }
    return out;
  }
  if (vals.every(isPlain)) {
    const objs = vals as Record<string, unknown>[];
    const out: Record<string, unknown> = {};
    for (const o of objs) for (const k of Object.keys(o)) if (!(k in out)) out[k] = mergeResults(objs.filter((x) => k in x).map((x) => x[k]), k, counters);
    return out;
  }
  return first;
}

/**
 * Merges Prometheus text of several workers: samples with the same name and labels summed
 * (usrloc families and process gauges: the largest), HELP/TYPE once, families in first-seen order.
 */
export function mergePrometheus(texts: readonly string[], extra = ""): string {
  const meta = new Map<string, string[]>();
  const samples = new Map<string, Map<string, number>>();
  const familyOf = (name: string): string => name.replace(/_(bucket|sum|count)$/, "");
  const MAX = /^olelo_(usrloc_|uptime_seconds|process_|control_plane_connected|table_rows|dispatcher_destination_up|event_loop_delay_)/;
  for (const t of texts) {
    for (const line of t.split("\n")) {
      if (line === "") continue;
      if (line.startsWith("#")) {
        const name = line.split(" ")[2] ?? "";
        const m = meta.get(name) ?? [];
        if (!m.includes(line)) m.push(line);
        meta.set(name, m);
        if (!samples.has(name)) samples.set(name, new Map());
        continue;
      }
      const sp = line.lastIndexOf(" ");
      const series = line.slice(0, sp);
      const v = Number(line.slice(sp + 1));
      const name = series.split("{")[0]!;
      const fam = samples.has(name) ? name : familyOf(name);
      const m = samples.get(fam) ?? new Map<string, number>();
      samples.set(fam, m);
      const had = m.get(series);
      m.set(series, had === undefined ? v : MAX.test(name) ? Math.max(had, v) : had + v);
    }
  }
  let out = "";
  for (const [fam, m] of samples) {
    for (const l of meta.get(fam) ?? []) out += l + "\n";
    for (const [series, v] of m) out += `${series} ${v}\n`;
  }
  return out + extra;
}
