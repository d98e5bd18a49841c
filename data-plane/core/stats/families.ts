/**
 * Labelled metric families beside the Kamailio-style counters of `StatsRegistry`: gauges read at
 * scrape time that yield one sample per label set (e.g. one per dispatcher destination), and
 * histograms (transaction time, time to first reply per destination). Rendered on GET /metrics by
 * prometheus.ts with their HELP and TYPE.
 *
 * @example
 *   stats.families.gauge("olelo_dispatcher_destination_up", "1 when the destination is active", () =>
 *     dsts.map((d) => ({ labels: { set: String(d.set), destination: d.uri }, value: d.active ? 1 : 0 })));
 *   const h = stats.families.histogram("olelo_tm_first_reply_seconds", "…", ["destination"], [0.01, 0.1, 1]);
 *   h.observe(["udp:10.0.0.1:5060"], 0.012);
 */

export type Labels = Readonly<Record<string, string>>;

export interface Sample {
  readonly labels: Labels;
  readonly value: number;
}

/** A gauge (or a counter read at scrape time) with one sample per label set. */
export interface LabelledFamily {
  readonly name: string;
  readonly help: string;
  readonly type: "gauge" | "counter";
  collect(): readonly Sample[];
}

/** Label value used once a histogram holds `maxSeries` label sets. */
export const OVERFLOW_LABEL = "other";

/** Default buckets (seconds) for SIP latencies: 5 ms … 32 s (fr_timer and fr_inv_timer land in the top ones). */
export const SIP_LATENCY_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32];

class Series {
  readonly counts: number[];
  sum = 0;
  count = 0;
  constructor(n: number) {
    this.counts = new Array<number>(n).fill(0);
  }
}

/** A Prometheus histogram with a fixed label list; label sets beyond `maxSeries` fold into "other". */
export class Histogram {
  private readonly series = new Map<string, { values: readonly string[]; s: Series }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    readonly buckets: readonly number[] = SIP_LATENCY_BUCKETS,
    private readonly maxSeries = 500,
  ) {}

  /** Records one observation (seconds) for the label values, in `labelNames` order. */
  observe(values: readonly string[], v: number): void {
    this.record(values.join("\u0000"), values, v);
  }

  /** observe() for a one-label histogram, without building a label array (hot paths). */
  observe1(value: string, v: number): void {
    const e = this.series.get(value);
    if (e) this.add(e.s, v);
    else this.record(value, [value], v);
  }

  /** observe() for a two-label histogram, without building a label array until the series is new. */
  observe2(a: string, b: string, v: number): void {
    const key = a + "\u0000" + b;
    const e = this.series.get(key);
    if (e) this.add(e.s, v);
    else this.record(key, [a, b], v);
  }

  private record(key: string, values: readonly string[], v: number): void {
    let e = this.series.get(key);
    if (!e) {
      if (this.series.size >= this.maxSeries) {
        values = values.map(() => OVERFLOW_LABEL);
        key = values.join("\u0000");
        e = this.series.get(key);
      }
      if (!e) {
        e = { values, s: new Series(this.buckets.length) };
        this.series.set(key, e);
      }
    }
    this.add(e.s, v);
  }

  private add(s: Series, v: number): void {
    const b = this.buckets;
    const counts = s.counts;
    for (let i = 0; i < b.length; i++) if (v <= b[i]!) counts[i]!++;
    s.sum += v;
    s.count++;
  }

  /** Every label set with its cumulative bucket counts, sum and count. */
  snapshot(): Array<{ labels: Labels; buckets: Array<[number, number]>; sum: number; count: number }> {
    return [...this.series.values()].map(({ values, s }) => ({
      labels: Object.fromEntries(this.labelNames.map((n, i) => [n, values[i] ?? ""])),
      buckets: this.buckets.map((b, i) => [b, s.counts[i]!] as [number, number]),
      sum: s.sum,
      count: s.count,
    }));
  }
}

/** The labelled families of one data plane (`StatsRegistry.families`). */
export class MetricFamilies {
  private readonly labelled = new Map<string, LabelledFamily>();
  private readonly histograms = new Map<string, Histogram>();

  /** Registers (or replaces, e.g. after a module re-init) a labelled gauge read at scrape time. */
  gauge(name: string, help: string, collect: () => readonly Sample[]): void {
    this.labelled.set(name, { name, help, type: "gauge", collect });
  }

  /** A counter read at scrape time; `name` must end in `_total`. */
  counter(name: string, help: string, collect: () => readonly Sample[]): void {
    if (!name.endsWith("_total")) throw new Error(`counter ${name} must end in _total`);
    this.labelled.set(name, { name, help, type: "counter", collect });
  }

  /** The histogram of that name, created on first use. */
  histogram(name: string, help: string, labelNames: readonly string[], buckets?: readonly number[]): Histogram {
    let h = this.histograms.get(name);
    if (!h) {
      h = new Histogram(name, help, labelNames, buckets);
      this.histograms.set(name, h);
    }
    return h;
  }

  /** Drops a family (a module's destroy). */
  remove(name: string): void {
    this.labelled.delete(name);
    this.histograms.delete(name);
  }

  labelledFamilies(): LabelledFamily[] {
    return [...this.labelled.values()];
  }

  histogramFamilies(): Histogram[] {
    return [...this.histograms.values()];
  }
}
