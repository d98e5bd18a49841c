/**
 * A small writer for the Prometheus text exposition format 0.0.4: one family at a time, with its
 * `# HELP` and `# TYPE`, label values escaped. The control plane's GET /metrics uses it (the data
 * plane renders its Kamailio statistics with data-plane/core/stats/prometheus.ts).
 *
 * @example
 *   const w = new MetricsWriter();
 *   w.family("olelo_cp_nodes_connected", "gauge", "Data planes connected", [{ labels: {}, value: 2 }]);
 *   res.end(w.text());
 */
export type MetricType = "counter" | "gauge";

export interface MetricSample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** The exact Content-Type of a GET /metrics answer. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

export class MetricsWriter {
  private readonly lines: string[] = [];
  private readonly seen = new Set<string>();

  /** Adds a family; a counter's name must end in `_total`. A second family of the same name is an error. */
  family(name: string, type: MetricType, help: string, samples: readonly MetricSample[]): this {
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name)) throw new Error(`bad metric name ${name}`);
    if (type === "counter" && !name.endsWith("_total")) throw new Error(`counter ${name} must end in _total`);
    if (this.seen.has(name)) throw new Error(`metric family ${name} written twice`);
    this.seen.add(name);
    this.lines.push(`# HELP ${name} ${help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`, `# TYPE ${name} ${type}`);
    for (const s of samples) this.lines.push(`${name}${formatLabels(s.labels)} ${formatValue(s.value)}`);
    return this;
  }

  text(): string {
    return this.lines.join("\n") + "\n";
  }
}

export function formatLabels(l: Readonly<Record<string, string>>): string {
  const parts = Object.entries(l).map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"')}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
}

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}
